"""Issue 10 and the account hardening over HTTP on the local stack and its user pool (moto's cognito-idp; tokens
verified through the pool's JWKS exactly as in AWS): tokens of another pool, expired, id tokens and forged kids
refused; a locked or deleted staff user refused at once; a password change, a sign-out and a reset by OTP ending
earlier sessions; the sign-in guard under parallel guesses and per client IP; OTP verification for account
creation only for an officer with the right."""
from __future__ import annotations

import gzip
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jwt
import pytest
import requests
from requests.adapters import HTTPAdapter

from tests.conftest import assert_problem
from tests.e2e.test_accounts_journey import Desk, auth, fresh_id, fresh_phone, identity, sms_to


class _FromAddress(HTTPAdapter):
    """Connects from another loopback address: the API sees another client IP (requestContext.identity.sourceIp)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_at(address: str) -> requests.Session:
    s = requests.Session()
    s.mount("http://", _FromAddress(address))
    return s


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def moto_signing_key():
    """The key moto's cognito-idp signs every pool's tokens with (kid "dummy"): the local pool's own key."""
    import moto.cognitoidp

    path = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz"
    return jwt.PyJWK(json.loads(gzip.decompress(path.read_bytes())))


@pytest.fixture()
def citizen(api):
    return identity(api.url, "citizen")


# --- tokens the API refuses ---------------------------------------------------------------------------------------

def test_a_token_from_another_pool_is_refused(api, stack):
    import boto3

    from chalicelib.identity.cognito import CognitoDirectory
    from chalicelib.local.cognito_local import deploy_cognito, seed_user

    kwargs = {"endpoint_url": stack.endpoint, "region_name": "ap-southeast-1", "aws_access_key_id": "testing",
              "aws_secret_access_key": "testing"}
    other = deploy_cognito(kwargs, "e2eother")
    directory = CognitoDirectory(other["UserPoolId"], other["CitizenClientId"], other["StaffClientId"],
                                 "ap-southeast-1", client=boto3.client("cognito-idp", **kwargs))
    seed_user(directory, "intruder-operator", "MatKhau2025x", ["operator"])
    foreign = directory.sign_in("intruder-operator", "MatKhau2025x", staff=True).access_token
    assert claims_of(foreign)["cognito:groups"] == ["operator"]
    assert_problem(api.s.get(f"{api.url}/v1/admin/units", headers=auth(foreign)), 401, "TOKEN_INVALID")


