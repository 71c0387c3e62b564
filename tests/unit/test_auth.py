"""Bearer-token auth: Cognito-style JWKS (RS256) verification and no other issuer on any stage, the directory
check after the signature, roles, header parsing."""
from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
import time
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.identity.adapters import CheckedVerifier, JwksVerifier
from chalicelib.identity.domain import AuthError, ForbiddenError, Principal, Role, parse_bearer, require_roles
from chalicelib.local import token as token_cli
from tests.tokens import issue_hs256_token

REPO_ROOT = Path(__file__).resolve().parents[2]

SECRET = "unit-test-secret-that-is-long-enough-for-hs256-0001"

COGNITO_ISSUER = "https://cognito-idp.ap-southeast-1.amazonaws.com/ap-southeast-1_TEST"
CLIENT_ID = "test-app-client-id"


def _b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


# ---------------------------------------------------------------------------------------------------------------------
# Module hygiene
# ---------------------------------------------------------------------------------------------------------------------


def test_importing_auth_module_does_not_import_jwt():
    code = "import sys, chalicelib.identity.adapters; print('jwt' in sys.modules, 'cryptography' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_error_messages_are_vietnamese_with_diacritics():
    expired = AuthError("TOKEN_EXPIRED")
    assert expired.status == 401
    assert "hết hạn" in expired.message and "đăng nhập" in expired.message
    assert "Mã xác thực không hợp lệ" in AuthError("TOKEN_INVALID").message
    assert "Thiếu mã xác thực" in AuthError("TOKEN_MISSING").message
    assert "không có quyền" in ForbiddenError().message
    for msg in (expired.message, AuthError("TOKEN_INVALID").message, ForbiddenError().message):
        assert unicodedata.is_normalized("NFC", msg)
    with pytest.raises(ValueError):
        AuthError("SOMETHING_ELSE")


# ---------------------------------------------------------------------------------------------------------------------
# JWKS (Cognito-compatible, RS256)
# ---------------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeJwkClient:
    """Stands in for jwt.PyJWKClient: returns a fixed signing key, counts calls, no network."""

    def __init__(self, key):
        self.key = key
        self.calls = 0

    def get_signing_key_from_jwt(self, token):
        self.calls += 1
        return SimpleNamespace(key=self.key, key_id="kid-1")


def _cognito_claims(token_use="id", **overrides):
    now = int(time.time())
    claims = {
        "sub": "2f1c-citizen",
        "iss": COGNITO_ISSUER,
        "iat": now,
        "exp": now + 3600,
        "token_use": token_use,
        "cognito:groups": ["citizen"],
        "custom:province_code": "35",
    }
    if token_use == "id":
        claims["aud"] = CLIENT_ID
    else:
        claims["client_id"] = CLIENT_ID
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _rs256(private_key, claims):
    return jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": "kid-1"})


def _jwks_verifier(public_key, audience=CLIENT_ID, client_id=CLIENT_ID):
    client = FakeJwkClient(public_key)
    return JwksVerifier("https://example.invalid/.well-known/jwks.json", COGNITO_ISSUER, audience, client_id,
                        jwk_client=client), client


def test_roles_come_from_groups_and_province_and_units_never_from_claims(rsa_key):
    verifier, _ = _jwks_verifier(rsa_key.public_key())
    now = int(time.time())
    p = verifier.verify(_rs256(rsa_key, _cognito_claims(
        "id", **{"cognito:groups": ["province_admin", "some-other-group"], "custom:province_code": "01",
                 "custom:unit_codes": "000.00.00.H01", "province_code": "01", "unit_codes": ["000.00.00.H01"],
                 "cognito:username": "pa-01", "origin_jti": "session-1", "iat": now, "exp": now + 600})))
    assert p == Principal(subject="2f1c-citizen", roles=frozenset({Role.PROVINCE_ADMIN}), province_code=None,
                          unit_codes=(), issuer=COGNITO_ISSUER, expires_at=now + 600)
    assert (p.username, p.session_id, p.issued_at, p.client_id) == ("pa-01", "session-1", now, CLIENT_ID)


