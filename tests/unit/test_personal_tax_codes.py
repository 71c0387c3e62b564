"""Issue 8 §4: a 12-digit tax code is an individual's personal ID number (Circular 86/2024/TT-BTC), so it is kept
like one: only its keyed hash (and the last three digits a masked view needs, and for a citizen a sealed copy the
tax authority lookup sends on) at rest, masked for officers and administrators, found by its hash, in full only to
its owner. A 10/13-digit enterprise or household tax code stays as it is."""
from __future__ import annotations

import pytest

from chalicelib.accounts.services import citizen_accounts as accounts
from chalicelib.accounts.services import citizens, officers
from chalicelib.core.masking import mask_pii
from chalicelib.taxes.adapters.accounts import AccountTaxpayers
from tests.fakes_accounts import (
    CITIZEN_ID,
    ONE_STOP_UNIT,
    account_body,
    admin,
    caller_for,
    first_sign_in,
    make_account_services,
    officer,
    seed_officer,
    seed_units,
)

STAFF_ID = "001190005555"


@pytest.fixture()
def svc():
    s = make_account_services()
    seed_units(s)
    seed_officer(s, "off-a", units=(ONE_STOP_UNIT,))
    return s


def _citizen(svc):
    svc.clock.advance(seconds=61)
    account_id = accounts.create_account(svc, officer("off-a"), account_body(svc, "off-a"))["account_id"]
    return account_id, caller_for(svc, first_sign_in(svc)["access_token"])


def _stored(svc) -> str:
    return " ".join(svc.directory.raw_items().values())


def test_a_citizens_personal_tax_code_is_not_stored_in_clear_and_masked_for_officers(svc):
    account_id, me = _citizen(svc)
    answer = citizens.update_profile(svc, me, {"tax_code": CITIZEN_ID})
    assert CITIZEN_ID not in _stored(svc)  # hash, last three digits, sealed copy: never the number
    assert answer["tax_code"] == CITIZEN_ID  # the owner: the sealed copy opened for them
    assert citizens.profile(svc, me)["tax_code"] == CITIZEN_ID
    (seen,) = accounts.list_accounts(svc, officer("off-a"), {})["items"]
    assert seen["tax_code"] == "*********234" and CITIZEN_ID not in str(seen)
    # what needs the number still gets it: the tax authority lookup (taxes' own port) and the bank-link condition
    assert AccountTaxpayers(svc.accounts, svc.sealer).account(account_id).tax_code == CITIZEN_ID
    assert svc.accounts.get_account(account_id).has_tax_code


def test_an_enterprise_tax_code_stays_as_it_is(svc):
    account_id, me = _citizen(svc)
    citizens.update_profile(svc, me, {"tax_code": "0100109106001"})
    assert "0100109106-001" in _stored(svc)
    (seen,) = accounts.list_accounts(svc, officer("off-a"), {})["items"]
    assert seen["tax_code"] == "0100109106-001"
    assert AccountTaxpayers(svc.accounts, svc.sealer).account(account_id).tax_code == "0100109106-001"
    citizens.update_profile(svc, me, {"tax_code": None})
    assert citizens.profile(svc, me)["tax_code"] is None
    assert not svc.accounts.get_account(account_id).has_tax_code


def test_a_staff_users_personal_tax_code_is_hashed_masked_and_found_by_its_hash(svc):
    view = officers.register_user(svc, admin(), {"user_id": "off-b", "full_name": "Lê Thị Hoa",
                                                 "phone": "0977000111", "id_number": "001090007777",
                                                 "issuer": "portal", "tax_code": STAFF_ID})
    assert view["tax_code"] == "*********555"
    assert STAFF_ID not in _stored(svc)
    found = officers.search_users(svc, admin(), {"id_or_tax_code": STAFF_ID})["items"]
    assert [u["user_id"] for u in found] == ["off-b"] and STAFF_ID not in str(found)
    assert officers.search_users(svc, admin(), {"id_or_tax_code": "001190005556"})["items"] == []


def test_log_masking_covers_tax_code_fields():
    masked = mask_pii({"tax_code": CITIZEN_ID, "payer_tax_code": "035 095 001 234", "taxCode": "0100109106",
                       "ma_so_thue": "035.095.001.234", "mst": "０３５０９５００１２３４"})
    assert masked["tax_code"] == masked["payer_tax_code"][-3:].rjust(12, "*") == "*********234"
    assert masked["taxCode"] == "0100109106"  # an enterprise's tax code is not personal data
    assert CITIZEN_ID not in str(masked) and "035 095 001 234" not in str(masked)
    assert "001" not in masked["ma_so_thue"] and masked["mst"].endswith("234")
