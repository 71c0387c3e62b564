"""The whole permission matrix of the account endpoints over HTTP: every route x {no token, a staff user with no
role, citizen, officer without the right, officer with the right, province administrator, operator}, each a real
user of the local user pool signed in through the API, plus an officer of unit A reaching unit B's accounts.
"allowed" means the caller got past authorisation (any answer but 401/403); "denied" names the exact status and
code."""
from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_accounts_journey import Desk, fresh_id, fresh_phone, identity

CALLERS = ("anonymous", "no_role", "citizen", "officer_no_right", "officer", "province_admin", "operator")
ALL_ROLES_BUT = lambda *allowed: {c: "allowed" if c in allowed else None for c in CALLERS}  # noqa: E731

UNAUTH = (401, "TOKEN_MISSING")
ROLE = (403, "ROLE_FORBIDDEN")
NO_RIGHT = (403, "CREATE_RIGHT_MISSING")
CHANGE_PW = (403, "PASSWORD_CHANGE_REQUIRED")
# What "not allowed in" looks like; anything else (validation, not found, a wrong password...) is past the door.
AUTHORISATION_REFUSALS = {"TOKEN_MISSING", "TOKEN_INVALID", "TOKEN_EXPIRED", "ROLE_FORBIDDEN", "CREATE_RIGHT_MISSING",
                          "PASSWORD_CHANGE_REQUIRED", "UNIT_FORBIDDEN", "UNIT_NOT_ONE_STOP"}


def _admin_row():
    return {"anonymous": UNAUTH, "no_role": ROLE, "citizen": ROLE, "officer_no_right": ROLE, "officer": ROLE,
            "province_admin": "allowed", "operator": "allowed"}


def _officer_row():
    return {"anonymous": UNAUTH, "no_role": ROLE, "citizen": ROLE, "officer_no_right": NO_RIGHT,
            "officer": "allowed", "province_admin": ROLE, "operator": ROLE}


def _citizen_row():
    return {"anonymous": UNAUTH, "no_role": ROLE, "citizen": "allowed", "officer_no_right": ROLE,
            "officer": ROLE, "province_admin": ROLE, "operator": ROLE}


FRESH = "FRESH"  # the route ends the caller's sessions: each caller sends a token of its own, made for it


@pytest.fixture(scope="module")
def world(stack):
    import requests

    class _Api:
        url, bank_url = stack.api_url, stack.bank_url
        s = requests.Session()

    desk = Desk(_Api())
    other = Desk(_Api())  # another one-stop unit with its own officer

    def fresh(who: str) -> dict:
        return {"anonymous": lambda: {},
                "no_role": lambda: identity(desk.url, None).headers,
                "citizen": lambda: identity(desk.url, "citizen").headers,
                "officer_no_right": lambda: identity(desk.url, "officer", unit=desk.unit, grant=False).headers,
                "officer": lambda: identity(desk.url, "officer", unit=desk.unit).headers,
                "province_admin": lambda: identity(desk.url, "province_admin", province="H35").headers,
                "operator": lambda: identity(desk.url, "operator").headers}[who]()

    headers = {who: fresh(who) for who in CALLERS if who not in ("officer", "operator")}
    headers |= {"officer": desk.officer, "operator": desk.admin}
    return desk, other, headers, fresh