def test_an_expired_token_is_refused(api, citizen):
    claims = claims_of(citizen.access_token) | {"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}
    expired = jwt.encode(claims, moto_signing_key().key, algorithm="RS256", headers={"kid": "dummy"})
    assert_problem(api.s.get(f"{api.url}/v1/citizens/me", headers=auth(expired)), 401, "TOKEN_EXPIRED")
    assert api.s.get(f"{api.url}/v1/citizens/me", headers=citizen.headers).status_code == 200


def test_an_id_token_is_refused(api, citizen):
    assert citizen.tokens["id_token"]
    assert_problem(api.s.get(f"{api.url}/v1/citizens/me", headers=auth(citizen.tokens["id_token"])), 401,
                   "TOKEN_INVALID")


@pytest.mark.parametrize("kid", ["forged-kid", "dummy"])
def test_a_token_with_a_forged_key_is_refused(api, citizen, kid):
    from cryptography.hazmat.primitives.asymmetric import rsa

    claims = claims_of(citizen.access_token)
    forged = jwt.encode(claims, rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256",
                        headers={"kid": kid})
    assert_problem(api.s.get(f"{api.url}/v1/citizens/me", headers=auth(forged)), 401, "TOKEN_INVALID")


# --- staff: the directory is checked on every call ---------------------------------------------------------------

def test_a_locked_then_deleted_officer_is_refused_at_once(api):
    desk = Desk(api)
    assert desk.post("/v1/officers/citizen-accounts/query", {}).status_code == 200
    r = api.s.put(f"{api.url}/v1/admin/users/{desk.officer_id}/status", json={"status": "locked"},
                  headers=desk.admin)
    assert r.status_code == 200 and r.json()["status"] == "locked", r.text
    assert_problem(desk.post("/v1/officers/citizen-accounts/query", {}), 401, "TOKEN_REVOKED")
    r = api.s.post(f"{api.url}/v1/auth/staff/sign-in", json={"username": desk.officer_id,
                                                              "password": desk.officer_password})
    assert_problem(r, 401, "SIGN_IN_FAILED")  # disabled in the pool too
    assert api.s.put(f"{api.url}/v1/admin/users/{desk.officer_id}/status", json={"status": "active"},
                     headers=desk.admin).status_code == 200
    assert desk.post("/v1/officers/citizen-accounts/query", {}).status_code == 200
    assert api.s.delete(f"{api.url}/v1/admin/users/{desk.officer_id}", headers=desk.admin).status_code == 204
    assert_problem(desk.post("/v1/officers/citizen-accounts/query", {}), 401, "TOKEN_REVOKED")
    audit = api.s.get(f"{api.url}/v1/admin/users/{desk.officer_id}/audit", headers=desk.admin).json()["items"]
    assert [e["action"] for e in audit][-3:] == ["LOCK_USER", "UNLOCK_USER", "DELETE_USER"]


def test_removing_the_last_unit_takes_the_officer_role_at_once(api):
    desk = Desk(api)
    r = api.s.delete(f"{api.url}/v1/admin/users/{desk.officer_id}/units/{desk.unit}", headers=desk.admin)
    assert r.status_code == 200 and r.json()["roles"] == [], r.text
    assert_problem(desk.post("/v1/officers/citizen-accounts/query", {}), 403, "ROLE_FORBIDDEN")  # same token


def test_otp_verify_for_account_creation_needs_the_right(api):
    desk = Desk(api)
    phone, id_number = fresh_phone(), fresh_id()
    assert desk.post("/v1/otp", {"phone": phone, "purpose": "account_creation", "subject": id_number}).status_code \
        == 202
    no_right = identity(api.url, "officer", unit=desk.unit, grant=False)
    body = {"phone": phone, "purpose": "account_creation", "subject": id_number, "code": "000000"}
    for _ in range(6):
        assert_problem(desk.post("/v1/otp/verify", body, no_right.headers), 403, "CREATE_RIGHT_MISSING")
    code = sms_to(phone)[-1][:6]
    r = desk.post("/v1/otp/verify", {**body, "code": code})
    assert r.status_code == 200, r.text  # the pending code was not locked by the officer without the right
    never_sent = desk.post("/v1/otp/verify", {**body, "phone": fresh_phone()})
    pending_wrong = desk.post("/v1/otp/verify", {**body, "subject": fresh_id()})
    assert (never_sent.status_code, never_sent.json()["code"]) == (pending_wrong.status_code,
                                                                   pending_wrong.json()["code"]) == (422, "OTP_INVALID")


# --- citizens: sessions end ---------------------------------------------------------------------------------------

def test_a_password_change_refuses_earlier_tokens(api, citizen):
    other_device = requests.post(f"{api.url}/v1/auth/sign-in", json={"id_number": citizen.login,
                                                                      "password": citizen.password}).json()
    r = api.s.post(f"{api.url}/v1/citizens/me/password", headers=citizen.headers,
                   json={"current_password": citizen.password, "new_password": "Kh0ngDoan!Duoc77"})
    assert r.status_code == 200, r.text
    for old in (citizen.access_token, other_device["access_token"]):
        assert_problem(api.s.get(f"{api.url}/v1/citizens/me", headers=auth(old)), 401, "TOKEN_REVOKED")
    assert_problem(api.s.post(f"{api.url}/v1/auth/refresh", json={"refresh_token": other_device["refresh_token"]}),
                   401, "REFRESH_TOKEN_INVALID")
    assert api.s.get(f"{api.url}/v1/citizens/me", headers=auth(r.json()["access_token"])).status_code == 200
    refreshed = api.s.post(f"{api.url}/v1/auth/refresh", json={"refresh_token": r.json()["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert api.s.get(f"{api.url}/v1/citizens/me", headers=auth(refreshed.json()["access_token"])).status_code == 200


def test_sign_out_everywhere(api, citizen):
    assert api.s.post(f"{api.url}/v1/auth/sign-out", headers=citizen.headers).status_code == 204
    assert_problem(api.s.get(f"{api.url}/v1/citizens/me", headers=citizen.headers), 401, "TOKEN_REVOKED")
    assert_problem(api.s.post(f"{api.url}/v1/auth/refresh", json={"refresh_token": citizen.tokens["refresh_token"]}),
                   401, "REFRESH_TOKEN_INVALID")


def test_forgotten_password_by_otp_to_the_account_phone(api):
    phone = fresh_phone()
    citizen = identity(api.url, "citizen", phone=phone)
    s, url = api.s, api.url
    unknown = s.post(f"{url}/v1/auth/password-reset/otp", json={"id_number": fresh_id()})
    known = s.post(f"{url}/v1/auth/password-reset/otp", json={"id_number": citizen.login})
    assert unknown.status_code == known.status_code == 202 and unknown.json() == known.json()
    text = sms_to(phone, at_least=2)[-1]  # the seeding's account-creation code, then the reset code
    code = text[:6]
    assert "đặt lại mật khẩu" in text
    body = {"id_number": citizen.login, "code": code, "new_password": "Dat1LaiMatKhau!"}
    time.sleep(1.1)  # the reset refuses the tokens of earlier seconds
    assert s.post(f"{url}/v1/auth/password-reset", json=body).status_code == 204
    assert "vừa được đặt lại" in sms_to(phone, at_least=3)[-1]
    assert_problem(s.get(f"{url}/v1/citizens/me", headers=citizen.headers), 401, "TOKEN_REVOKED")
    assert_problem(s.post(f"{url}/v1/auth/sign-in", json={"id_number": citizen.login,
                                                         "password": citizen.password}), 401, "SIGN_IN_FAILED")
    r = s.post(f"{url}/v1/auth/sign-in", json={"id_number": citizen.login, "password": "Dat1LaiMatKhau!"})
    assert r.status_code == 200 and s.get(f"{url}/v1/citizens/me", headers=auth(r.json()["access_token"])).json()[
        "phone"] == phone
    assert_problem(s.post(f"{url}/v1/auth/password-reset", json=body), 409, "OTP_USED")


def test_phone_change_rechecks_the_password_and_tells_the_old_phone(api):
    old_phone, new_phone = fresh_phone(), fresh_phone()
    citizen = identity(api.url, "citizen", phone=old_phone)
    s, url = api.s, api.url
    assert s.post(f"{url}/v1/otp", headers=citizen.headers, json={
        "phone": new_phone, "purpose": "phone_change", "subject": citizen.subject}).status_code == 202
    r = s.post(f"{url}/v1/otp/verify", headers=citizen.headers, json={
        "phone": new_phone, "purpose": "phone_change", "subject": citizen.subject,
        "code": sms_to(new_phone, at_least=1)[-1][:6]})
    body = {"phone": new_phone, "verification_token": r.json()["verification_token"]}
    assert_problem(s.post(f"{url}/v1/citizens/me/phone", headers=citizen.headers,
                          json={**body, "password": "SaiMatKhau1"}), 422, "CURRENT_PASSWORD_WRONG")
    r = s.post(f"{url}/v1/citizens/me/phone", headers=citizen.headers, json={**body, "password": citizen.password})
    assert r.status_code == 200 and r.json()["phone"] == new_phone, r.text
    assert "đã được đổi sang" in sms_to(old_phone, at_least=2)[-1]


# --- the sign-in guard over HTTP ----------------------------------------------------------------------------------

def _own_address() -> str:
    """A loopback address of this test's own, so that its wrong guesses count against no other test's client."""
    return f"127.0.{uuid.uuid4().int % 200 + 20}.{uuid.uuid4().int % 200 + 20}"


def test_parallel_wrong_guesses_pass_the_check_one_at_a_time(api, citizen):
    wrong = {"id_number": citizen.login, "password": "SaiMatKhau1"}
    guesser = _own_address()
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda _: client_at(guesser).post(f"{api.url}/v1/auth/sign-in", json=wrong,
                                                                  timeout=30), range(12)))
    codes = sorted(a.json()["code"] for a in answers)
    assert codes == ["SIGN_IN_DELAYED"] * 7 + ["SIGN_IN_FAILED"] * 5, codes
    r = api.s.post(f"{api.url}/v1/auth/sign-in", json={"id_number": citizen.login, "password": citizen.password})
    problem = assert_problem(r, 429, "SIGN_IN_DELAYED")
    assert 0 < int(r.headers["Retry-After"]) <= 30 and problem["retry_after_s"] <= 30


def test_wrong_passwords_are_capped_per_client_ip(api, citizen):
    from chalicelib.bootstrap import context

    cap = context().settings.sign_in.client_failures_per_hour
    sprayer = client_at(_own_address())
    for _ in range(cap):
        r = sprayer.post(f"{api.url}/v1/auth/sign-in", json={"id_number": fresh_id(), "password": "MatKhau123"})
        assert r.json()["code"] == "SIGN_IN_FAILED", r.text
    r = sprayer.post(f"{api.url}/v1/auth/sign-in", json={"id_number": citizen.login, "password": citizen.password})
    assert_problem(r, 429, "SIGN_IN_CLIENT_LIMITED")
    r = api.s.post(f"{api.url}/v1/auth/sign-in", json={"id_number": citizen.login, "password": citizen.password})
    assert r.status_code == 200, r.text  # from another address the citizen signs in


def test_make_token_signs_the_seeded_demo_users_in_through_the_pool(api):
    from chalicelib.local import identities
    from chalicelib.local.token import make_token

    identities.seed_demo_users()  # what `make run` does at start (the test stage leaves it out)
    identities.seed_demo_users()  # idempotent: a restart finds them
    for role, path, status in (("citizen", "/v1/citizens/me", 200), ("officer", "/v1/officers/citizen-accounts/query",
                                                                      200),
                               ("operator", "/v1/admin/units", 200), ("province_admin", "/v1/admin/units", 200)):
        token = make_token(["--role", role, "--api", api.url])
        assert jwt.get_unverified_header(token)["kid"] == "dummy"  # the pool's RS256 key, nothing minted locally
        r = api.s.request("POST" if role == "officer" else "GET", f"{api.url}{path}", headers=auth(token),
                          json={} if role == "officer" else None)
        assert r.status_code == status, (role, r.text)