def test_unknown_roles_are_ignored_and_no_known_role_gives_empty_roles(rsa_key):
    verifier, _ = _jwks_verifier(rsa_key.public_key())
    p = verifier.verify(_rs256(rsa_key, _cognito_claims(
        "id", roles=["superuser", "admin"], **{"cognito:groups": "operator"})))  # a bare string is not a list
    assert p.roles == frozenset() and not p.has_role(*Role)


def test_tokens_never_appear_in_logs_or_errors(rsa_key, caplog):
    verifier, _ = _jwks_verifier(rsa_key.public_key())
    token = _rs256(rsa_key, _cognito_claims("id"))
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthError) as ei:
        verifier.verify(tampered)
    signature = tampered.rsplit(".", 1)[1]
    for text in (caplog.text, str(ei.value), repr(ei.value), ei.value.reason, ei.value.message):
        assert tampered not in text and signature not in text


def test_checked_verifier_runs_the_directory_check_after_the_signature(rsa_key):
    verifier, _ = _jwks_verifier(rsa_key.public_key())
    seen = []

    def check(p):
        seen.append(p.subject)
        if p.subject == "locked":
            raise AuthError("TOKEN_REVOKED", reason="locked")
        return Principal("account-1", p.roles, "000.00.00.H35", (), p.issuer, p.expires_at)

    checked = CheckedVerifier(verifier, check)
    assert checked.verify(_rs256(rsa_key, _cognito_claims("id"))).province_code == "000.00.00.H35"
    with pytest.raises(AuthError) as ei:
        checked.verify(_rs256(rsa_key, _cognito_claims("id", sub="locked")))
    assert ei.value.code == "TOKEN_REVOKED" and "đăng nhập lại" in ei.value.message
    with pytest.raises(AuthError):  # a bad signature never reaches the check
        checked.verify(_rs256(rsa_key, _cognito_claims("id"))[:-4] + "AAAA")
    assert seen == ["2f1c-citizen", "locked"]


def test_jwks_id_token_happy_path(rsa_key):
    verifier, client = _jwks_verifier(rsa_key.public_key())
    p = verifier.verify(_rs256(rsa_key, _cognito_claims("id")))
    assert p.subject == "2f1c-citizen"
    assert p.roles == frozenset({Role.CITIZEN})
    assert p.province_code is None  # custom:province_code is ignored: scope is the directory's
    assert p.issuer == COGNITO_ISSUER
    assert client.calls == 1


def test_jwks_access_token_checks_client_id_not_aud(rsa_key):
    verifier, _ = _jwks_verifier(rsa_key.public_key(), audience=None, client_id=CLIENT_ID)
    p = verifier.verify(_rs256(rsa_key, _cognito_claims("access", **{"cognito:groups": ["officer"]})))
    assert p.roles == frozenset({Role.OFFICER})
    with pytest.raises(AuthError) as ei:
        verifier.verify(_rs256(rsa_key, _cognito_claims("access", client_id="another-client")))
    assert ei.value.code == "TOKEN_INVALID"


def test_jwks_id_token_with_wrong_audience_is_refused(rsa_key):
    verifier, _ = _jwks_verifier(rsa_key.public_key())
    with pytest.raises(AuthError) as ei:
        verifier.verify(_rs256(rsa_key, _cognito_claims("id", aud="another-client")))
    assert ei.value.code == "TOKEN_INVALID"


def test_jwks_wrong_key_is_refused(rsa_key, other_rsa_key):
    verifier, _ = _jwks_verifier(rsa_key.public_key())
    with pytest.raises(AuthError) as ei:
        verifier.verify(_rs256(other_rsa_key, _cognito_claims("id")))
    assert ei.value.code == "TOKEN_INVALID"


