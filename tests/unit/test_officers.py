"""M9 administration through the use cases: the one-stop unit-name rule (any case, NFC or NFD), Vietnam Post
accounts never eligible, every grant/revoke/assignment audited, administrators kept to their province, and the
officer's right decided on stored data."""
from __future__ import annotations

import unicodedata

import pytest

from chalicelib.accounts.domain import is_one_stop_unit
from chalicelib.accounts.services import officers
from chalicelib.core.errors import AppError
from chalicelib.core.names import name_key
from tests.fakes_accounts import (
    ONE_STOP_UNIT,
    OTHER_PROVINCE_UNIT,
    PLAIN_UNIT,
    admin,
    caller,
    make_account_services,
    officer,
    seed_officer,
    seed_units,
)

RIGHT = "create_citizen_accounts"


@pytest.fixture()
def svc():
    s = make_account_services()
    seed_units(s)
    return s


def refused(fn, *args) -> AppError:
    with pytest.raises(AppError) as exc:
        fn(*args)
    return exc.value


# --- the unit-name rule ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "Trung tâm Phục vụ hành chính công tỉnh Hà Nam",
    "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG TỈNH HÀ NAM",
    "trung tâm phục vụ   hành chính công",
    "Bộ phận Một cửa UBND xã Kim Bình",
    "BỘ PHẬN MỘT CỬA",
])
def test_one_stop_names_in_any_case_and_normalisation(name):
    assert is_one_stop_unit(name)
    assert is_one_stop_unit(unicodedata.normalize("NFD", name))
    assert is_one_stop_unit(unicodedata.normalize("NFD", name).upper())


@pytest.mark.parametrize("name", [
    "Phòng Tài nguyên và Môi trường",
    "Trung tâm hành chính",
    "Bộ phận tiếp dân",
    "Trung tam phuc vu hanh chinh cong",  # without diacritics it is another name
    "Bo phan mot cua",
])
def test_other_names_are_not_one_stop(name):
    assert not is_one_stop_unit(name)


def test_nfd_input_really_differs_from_nfc_and_still_matches():
    nfd = unicodedata.normalize("NFD", "Bộ phận một cửa")
    assert nfd != "Bộ phận một cửa" and "bộ phận một cửa" not in nfd.casefold()
    assert name_key(nfd) == "bộ phận một cửa"


def test_grant_to_an_officer_of_a_unit_created_with_an_nfd_name(svc):
    nfd_name = unicodedata.normalize("NFD", "BỘ PHẬN MỘT CỬA UBND XÃ THANH LIÊM")
    officers.create_unit(svc, admin(), {"code": "000.00.20.H35", "name": nfd_name})
    seed_officer(svc, "off-nfd", units=("000.00.20.H35",), grant=False)
    assert RIGHT in officers.grant_right(svc, admin(), "off-nfd", RIGHT)["rights"]
    units = officers.list_units(svc, admin())["items"]
    stored = next(u for u in units if u["code"] == "000.00.20.H35")
    assert stored["one_stop"] and stored["name"] == unicodedata.normalize("NFC", nfd_name)


def test_grant_refused_without_a_one_stop_unit(svc):
    seed_officer(svc, "off-plain", units=(PLAIN_UNIT,), grant=False)
    err = refused(officers.grant_right, svc, admin(), "off-plain", RIGHT)
    assert (err.code, err.status) == ("UNIT_NOT_ONE_STOP", 422)
    seed_officer(svc, "off-none", units=(), grant=False, id_number="001090005679", phone="0987654322")
    assert refused(officers.grant_right, svc, admin(), "off-none", RIGHT).code == "UNIT_NOT_ONE_STOP"
    assert officers.user_audit(svc, admin(), "off-plain")["items"][-1]["action"] == "ASSIGN_UNIT"  # no grant