def _routes(desk):
    unit, user = desk.unit, desk.officer_id
    citizen_id, phone = fresh_id(), fresh_phone()
    otp_officer = {c: ("allowed" if c == "officer" else v) for c, v in _officer_row().items()}
    otp_verify_officer = otp_officer  # verifying needs the right too: nobody else may count attempts
    return [
        ("POST", "/v1/otp", {"phone": phone, "purpose": "account_creation", "subject": citizen_id}, otp_officer),
        ("POST", "/v1/otp/verify", {"phone": phone, "purpose": "account_creation", "subject": citizen_id,
                                    "code": "000000"}, otp_verify_officer),
        ("POST", "/v1/otp", {"phone": phone, "purpose": "phone_change", "subject": "SELF"},
         {**_citizen_row(), "no_role": ROLE}),
        ("POST", "/v1/admin/units", {"code": f"000.00.{uuid.uuid4().int % 90 + 10}.H35", "name": "Bộ phận một cửa"},
         _admin_row()),
        ("GET", "/v1/admin/units", None, _admin_row()),
        ("POST", "/v1/admin/users", {"user_id": "x", "full_name": "A", "phone": "bad", "id_number": "1",
                                     "issuer": "portal"}, _admin_row()),
        ("POST", "/v1/admin/users/search", {}, _admin_row()),
        ("POST", f"/v1/admin/users/{user}/units", {"unit_code": unit}, _admin_row()),
        ("DELETE", f"/v1/admin/users/{user}/units/000.00.99.H35", None, _admin_row()),
        ("PUT", f"/v1/admin/users/{user}/rights/create_citizen_accounts", None, _admin_row()),
        ("DELETE", f"/v1/admin/users/nobody-{uuid.uuid4().hex[:6]}/rights/create_citizen_accounts", None,
         _admin_row()),
        ("GET", f"/v1/admin/users/{user}/audit", None, _admin_row()),
        ("GET", "/v1/officers/me/units", None, _officer_row()),
        ("POST", "/v1/officers/citizen-accounts/search", {"id_number": citizen_id}, _officer_row()),
        ("POST", "/v1/officers/citizen-accounts/request-form", {"unit_code": unit}, _officer_row()),
        ("POST", "/v1/officers/citizen-accounts/scans", {"unit_code": unit, "file_name": "a.pdf"}, _officer_row()),
        ("POST", "/v1/officers/citizen-accounts", {"unit_code": unit}, _officer_row()),
        ("POST", "/v1/officers/citizen-accounts/query", {}, _officer_row()),
        ("POST", "/v1/auth/sign-in", {"id_number": citizen_id, "password": "x"}, ALL_ROLES_BUT(*CALLERS)),
        ("POST", "/v1/auth/new-password", {"id_number": citizen_id, "session": "s" * 40, "new_password": "x"},
         ALL_ROLES_BUT(*CALLERS)),
        ("POST", "/v1/auth/refresh", {"refresh_token": "r" * 40}, ALL_ROLES_BUT(*CALLERS)),
        ("POST", "/v1/auth/password-reset/otp", {"id_number": fresh_id()}, ALL_ROLES_BUT(*CALLERS)),
        ("POST", "/v1/auth/password-reset", {"id_number": fresh_id(), "code": "000000", "new_password": "x"},
         ALL_ROLES_BUT(*CALLERS)),
        ("POST", "/v1/auth/staff/sign-in", {"username": "nobody", "password": "x"}, ALL_ROLES_BUT(*CALLERS)),
        ("POST", "/v1/auth/staff/new-password", {"username": "nobody", "session": "s" * 40, "new_password": "x"},
         ALL_ROLES_BUT(*CALLERS)),
        ("POST", "/v1/auth/staff/refresh", {"refresh_token": "r" * 40}, ALL_ROLES_BUT(*CALLERS)),
        ("POST", "/v1/auth/sign-out", FRESH, {**ALL_ROLES_BUT(*CALLERS), "anonymous": UNAUTH, "no_role": ROLE}),
        ("PUT", f"/v1/admin/users/nobody-{uuid.uuid4().hex[:6]}/status", {"status": "locked"}, _admin_row()),
        ("DELETE", f"/v1/admin/users/nobody-{uuid.uuid4().hex[:6]}", None, _admin_row()),
        ("GET", "/v1/citizens/me", None, _citizen_row()),
        ("PATCH", "/v1/citizens/me", {"email": "a@b.vn"}, _citizen_row()),
        ("POST", "/v1/citizens/me/password", {"current_password": "a", "new_password": "b"}, _citizen_row()),
        ("POST", "/v1/citizens/me/phone", {"phone": phone, "verification_token": "t" * 40, "password": "x"},
         _citizen_row()),
        ("GET", "/v1/citizens/me/transactions", None, _citizen_row()),
        ("GET", "/v1/citizens/me/bank-links", None, _citizen_row()),
        ("POST", "/v1/citizens/me/bank-links", {"bank_code": "VCB", "banking_username": "abc"}, _citizen_row()),
        ("POST", "/v1/citizens/me/bank-links/confirm", {"bank_code": "VCB", "banking_username": "abc",
                                                        "verification_token": "t" * 40}, _citizen_row()),
        ("DELETE", "/v1/citizens/me/bank-links", None, _citizen_row()),
        ("GET", "/v1/citizens/me/taxes", None, _citizen_row()),
        ("POST", "/v1/citizens/me/taxes/payments", {"kind": "personal_tax", "bank_code": "BIDV"}, _citizen_row()),
        ("GET", "/v1/citizens/me/taxes/transactions", None, _citizen_row()),
    ]