def test_jwks_wrong_issuer_is_refused(rsa_key):
    verifier, _ = _jwks_verifier(rsa_key.public_key())
    with pytest.raises(AuthError) as ei:
        verifier.verify(_rs256(rsa_key, _cognito_claims("id", iss="https://cognito-idp.example/other-pool")))
    assert ei.value.code == "TOKEN_INVALID"


def test_jwks_expired_is_token_expired(rsa_key):
    verifier, _ = _jwks_verifier(rsa_key.public_key())
    old = int(time.time()) - 7200
    with pytest.raises(AuthError) as ei:
        verifier.verify(_rs256(rsa_key, _cognito_claims("id", iat=old, exp=old + 3600)))
    assert ei.value.code == "TOKEN_EXPIRED"


@pytest.mark.parametrize("token_use", [None, "refresh", "ID"])
def test_jwks_token_use_must_be_id_or_access(rsa_key, token_use):
    verifier, _ = _jwks_verifier(rsa_key.public_key())
    claims = _cognito_claims("id", client_id=CLIENT_ID)  # both aud and client_id match: only token_use can refuse
    claims.pop("token_use")
    if token_use is not None:
        claims["token_use"] = token_use
    with pytest.raises(AuthError) as ei:
        verifier.verify(_rs256(rsa_key, claims))
    assert ei.value.code == "TOKEN_INVALID"


def test_jwks_refuses_hs256_token_even_if_the_key_source_hands_out_that_secret():
    # Algorithm confusion: if the verifier trusted the header's alg, an HS256 token signed with whatever the key
    # source returns (here an "oct" secret) would pass.
    secret = b"symmetric-secret-published-by-mistake-000000000001"
    verifier, client = _jwks_verifier(secret)
    token = jwt.encode(_cognito_claims("id"), secret, algorithm="HS256", headers={"kid": "kid-1"})
    with pytest.raises(AuthError) as ei:
        verifier.verify(token)
    assert ei.value.code == "TOKEN_INVALID"
    assert client.calls == 0  # refused before fetching any key


def test_jwks_refuses_hs256_token_signed_with_the_public_key_pem(rsa_key):
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": "kid-1"})
    body = _b64(_cognito_claims("id"))
    import hashlib
    import hmac

    sig = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
    verifier, _ = _jwks_verifier(rsa_key.public_key())
    with pytest.raises(AuthError) as ei:
        verifier.verify(token)
    assert ei.value.code == "TOKEN_INVALID"


def test_jwks_alg_none_is_refused(rsa_key):
    verifier, _ = _jwks_verifier(rsa_key.public_key())
    unsigned = f"{_b64({'alg': 'none', 'kid': 'kid-1'})}.{_b64(_cognito_claims('id'))}."
    with pytest.raises(AuthError) as ei:
        verifier.verify(unsigned)
    assert ei.value.code == "TOKEN_INVALID"


def test_jwks_unknown_kid_is_token_invalid(rsa_key):
    class NoKeyClient:
        def get_signing_key_from_jwt(self, token):
            raise jwt.PyJWKClientError("Unable to find a signing key that matches")

    verifier = JwksVerifier("https://example.invalid/jwks", COGNITO_ISSUER, CLIENT_ID, None, jwk_client=NoKeyClient())
    with pytest.raises(AuthError) as ei:
        verifier.verify(_rs256(rsa_key, _cognito_claims("id")))
    assert ei.value.code == "TOKEN_INVALID"


def test_jwks_unreachable_endpoint_is_not_reported_as_a_bad_token(rsa_key):
    class DownClient:
        def get_signing_key_from_jwt(self, token):
            raise jwt.PyJWKClientConnectionError("Fail to fetch data from the url")

    verifier = JwksVerifier("https://example.invalid/jwks", COGNITO_ISSUER, CLIENT_ID, None, jwk_client=DownClient())
    with pytest.raises(jwt.PyJWKClientConnectionError):
        verifier.verify(_rs256(rsa_key, _cognito_claims("id")))