def test_vietnam_post_accounts_never_get_rights(svc):
    seed_officer(svc, "off-post", units=(ONE_STOP_UNIT,), grant=False, issuer="vnpost")
    err = refused(officers.grant_right, svc, admin(), "off-post", RIGHT)
    assert (err.code, err.status) == ("VNPOST_ACCOUNT_NOT_ELIGIBLE", 403)
    assert "Bưu điện" in err.detail
    assert RIGHT not in svc.directory.get_user("off-post").rights


def test_a_vietnam_post_account_with_a_right_in_storage_still_cannot_create(svc):
    """Defence in depth: even if a right were written by hand, the creation check refuses Vietnam Post."""
    from dataclasses import replace

    seed_officer(svc, "off-post2", grant=False, issuer="vnpost")
    user = svc.directory.get_user("off-post2")
    svc.directory.update_user(replace(user, rights=(RIGHT,), rev=user.rev + 1), user.rev,
                              __import__("chalicelib.accounts.ports", fromlist=["AuditEntry"]).AuditEntry(
                                  "off-post2", "2026-05-20T09:00:00+07:00", "test", "TEST", {}))
    assert refused(officers.creator_units, svc, officer("off-post2")).code == "CREATE_RIGHT_MISSING"


# --- audit -------------------------------------------------------------------------------------------------------

def test_every_grant_revoke_and_assignment_is_audited_with_who_when_what(svc):
    seed_officer(svc, "off-1", grant=False)
    officers.grant_right(svc, admin(), "off-1", RIGHT)
    svc.clock.advance(minutes=5)
    officers.revoke_right(svc, admin(), "off-1", RIGHT)
    entries = officers.user_audit(svc, admin(), "off-1")["items"]
    assert [e["action"] for e in entries] == ["REGISTER_USER", "ASSIGN_UNIT", "GRANT_RIGHT", "REVOKE_RIGHT"]
    grant, revoke = entries[2], entries[3]
    assert grant["actor"] == revoke["actor"] == "operator-1"
    assert grant["detail"] == {"right": RIGHT, "units": [ONE_STOP_UNIT]}
    assert revoke["detail"] == {"right": RIGHT}
    assert grant["at"] == "2026-05-20T09:00:00+07:00" and revoke["at"] == "2026-05-20T09:05:00+07:00"


def test_removing_the_last_one_stop_unit_takes_the_right_away_audited(svc):
    seed_officer(svc, "off-2", units=(ONE_STOP_UNIT, PLAIN_UNIT))
    user = officers.remove_unit(svc, admin(), "off-2", ONE_STOP_UNIT)
    assert user["units"] == [PLAIN_UNIT] and user["rights"] == []
    last = officers.user_audit(svc, admin(), "off-2")["items"][-1]
    assert last["action"] == "REMOVE_UNIT" and last["detail"]["revoked_right"] == RIGHT
    assert refused(officers.creator_units, svc, officer("off-2")).code == "CREATE_RIGHT_MISSING"


def test_concurrent_change_is_refused_not_lost(svc):
    from dataclasses import replace

    from chalicelib.accounts.ports import AuditEntry
    from chalicelib.core.ports import StaleRecordError

    seed_officer(svc, "off-3", grant=False)
    user = svc.directory.get_user("off-3")
    svc.directory.update_user(replace(user, rev=user.rev + 1), user.rev, AuditEntry("off-3", "t", "a", "X"))
    with pytest.raises(StaleRecordError):
        svc.directory.update_user(replace(user, rights=(RIGHT,), rev=user.rev + 1), user.rev,
                                  AuditEntry("off-3", "t", "a", "GRANT_RIGHT"))


# --- who may administer ------------------------------------------------------------------------------------------

def test_only_administrators_administer(svc):
    for who in (caller("c-1", "citizen"), officer("off-x"), caller("nobody")):
        assert refused(officers.list_units, svc, who).code == "ROLE_FORBIDDEN"
        assert refused(officers.search_users, svc, who, {}).code == "ROLE_FORBIDDEN"
        assert refused(officers.grant_right, svc, who, "off-x", RIGHT).code == "ROLE_FORBIDDEN"
    assert refused(officers.list_units, svc, caller(None)).status == 401


