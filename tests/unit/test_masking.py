"""Masking of ID numbers, phones and secrets: nothing of them may reach a log in clear."""
from __future__ import annotations

import copy

import pytest

from chalicelib.core.masking import mask_id_number, mask_phone, mask_pii, scrub_text


def test_mask_id_number_keeps_last_three() -> None:
    assert mask_id_number("001085012234") == "*********234"
    assert mask_id_number("123456789") == "******789"


def test_mask_phone_keeps_last_three() -> None:
    assert mask_phone("+84912345678") == "*********678"
    assert mask_phone("0912345678") == "*******678"


def test_short_values_are_fully_masked() -> None:
    assert mask_id_number("123") == "***"
    assert mask_phone("") == ""


@pytest.mark.parametrize(
    "key",
    ["id_number", "citizen_id_number", "payer_id_number", "idNumber", "payerIDNumber", "ID-Number", "cmnd", "cccd",
     "SO_CMND", "so_cccd", "so_dinh_danh"],
)
def test_id_keys_are_masked(key: str) -> None:
    assert mask_pii({key: "001085012345"}) == {key: "*********345"}


@pytest.mark.parametrize("key", ["phone", "payer_phone", "phoneNumber", "mobile", "msisdn", "sdt", "SO_DIEN_THOAI"])
def test_phone_keys_are_masked(key: str) -> None:
    assert mask_pii({key: "+84912345678"}) == {key: "*********678"}


def test_phone_lists_are_masked_element_by_element() -> None:
    assert mask_pii({"phones": ["0912345678", "+84987654321"]}) == {"phones": ["*******678", "*********321"]}


@pytest.mark.parametrize(
    "key",
    ["password", "otp", "otp_code", "secret", "client_secret", "token", "access_token", "refreshToken",
     "authorization", "Authorization", "x-api-key", "cookie"],
)
def test_secrets_keep_nothing(key: str) -> None:
    assert mask_pii({key: "123456"}) == {key: "***"}
    assert mask_pii({key: {"nested": "value"}}) == {key: "***"}


def test_nested_structures_are_walked_and_input_is_not_modified() -> None:
    event = {
        "dossier_code": "000.00.32.H19-210708-0032",
        "amount": 1378500,
        "notices": [{"payer": {"id_number": "001085012345", "phone": "0912345678"}, "total": 1378500}],
        "headers": {"Authorization": "Bearer abc"},
        "note": None,
    }
    before = copy.deepcopy(event)
    masked = mask_pii(event)
    assert event == before
    assert masked == {
        "dossier_code": "000.00.32.H19-210708-0032",
        "amount": 1378500,
        "notices": [{"payer": {"id_number": "*********345", "phone": "*******678"}, "total": 1378500}],
        "headers": {"Authorization": "***"},
        "note": None,
    }


def test_non_string_values_under_sensitive_keys_are_masked() -> None:
    assert mask_pii({"cmnd": 123456789, "phone": None}) == {"cmnd": "******789", "phone": None}


def test_strings_under_other_keys_are_scrubbed() -> None:
    assert mask_pii({"message": "CCCD 001085012345, SĐT 0912345678"}) == {
        "message": "CCCD *********345, SĐT *******678"
    }


def test_keys_that_only_contain_a_secret_word_are_left_alone() -> None:
    assert mask_pii({"footprint": "ok", "notice_number": "LTB2171317-TK0029951/TB-CCT"}) == {
        "footprint": "ok",
        "notice_number": "LTB2171317-TK0029951/TB-CCT",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CCCD 001085012345 hợp lệ", "CCCD *********345 hợp lệ"),
        ("CMND:123456789.", "CMND:******789."),
        ("gọi 0912345678 nhé", "gọi *******678 nhé"),
        ("gọi +84912345678", "gọi *********678"),
        ("gọi 84912345678", "gọi ********678"),
        ("gọi 0084912345678", "gọi **********678"),
        ("gọi 0912 345 678", "gọi *********678"),
        ("gọi 091.234.5678", "gọi *********678"),
        ("gọi +84 912-345-678", "gọi ************678"),
        ("a=0912345678&b=001085012345", "a=*******678&b=*********345"),
    ],
)
def test_scrub_text_masks_ids_and_mobiles(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "paid at 20240101123045",  # 14-digit timestamp
        "amount 1.378.500 đồng",
        "dossier 000.00.32.H19-210708-0032",
        "tax code 0100109106",  # 10 digits, not a mobile prefix
        "ref 12345678901",  # 11 digits, not a mobile
        "12345678",  # 8 digits
    ],
)
def test_scrub_text_leaves_other_numbers(text: str) -> None:
    assert scrub_text(text) == text