def test_jwks_client_is_created_lazily_once():
    verifier = JwksVerifier("https://example.invalid/jwks", COGNITO_ISSUER, CLIENT_ID, None)
    assert verifier._jwk_client is None  # nothing built (or fetched) at construction
    first = verifier._client()
    assert isinstance(first, jwt.PyJWKClient)
    assert verifier._client() is first


def test_jwks_verifier_requires_an_expected_client():
    with pytest.raises(ValueError):
        JwksVerifier("https://example.invalid/jwks", COGNITO_ISSUER, None, None)


def _access_only_verifier(public_key, **kw):
    return JwksVerifier("https://example.invalid/jwks", COGNITO_ISSUER, None, None, jwk_client=FakeJwkClient(public_key),
                        token_uses=("access",), client_roles={CLIENT_ID: ["citizen"], "staff-client": ["officer"]},
                        **kw)


def test_jwks_client_roles_keep_only_the_roles_the_issuing_client_may_carry(rsa_key):
    verifier = _access_only_verifier(rsa_key.public_key())
    groups = {"cognito:groups": ["citizen", "officer"]}
    citizen = verifier.verify(_rs256(rsa_key, _cognito_claims("access", **groups)))
    assert citizen.roles == frozenset({Role.CITIZEN}) and citizen.client_id == CLIENT_ID
    staff = verifier.verify(_rs256(rsa_key, _cognito_claims("access", client_id="staff-client", **groups)))
    assert staff.roles == frozenset({Role.OFFICER}) and staff.client_id == "staff-client"
    with pytest.raises(AuthError) as ei:
        verifier.verify(_rs256(rsa_key, _cognito_claims("access", client_id="another-client")))
    assert ei.value.code == "TOKEN_INVALID"


def test_jwks_access_only_verifier_refuses_id_tokens(rsa_key):
    with pytest.raises(AuthError) as ei:
        _access_only_verifier(rsa_key.public_key()).verify(_rs256(rsa_key, _cognito_claims("id")))
    assert ei.value.code == "TOKEN_INVALID"
    with pytest.raises(ValueError):
        JwksVerifier("https://example.invalid/jwks", COGNITO_ISSUER, CLIENT_ID, None, token_uses=("refresh",))


def test_jwks_times_are_checked_against_the_injected_clock(rsa_key):
    now = int(time.time())
    token = _rs256(rsa_key, _cognito_claims("access", iat=now, exp=now + 900))
    assert _access_only_verifier(rsa_key.public_key(), clock=lambda: now + 900 + 29).verify(token).issued_at == now
    for clock, code in ((lambda: now + 900 + 31, "TOKEN_EXPIRED"), (lambda: now - 60, "TOKEN_INVALID")):
        with pytest.raises(AuthError) as ei:
            _access_only_verifier(rsa_key.public_key(), clock=clock).verify(token)
        assert ei.value.code == code


# ---------------------------------------------------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------------------------------------------------


def _principal(*roles: Role) -> Principal:
    return Principal("s", frozenset(roles), None, (), COGNITO_ISSUER, 0)


def test_require_roles_refuses_missing_role_with_403():
    with pytest.raises(ForbiddenError) as ei:
        require_roles(_principal(Role.CITIZEN), Role.OFFICER, Role.PROVINCE_ADMIN)
    assert ei.value.code == "ROLE_FORBIDDEN"
    assert ei.value.status == 403
    assert not isinstance(ei.value, AuthError)  # an `except AuthError` (401) must not swallow it


def test_require_roles_accepts_any_of_the_roles_and_strings():
    p = _principal(Role.PROVINCE_ADMIN)
    assert require_roles(p, Role.OFFICER, Role.PROVINCE_ADMIN) is p
    assert require_roles(p, "province_admin") is p
    with pytest.raises(ForbiddenError):
        require_roles(_principal(), Role.CITIZEN)
    with pytest.raises(TypeError):
        require_roles(p)


