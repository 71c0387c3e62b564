"""Sub-item codes and collecting banks, both kept as data."""
from __future__ import annotations

import dataclasses
from typing import get_args

import pytest

from chalicelib.core.banks import Bank, BankProtocol, bank_registry, get_bank
from chalicelib.core.budget import SubItemKind, is_known_sub_item, sub_item, sub_items
from chalicelib.core.validation import InvalidValueError


@pytest.mark.parametrize(
    ("code", "kind", "verified"),
    [
        ("2801", "registration_fee", True),
        ("1006", "personal_income_tax", True),
        ("1401", "land_use_levy", True),
        ("1601", "non_agricultural_land_use_tax", True),
        ("1602", "non_agricultural_land_use_tax", True),
        ("1603", "non_agricultural_land_use_tax", True),
        ("1649", "non_agricultural_land_use_tax", True),
        ("3601", "land_rent", False),
        ("3602", "land_rent", False),
        ("3603", "land_rent", False),
    ],
)
def test_sub_item_table(code: str, kind: str, verified: bool) -> None:
    item = sub_item(code)
    assert item is not None
    assert (item.code, item.kind, item.verified) == (code, kind, verified)
    assert is_known_sub_item(code)


def test_sub_item_labels() -> None:
    assert sub_item("2801").name_vi == "Lệ phí trước bạ nhà đất"
    assert sub_item("1006").name_vi == "Thuế thu nhập cá nhân từ chuyển nhượng bất động sản"
    assert sub_item("1401").name_vi == "Tiền sử dụng đất"


def test_sub_item_code_is_stripped() -> None:
    assert sub_item(" 2801 ").code == "2801"


# 1402 was refused when the table held ten codes; it is a real 14xx code (land-use levy), so 1499 stands in.
@pytest.mark.parametrize("code", ["9999", "1499", "", "28O1", None])
def test_unknown_sub_items(code: str) -> None:
    assert sub_item(code) is None
    assert not is_known_sub_item(code)


def test_every_sub_item_kind_is_a_declared_kind() -> None:
    assert {item.kind for item in sub_items().values()} <= set(get_args(SubItemKind))


def test_sub_items_returns_a_copy() -> None:
    sub_items().clear()
    assert is_known_sub_item("2801")


def test_bank_registry_has_the_five_banks() -> None:
    registry = bank_registry()
    assert set(registry) == {"VCB", "ICB", "BIDV", "VBA", "MB"}
    assert {code: bank.napas_bin for code, bank in registry.items()} == {
        "VCB": "970436",
        "ICB": "970415",
        "BIDV": "970418",
        "VBA": "970405",
        "MB": "970422",
    }


def test_bank_protocols() -> None:
    protocols = {code: bank.protocol for code, bank in bank_registry().items()}
    assert protocols == {
        "VCB": "standard_webhooks",
        "ICB": "standard_webhooks",
        "BIDV": "standard_webhooks",
        "VBA": "standard_webhooks",
        "MB": "vnpay_ipn",
    }
    assert set(protocols.values()) <= set(get_args(BankProtocol))


def test_bank_names_are_vietnamese() -> None:
    vcb = get_bank("VCB")
    assert vcb.name_vi == "Ngân hàng TMCP Ngoại thương Việt Nam (Vietcombank)"
    assert vcb.short_name == "Vietcombank"
    assert get_bank("VBA").short_name == "Agribank"


def test_bank_has_no_single_sign_on_flag() -> None:
    # Single sign-on is stage configuration, not bank data.
    assert not any("sso" in f.name or "sign_on" in f.name for f in dataclasses.fields(Bank))


def test_get_bank_ignores_case_and_spaces() -> None:
    assert get_bank(" bidv ").code == "BIDV"


@pytest.mark.parametrize("code", ["CTG", "TCB", "", None])
def test_unknown_bank_is_refused(code: str) -> None:
    with pytest.raises(InvalidValueError) as err:
        get_bank(code)
    assert err.value.code == "BANK_UNKNOWN"


def test_bank_is_frozen_and_registry_is_a_copy() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_bank("VCB").code = "X"  # type: ignore[misc]
    bank_registry().clear()
    assert get_bank("VCB").code == "VCB"


# --- the state-budget code list, not a small table ---------------------------------------------------------------

@pytest.mark.parametrize("code", ["1001", "1003", "1012", "1053", "1403", "1449", "2205", "2627", "2715", "2805",
                                  "2823", "3061", "3604", "3649"])
def test_real_sub_items_beyond_the_land_kinds_are_known(code: str) -> None:
    item = sub_item(code)
    assert item is not None and item.name_vi and item.source


def test_notice_items_accept_any_listed_sub_item_and_refuse_others() -> None:
    import random

    from chalicelib.payments.domain.notices import NoticeItemIn

    code = random.Random(20260520).choice(sorted(sub_items()))
    assert NoticeItemIn(sub_item_code=code, description="x", amount_vnd=1).sub_item_code == code
    with pytest.raises(ValueError, match="SUB_ITEM_UNKNOWN|không có trong danh mục"):
        NoticeItemIn(sub_item_code="9999", description="x", amount_vnd=1)


def test_every_sub_item_is_four_digits_with_a_vietnamese_name_and_a_source() -> None:
    items = sub_items()
    assert len(items) >= 80  # the sections the portal may receive, not a table of ten
    for code, item in items.items():
        assert code == item.code and len(code) == 4 and code.isdigit()
        assert item.name_vi.strip() == item.name_vi and item.name_vi
        assert item.verified or item.source, code  # an unverified entry says where it came from


def test_kinds_are_kept_for_the_obligations_a_receipt_groups_by() -> None:
    assert sub_item("1003").kind == "personal_income_tax"
    assert sub_item("1405").kind == "land_use_levy"
    assert sub_item("3604").kind == "land_rent"
    assert sub_item("2805").kind == "other"
