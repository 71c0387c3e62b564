"""Vietnamese mobile numbers (E.164) and e-mail addresses."""
from __future__ import annotations

import pytest

from chalicelib.core.phones import normalise_mobile, validate_email
from chalicelib.core.validation import InvalidValueError


def _code(call, raw) -> str:
    with pytest.raises(InvalidValueError) as err:
        call(raw)
    return err.value.code


@pytest.mark.parametrize(
    "raw",
    [
        "0912345678",
        "+84912345678",
        "84912345678",
        "0084912345678",
        "0912 345 678",
        "091.234.5678",
        "091-234-5678",
        "+84 912 345 678",
        " 0912345678 ",
        "(+84) 912345678",
    ],
)
def test_accepted_forms_become_e164(raw: str) -> None:
    assert normalise_mobile(raw) == "+84912345678"


@pytest.mark.parametrize("raw", ["0862345678", "0592345678", "0702345678", "0352345678", "0562345678"])
def test_other_mobile_ranges_are_accepted(raw: str) -> None:
    assert normalise_mobile(raw) == "+84" + raw[1:]


@pytest.mark.parametrize(
    "raw",
    [
        "02438261234",  # Hà Nội landline
        "0243 826 1234",
        "19001234",  # short/premium service number
        "0123456789",  # old 11-digit-era prefix, no longer allocated
        "0912345",  # too short
        "09123456789",  # too long
        "+14155552671",  # a valid number, but not Vietnamese
        "+44 7911 123456",
        "0912345abc",  # letters would be turned into digits by the library
        "O912345678",
        "",
        "   ",
        "+",
        None,
    ],
)
def test_non_mobile_or_invalid_numbers_are_refused(raw: str) -> None:
    assert _code(normalise_mobile, raw) == "PHONE_INVALID"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("nguyenvana@example.vn", "nguyenvana@example.vn"),
        (" Nguyen.Van.A@Example.COM.VN ", "Nguyen.Van.A@example.com.vn"),  # local part case is kept
        ("a+tag@sub.example.gov.vn", "a+tag@sub.example.gov.vn"),
        ("x@Ví-Dụ.VN", "x@xn--v-d-rma6749a.vn"),
    ],
)
def test_valid_emails_are_normalised(raw: str, expected: str) -> None:
    assert validate_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "nguyenvana",
        "nguyenvana@",
        "@example.vn",
        "a@b",
        "a@@example.vn",
        "a b@example.vn",
        ".a@example.vn",
        "a.@example.vn",
        "a..b@example.vn",
        "a@example..vn",
        "a@-example.vn",
        "a@example-.vn",
        "a@example.v",
        "a@example.123",
        "a@exa_mple.vn",
        "nguyễn@example.vn",
        "a" * 65 + "@example.vn",
        "a@" + "b" * 250 + ".vn",
        None,
    ],
)
def test_invalid_emails_are_refused(raw: str) -> None:
    assert _code(validate_email, raw) == "EMAIL_INVALID"