# ---------------------------------------------------------------------------------------------------------------------
# Authorization header
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [("Bearer abc.def.ghi", "abc.def.ghi"), ("bearer x", "x"), ("BEARER  x ", "x"), ("  Bearer x", "x")],
)
def test_parse_bearer_extracts_token(value, expected):
    assert parse_bearer(value) == expected


@pytest.mark.parametrize("value", [None, "", "Basic x", "Bearer ", "Bearer", "Bearerx", "Token x"])
def test_parse_bearer_missing(value):
    with pytest.raises(AuthError) as ei:
        parse_bearer(value)
    assert ei.value.code == "TOKEN_MISSING"


def test_parse_bearer_token_with_inner_space_is_invalid():
    with pytest.raises(AuthError) as ei:
        parse_bearer("Bearer a b")
    assert ei.value.code == "TOKEN_INVALID"


# ---------------------------------------------------------------------------------------------------------------------
# No local issuer on any stage
# ---------------------------------------------------------------------------------------------------------------------


def test_every_stage_verifies_the_pools_rs256_tokens_and_nothing_else(rsa_key):
    """The HS256 dev issuer is gone: the local stack verifies moto's pool through its JWKS exactly as AWS."""
    from chalicelib.bootstrap import make_token_verifier
    from chalicelib.config import Settings

    pool = {"cognito_user_pool_id": "ap-southeast-1_POOL", "cognito_citizen_client_id": "cit",
            "cognito_staff_client_id": "stf"}
    for stage, endpoint in (("prod", ""), ("dev", ""), ("local", "http://127.0.0.1:5000"), ("test", "http://x:1")):
        v = make_token_verifier(Settings(stage=stage, aws_endpoint_url=endpoint, **pool))
        assert isinstance(v, JwksVerifier) and v.ALGORITHM == "RS256" and v.token_uses == ("access",)
        assert v.issuer == "https://cognito-idp.ap-southeast-1.amazonaws.com/ap-southeast-1_POOL"
        assert v.jwks_url == f"{endpoint or 'https://cognito-idp.ap-southeast-1.amazonaws.com'}/" \
                             "ap-southeast-1_POOL/.well-known/jwks.json"
    with pytest.raises(RuntimeError):
        make_token_verifier(Settings(stage="prod"))
    hs256 = issue_hs256_token(SECRET, v.issuer, "cit", "x", ["operator"])
    with pytest.raises(AuthError):
        v.verify(hs256)
    import chalicelib.identity.adapters as adapters

    assert not any("local" in name.lower() for name in vars(adapters))


def test_cli_signs_a_demo_user_in_through_the_api(monkeypatch, capsys):
    calls = []

    class _Answer:
        status_code = 200

        def json(self):
            return {"access_token": "a.b.c", "refresh_token": "r", "must_change_password": False}

    def post(url, json, timeout):
        calls.append((url, json))
        return _Answer()

    monkeypatch.setattr("chalicelib.local.identities.requests.post", post)
    assert token_cli.main(["--role", "officer", "--api", "http://127.0.0.1:9"]) == 0
    assert capsys.readouterr().out == "a.b.c\n"
    assert calls[0][0] == "http://127.0.0.1:9/v1/auth/staff/sign-in" and calls[0][1]["username"] == "demo-officer"
    assert token_cli.make_token(["--role", "citizen", "--refresh"]) == "r"
    assert calls[1][0].endswith("/v1/auth/sign-in") and calls[1][1]["id_number"] == "035095001234"


def test_deployed_stage_without_a_gateway_url_never_redirects_to_localhost(monkeypatch):
    from chalicelib.config import get_settings

    monkeypatch.setenv("APP_STAGE", "prod")
    monkeypatch.delenv("BANK_GATEWAY_BASE_URL", raising=False)
    monkeypatch.delenv("BANK_GATEWAY_URLS", raising=False)
    settings = get_settings.__wrapped__()  # uncached: leaves the process's settings alone
    with pytest.raises(RuntimeError):
        settings.bank_gateway_url("VCB")
