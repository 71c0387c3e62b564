"""M10 on the running local stack over HTTP: the operator imports Hồ Chí Minh City's tax commune list (planted
duplicates and misses), reviews and publishes it; the tax authority then sends tax-coded notices, which are
translated (or refused with nothing stored), and pre-2025 codes are translated to today's."""
from __future__ import annotations

import base64
import time
import uuid

import pytest

from tests.conftest import assert_problem

HCM, HCM_AGENCY = "79", "H29"  # statistics code and level-1 agency code of Thành phố Hồ Chí Minh
ROWS = [
    ("7010917", "Phường Sài Gòn"),
    ("7010918", "P. Tân Định"),
    ("7010919", "Phuong Ben Thanh"),  # typed without diacritics
    ("7010919", "Phuong Ben Thanh"),  # planted: the same line twice
    ("7010920", "Phường Bến Thành"),  # planted: a second code on the same ward
    ("7010999", "Phường Không Tồn Tại"),  # planted miss
]


def wait_for(check, timeout_s: float = 20):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


_tokens: dict[str, dict] = {}


def auth(role: str = "operator") -> dict:
    """The headers of a real user of the local pool with this role, signed in through the API once per module."""
    from chalicelib.local.identities import new_identity

    if role not in _tokens:
        _tokens[role] = {"Authorization": f"Bearer {new_identity(None, role).access_token}"}
    return _tokens[role]


@pytest.fixture(scope="module")
def hcm_registered(stack):
    """Notices of HCM dossiers are forwarded: point HCM's notice API at the simulated province."""
    import requests

    from chalicelib.local import devkeys

    agency = f"000.00.00.{HCM_AGENCY}"
    r = requests.put(f"{stack.api_url}/v1/provinces/{agency}/apis/notice", headers=auth(), timeout=10, json={
        "province_code": HCM, "province_name": "Thành phố Hồ Chí Minh", "unit_code": agency,
        "session_url": f"{stack.province_url}/p/{HCM_AGENCY}/session",
        "data_url": f"{stack.province_url}/p/{HCM_AGENCY}/notice",
        "credentials": {"username": devkeys.LOCAL_PROVINCE_USERNAME, "password": devkeys.LOCAL_PROVINCE_PASSWORD}})
    assert r.status_code == 200, r.text
    return agency


def _file(rows) -> str:
    text = "Mã xã;Tên xã\n" + "".join(f"{code};{name}\n" for code, name in rows)
    return base64.b64encode(text.encode("utf-8")).decode()


def _ward(name: str) -> str:
    from chalicelib.core import admin_units

    return next(c.code for c in admin_units.communes_of_province(HCM) if c.name == name)


@pytest.fixture(scope="module")
def published(stack, hcm_registered):
    import requests

    s, url = requests.Session(), f"{stack.api_url}/v1/commune-maps/{HCM}"
    r = s.post(f"{url}/imports", headers=auth(), json={"file_name": "xa-thue-hcm.csv", "content_base64": _file(ROWS)})
    assert r.status_code == 201, r.text
    view = r.json()
    rows = {row["line"]: row for row in view["rows"]}
    assert [rows[n]["status"] for n in range(2, 8)] == ["MATCHED"] * 5 + ["MISSING"]
    assert "DUPLICATE_CODE" in rows[5]["flags"] and "SHARED_TARGET" in rows[6]["flags"]
    assert view["summary"]["undecided"] == 4
    r = s.post(f"{url}/imports/{view['import_id']}/publish", headers=auth())
    assert r.status_code == 409 and r.json()["code"] == "IMPORT_NOT_REVIEWED" and r.json()["lines"] == [4, 5, 6, 7]
    r = s.post(f"{url}/imports/{view['import_id']}/decisions", headers=auth(), json={"decisions": [
        {"line": 4, "action": "accept"}, {"line": 5, "action": "exclude"}, {"line": 6, "action": "exclude"},
        {"line": 7, "action": "choose", "standard_code": _ward("Phường Cầu Ông Lãnh")}]})
    assert r.status_code == 200 and r.json()["summary"]["undecided"] == 0, r.text
    r = s.post(f"{url}/imports/{view['import_id']}/publish", headers=auth())
    assert r.status_code == 201, r.text
    return r.json()