def test_province_admin_is_kept_to_their_province(svc):
    pa = caller("pa-35", "province_admin", province="000.00.00.H35")
    seed_officer(svc, "off-hn", units=(OTHER_PROVINCE_UNIT,), grant=False)
    assert refused(officers.assign_unit, svc, pa, "off-hn", {"unit_code": OTHER_PROVINCE_UNIT}).code == \
        "UNIT_OUT_OF_SCOPE"
    assert refused(officers.grant_right, svc, pa, "off-hn", RIGHT).code == "USER_NOT_FOUND"  # not even visible
    assert refused(officers.create_unit, svc, pa, {"code": "000.00.99.H01", "name": "Bộ phận một cửa"}).code == \
        "UNIT_OUT_OF_SCOPE"
    assert {u["code"] for u in officers.list_units(svc, pa)["items"]} == {
        "000.00.15.H35", "000.00.16.H35", "000.00.17.H35"}
    seed_officer(svc, "off-hnam", units=(), grant=False, id_number="001090005679", phone="0987654322")
    officers.assign_unit(svc, pa, "off-hnam", {"unit_code": ONE_STOP_UNIT})
    assert RIGHT in officers.grant_right(svc, pa, "off-hnam", RIGHT)["rights"]
    no_province = caller("pa-x", "province_admin")
    assert refused(officers.create_unit, svc, no_province, {"code": "000.00.98.H35", "name": "X"}).code == \
        "UNIT_OUT_OF_SCOPE"


def test_search_users_by_each_criterion(svc):
    seed_officer(svc, "off-a", units=(ONE_STOP_UNIT,), grant=True)
    officers.register_user(svc, admin(), {"user_id": "off-b", "full_name": "Lê Thị Hoa", "phone": "0977000111",
                                          "id_number": "001190005555", "issuer": "vnpost",
                                          "tax_code": "0100109106"})
    ids = lambda body: [u["user_id"] for u in officers.search_users(svc, admin(), body)["items"]]  # noqa: E731
    assert ids({"name": unicodedata.normalize("NFD", "thị hoa")}) == ["off-b"]
    assert ids({"phone": "+84977000111"}) == ["off-b"]
    assert ids({"id_or_tax_code": "001090005678"}) == ["off-a"]
    assert ids({"id_or_tax_code": "0100109106"}) == ["off-b"]
    assert ids({"unit_code": ONE_STOP_UNIT}) == ["off-a"]
    assert ids({"unassigned": True}) == ["off-b"]
    assert ids({"status": "active"}) == ["off-b", "off-a"]  # by name: Lê Thị Hoa, Trần Văn Bình
    found = officers.search_users(svc, admin(), {"name": "Bình"})["items"][0]
    assert found["id_number_masked"] == "*********678" and "001090005678" not in str(found)


def test_stored_user_holds_no_id_number_in_clear(svc):
    seed_officer(svc, "off-c", id_number="001090005678")
    assert "001090005678" not in "".join(svc.directory.raw_items().values())


# --- the officer's right, on stored data --------------------------------------------------------------------------

def test_creator_needs_role_right_and_unit(svc):
    seed_officer(svc, "off-ok")
    seed_officer(svc, "off-noright", grant=False, id_number="001090005679", phone="0987654322")
    user, units = officers.creator_units(svc, officer("off-ok"), ONE_STOP_UNIT)
    assert [u.code for u in units] == [ONE_STOP_UNIT]
    assert refused(officers.creator_units, svc, officer("off-noright")).code == "CREATE_RIGHT_MISSING"
    assert refused(officers.creator_units, svc, officer("unknown")).code == "CREATE_RIGHT_MISSING"
    assert refused(officers.creator_units, svc, caller("off-ok", "citizen")).code == "ROLE_FORBIDDEN"
    assert refused(officers.creator_units, svc, officer("off-ok"), "000.00.16.H35").code == "UNIT_FORBIDDEN"
    officers.revoke_right(svc, admin(), "off-ok", RIGHT)
    assert refused(officers.creator_units, svc, officer("off-ok")).code == "CREATE_RIGHT_MISSING"