# --- hardening: shapes an attacker's review and the fuzzer found unmasked ---------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CCCD 035.095.001.234 hợp lệ", "CCCD ************234 hợp lệ"),
        ("CCCD 035 095 001 234", "CCCD ************234"),
        ("CCCD 035-095-001-234.", "CCCD ************234."),
        ("CCCD 0350 9500 1234", "CCCD ***********234"),
        ("CCCD 035\u00a0095\u00a0001\u00a0234", "CCCD ************234"),
        ("CMND 123 456 789", "CMND ********789"),
        ("CMND 123-456-789", "CMND ********789"),
    ],
)
def test_scrub_text_masks_id_numbers_written_in_groups(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CCCD ０３５０９５００１２３４", "CCCD *********234"),  # full-width digits (some Vietnamese IMEs)
        ("CCCD ０３５．０９５．００１．２３４", "CCCD ************234"),
        ("gọi ０９１２３４５６７８", "gọi *******678"),
        ("gọi ＋８４９１２３４５６７８", "gọi *********678"),
    ],
)
def test_scrub_text_masks_full_width_digits(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gọi (091) 234 5678", "gọi ***********678"),
        ("gọi (091)2345678", "gọi *********678"),
        ("gọi 091.234.5678", "gọi *********678"),
        ("gọi +84 91 234 5678", "gọi ************678"),
        ("gọi (+84) 91 234 5678", "gọi **************678"),
        ("gọi +84 (91) 234 5678", "gọi **************678"),
    ],
)
def test_scrub_text_masks_phones_with_parentheses_and_groups(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "amount 1378500",
        "amount 1.378.500.000 đồng",  # 10 digits in thousands groups
        "amount 137.850.000 đồng",  # 9 digits in thousands groups: an amount, not a CMND
        "amount 100.000.000.000 đồng",  # 12 digits grouped, but a CCCD always starts with 0
        "due 20260520, paid 20260520103045",
        "receipt 26TAA 00001234",
        "request 01JF3Z8Q2K123456789012XYZW",  # ULID with a 12-digit run inside
        "correlation 3f2a9c1e-4b7d-4e21-9a0b-123456789012",  # UUID whose last group is 12 digits
        "dossier 000.00.32.H19-210708-0032",
    ],
)
def test_scrub_text_leaves_amounts_dates_receipts_and_ids_of_records(text: str) -> None:
    assert scrub_text(text) == text


def test_bytes_are_decoded_then_masked() -> None:
    assert mask_pii({"note": "CCCD ０３５０９５００１２３４".encode()}) == {"note": "CCCD *********234"}
    assert mask_pii({"phone": b"0912345678"}) == {"phone": "*******678"}
    assert mask_pii([bytearray(b"cmnd 123456789")]) == ["cmnd ******789"]


@pytest.mark.parametrize(
    "key",
    ["payer_name", "payerName", "full_name", "fullName", "holder_name", "account_holder_name", "ten_nnt", "TEN_NNT",
     "ho_ten", "ho_va_ten", "hoTen", "customer_name", "citizen_name", "owner_name", "account_name", "ten_chu_tk",
     "ten_nguoi_nop"],
)
def test_personal_names_are_masked_to_initials(key: str) -> None:
    assert mask_pii({key: "Nguyễn  Văn An"}) == {key: "N*** V*** A***"}


def test_names_are_masked_at_any_depth_and_in_lists() -> None:
    event = {"notice": {"payers": [{"payer_name": "Đặng Thị Ánh"}, {"payer_name": "lê văn c"}]}}
    assert mask_pii(event) == {"notice": {"payers": [{"payer_name": "Đ*** T*** Á***"}, {"payer_name": "l*** v*** c***"}]}}
    assert mask_pii({"full_name": ["Trần B", None]}) == {"full_name": ["T*** B***", None]}


@pytest.mark.parametrize("key", ["province_name", "bank_name", "file_name", "unit_name", "ten_tmuc", "service_name"])
def test_names_of_things_are_not_masked(key: str) -> None:
    assert mask_pii({key: "Tỉnh Hà Nam"}) == {key: "Tỉnh Hà Nam"}


def test_dataclasses_and_models_are_masked_by_their_field_names() -> None:
    import dataclasses

    from pydantic import BaseModel

    @dataclasses.dataclass
    class Payer:
        payer_name: str
        id_number: str

    class PayerModel(BaseModel):
        full_name: str
        phone: str

    assert mask_pii({"payer": Payer("Nguyễn Văn An", "035095001234")}) == {
        "payer": {"payer_name": "N*** V*** A***", "id_number": "*********234"}}
    assert mask_pii([PayerModel(full_name="Trần Thị B", phone="0912345678")]) == [
        {"full_name": "T*** T*** B***", "phone": "*******678"}]


def test_mask_name() -> None:
    from chalicelib.core.masking import mask_name

    assert mask_name("Nguyễn Văn An") == "N*** V*** A***"
    assert mask_name("  ") == ""
    assert mask_name("Nguye\u0302\u0303n") == "N***"  # decomposed input is composed first


# --- a 12-digit tax code is an individual's ID number ------------------------------------------------------------

@pytest.mark.parametrize(
    ("tax_code", "personal"),
    [
        ("035095001234", True),  # an individual's tax code since 1 July 2025 (Circular 86/2024/TT-BTC)
        (" 035 095 001 234 ", True),
        ("０３５０９５００１２３４", True),
        ("0100109106", False),  # a company
        ("0100109106-001", False),  # a branch
        ("0100109106001", False),
        ("123456789", False),  # not a tax code form at all
        ("", False),
        (None, False),
        (35095001234, False),  # an int has lost its leading zero: not a form we store
    ],
)
def test_is_personal_number(tax_code, personal: bool) -> None:
    from chalicelib.core.masking import is_personal_number

    assert is_personal_number(tax_code) is personal


def test_mask_tax_code_masks_only_personal_numbers() -> None:
    from chalicelib.core.masking import mask_tax_code

    assert mask_tax_code("035095001234") == "*********234"
    assert mask_tax_code("0100109106-001") == "0100109106-001"