def test_the_reviewed_map_is_published_versioned_and_exported(api, published):
    assert published["version"] >= 1 and published["entry_count"] == 4
    current = api.s.get(f"{api.url}/v1/commune-maps/{HCM}", headers=auth()).json()
    assert current["version"] == published["version"]
    assert {e["tax_code"]: e["standard_code"] for e in current["entries"]}["7010917"] == _ward("Phường Sài Gòn")
    versions = api.s.get(f"{api.url}/v1/commune-maps/{HCM}/versions", headers=auth()).json()
    assert versions["current_version"] == published["version"] and "entries" not in versions["versions"][0]
    xlsx = api.s.get(f"{api.url}/v1/commune-maps/{HCM}/export", headers=auth())
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK") and "attachment" in \
        xlsx.headers["Content-Disposition"]
    csv = api.s.get(f"{api.url}/v1/commune-maps/{HCM}/export?format=csv&version={published['version']}",
                    headers=auth())
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf") and b"7010917" in csv.content
    assert_problem(api.s.get(f"{api.url}/v1/commune-maps/{HCM}/versions/999", headers=auth()), 404,
                   "COMMUNE_MAP_NOT_FOUND")
    assert_problem(api.s.get(f"{api.url}/v1/commune-maps/{HCM}", headers=auth("province_admin")), 403,
                   "ROLE_FORBIDDEN")


def _hcm_notice(commune_code: str, system: str = "tax") -> dict:
    from chalicelib.local.demo import demo_notice

    payload = demo_notice(f"000.00.{uuid.uuid4().int % 100:02d}.{HCM_AGENCY}-260520-{uuid.uuid4().int % 10000:04d}")
    return {**payload, "commune_code": commune_code, "commune_code_system": system}


def test_a_tax_coded_notice_is_translated_and_both_codes_are_kept(api, stack, published):
    payload = _hcm_notice("7010918")
    r = api.send_notices(payload)
    assert r.json() == {"accepted": 1, "unchanged": 0}, r.text  # the intake answer is unchanged (API.md)
    found = api.s.post(f"{api.url}/v1/lookup", json={"dossier_code": payload["dossier_code"],
                                                     "id_number": payload["id_number"]}).json()
    commune = found["commune"]
    assert (commune["commune_code"], commune["commune_code_system"], commune["mapped_by"]) == ("7010918", "tax",
                                                                                               "tax_map")
    assert commune["standard_commune_code"] == _ward("Phường Tân Định")
    # The province's notice API gets both codes too.
    message_id = f"{payload['dossier_code']}:{payload['notices'][0]['notice_number']}:v1:notice"
    sent = wait_for(lambda: stack.province.payload(HCM_AGENCY, message_id))
    assert (sent["commune_code"], sent["standard_commune_code"]) == ("7010918", _ward("Phường Tân Định"))


def test_an_unknown_tax_code_is_refused_naming_code_and_province_and_nothing_is_stored(api, published):
    payload = _hcm_notice("7010555")
    body = assert_problem(api.send_notices(payload), 422, "COMMUNE_CODE_UNKNOWN")
    assert "7010555" in body["detail"] and "Hồ Chí Minh" in body["detail"] and body["province_code"] == HCM
    r = api.s.post(f"{api.url}/v1/lookup", json={"dossier_code": payload["dossier_code"],
                                                 "id_number": payload["id_number"]})
    assert_problem(r, 404, "DOSSIER_NOT_FOUND")


def test_a_pre_2025_code_is_translated_to_todays(api):
    from chalicelib.local.demo import demo_notice

    payload = demo_notice(f"000.00.43.H35-260520-{uuid.uuid4().int % 10000:04d}")  # 13387: Xã Nguyễn Úy (Hà Nam)
    assert api.send_notices(payload).status_code == 200
    commune = api.s.post(f"{api.url}/v1/lookup", json={"dossier_code": payload["dossier_code"],
                                                       "id_number": payload["id_number"]}).json()["commune"]
    assert (commune["commune_code"], commune["standard_commune_code"], commune["mapped_by"]) == ("13387", "13396",
                                                                                                "legacy")