def test_every_route_is_in_the_matrix():
    import app as app_module

    ours = {(m, p) for p, methods in app_module.app.routes.items() for m in methods
            if p.startswith(("/v1/otp", "/v1/admin", "/v1/officers", "/v1/auth", "/v1/citizens"))}
    desk = type("D", (), {"unit": "000.00.15.H35", "officer_id": "{user_id}"})()
    covered = set()
    for method, path, _, _ in _routes(desk):
        template = path.replace("{user_id}", "{user_id}")
        for p in ours:
            if p[0] == method and _matches(p[1], template):
                covered.add(p)
    assert ours == covered, sorted(ours - covered)


def _matches(template: str, path: str) -> bool:
    a, b = template.strip("/").split("/"), path.strip("/").split("/")
    return len(a) == len(b) and all(x == y or x.startswith("{") for x, y in zip(a, b))


def test_permission_matrix(world):
    desk, _, headers, fresh = world
    failures = []
    for method, path, body, expected_row in _routes(desk):
        for who in CALLERS:
            expected = expected_row[who]
            h = dict(fresh(who) if body == FRESH else headers[who])
            b = None if body == FRESH else body
            if isinstance(b, dict) and b.get("subject") == "SELF":
                b = {**b, "subject": "x"}
            r = desk.s.request(method, f"{desk.url}{path}", json=b, headers=h, timeout=30)
            got = (r.status_code, r.json().get("code") if r.headers.get("Content-Type", "").startswith(
                "application/problem+json") else None)
            if expected == "allowed":
                if got[1] in AUTHORISATION_REFUSALS:
                    failures.append((method, path, who, "expected allowed", got))
            elif got != expected:
                failures.append((method, path, who, expected, got))
    assert not failures, "\n".join(map(str, failures))


def test_officer_of_unit_a_cannot_reach_unit_b(world):
    desk, other, _, _ = world
    # B creates an account in B's unit.
    id_number, phone = fresh_id(), fresh_phone()
    created = other.create(id_number, phone)
    assert created.status_code == 201, created.text
    # Each officer's desk offers their own unit only.
    assert [u["code"] for u in desk.s.get(f"{desk.url}/v1/officers/me/units", headers=desk.officer).json()["items"]] \
        == [desk.unit]
    # A lists: B's account is not there, asking for B's unit is refused, searching B's citizen finds nothing.
    r = desk.post("/v1/officers/citizen-accounts/query", {"unit_code": other.unit})
    assert (r.status_code, r.json()["code"]) == (403, "UNIT_FORBIDDEN")
    items = desk.post("/v1/officers/citizen-accounts/query", {"id_number": id_number}).json()["items"]
    assert items == []
    items = desk.post("/v1/officers/citizen-accounts/query", {"created_by": other.officer_id}).json()["items"]
    assert items == []
    # A cannot act for B's unit.
    for path, body in (("/v1/officers/citizen-accounts/scans", {"unit_code": other.unit, "file_name": "a.pdf"}),
                       ("/v1/officers/citizen-accounts/request-form",
                        desk.citizen(fresh_id(), fresh_phone(), unit_code=other.unit)),
                       ("/v1/officers/citizen-accounts",
                        desk.citizen(fresh_id(), fresh_phone(), unit_code=other.unit, scan_id="0" * 26,
                                     verification_token="t" * 40))):
        r = desk.post(path, body)
        assert (r.status_code, r.json()["code"]) == (403, "UNIT_FORBIDDEN"), (path, r.text)
    # A scan uploaded by B cannot be used by A even with A's own unit.
    scan_b = other.upload_scan(b"%PDF-1.7\n0")
    r = desk.post("/v1/officers/citizen-accounts", desk.citizen(
        fresh_id(), fresh_phone(), scan_id=scan_b, verification_token="t" * 40))
    assert (r.status_code, r.json()["code"]) == (422, "SCAN_NOT_FOUND")


def test_province_admin_of_another_province_is_refused(world):
    desk, _, _, _ = world
    other_admin = identity(desk.url, "province_admin", province="01").headers
    r = desk.s.post(f"{desk.url}/v1/admin/users/{desk.officer_id}/units", json={"unit_code": desk.unit},
                    headers=other_admin)
    assert (r.status_code, r.json()["code"]) == (403, "UNIT_OUT_OF_SCOPE")
    r = desk.s.put(f"{desk.url}/v1/admin/users/{desk.officer_id}/rights/create_citizen_accounts",
                   headers=other_admin)
    assert (r.status_code, r.json()["code"]) == (404, "USER_NOT_FOUND")
