"""The Cognito adapter and the token verifier against moto's cognito-idp over HTTP, with the user pool created from
infra/resources.json by chalicelib.local.cognito_local (moto's CloudFormation cannot create Cognito resources).
Tests named ``test_moto_...`` pin what moto 5.2.5 does not enforce, so that an upgrade that changes it shows here.
"""
from __future__ import annotations

import itertools
import time
import urllib.request

import boto3
import jwt
import pytest
import requests
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.core.hashing import HmacKeyring
from chalicelib.identity.cognito import CognitoDirectory, cognito_issuer, cognito_jwks_url, cognito_verifier
from chalicelib.identity.domain import AuthError, Role
from chalicelib.identity.ports import (
    GroupNotFound,
    NewPasswordChallenge,
    NotAuthorized,
    PasswordPolicyViolation,
    SignInContext,
    Tokens,
    UserDisabled,
    UserExists,
    UserNotFound,
)
from chalicelib.local.cognito_local import deploy_cognito, seed_user
from chalicelib.local.devkeys import LOCAL_ID_HASH_KEY
from chalicelib.local.stack import start_moto

REGION = "ap-southeast-1"
# Not "dev"/"test": moto servers in one process share their backends (pools are found by name).
STAGE, OTHER_STAGE = "cognitotest", "cognitoother"
TEMP, FIRST, SECOND = "Tam7thoi9Xy", "MatKhau2025", "MatKhauMoi2026"
PHONE = "+84912345678"
ULID = "01JABCDEFGHJKMNPQRSTVWXYZ0"
_numbers = itertools.count(1)
_keys = HmacKeyring(lambda: LOCAL_ID_HASH_KEY.encode())


@pytest.fixture(scope="module")
def moto():
    server, endpoint = start_moto()
    kwargs = {"endpoint_url": endpoint, "region_name": REGION,
              "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    yield endpoint, kwargs
    server.stop()


@pytest.fixture(scope="module")
def pool(moto):
    return deploy_cognito(moto[1], STAGE)


@pytest.fixture(scope="module")
def idp(moto):
    return boto3.client("cognito-idp", **moto[1])


@pytest.fixture(scope="module")
def directory(pool, idp):
    return CognitoDirectory(pool["UserPoolId"], pool["CitizenClientId"], pool["StaffClientId"], REGION, client=idp)


def verifier_for(moto, pool, **options):
    return cognito_verifier(REGION, pool["UserPoolId"], pool["CitizenClientId"], pool["StaffClientId"],
                            endpoint_url=moto[0], **options)


@pytest.fixture(scope="module")
def verifier(moto, pool):  # the API's verifier: access tokens only, the pool's two clients
    return verifier_for(moto, pool)


def new_username() -> str:
    """A citizen's username: the HMAC of a fresh ID number (never the number itself)."""
    return _keys.id_hash(f"0350950{next(_numbers):05d}")


def signed_in_citizen(directory, password=FIRST) -> tuple[str, Tokens]:
    username = new_username()
    directory.create_citizen(username, TEMP, PHONE, {"account_id": ULID})
    challenge = directory.sign_in(username, TEMP)
    directory.answer_new_password(challenge.session, username, password)
    return username, directory.sign_in(username, password)


def claims_of(token: str) -> dict:  # unverified: what moto put in the token
    return jwt.decode(token, options={"verify_signature": False})


def refused(verifier, token: str) -> str:
    with pytest.raises(AuthError) as exc:
        verifier.verify(token)
    return exc.value.code


# --- the pool from the template -----------------------------------------------------------------------------------

def test_pool_is_created_from_the_template_with_its_settings(moto, pool, idp):
    described = idp.describe_user_pool(UserPoolId=pool["UserPoolId"])["UserPool"]
    assert described["Name"] == f"lfo-{STAGE}-users"
    assert described["DeletionProtection"] == "INACTIVE"  # ACTIVE on prod only (IsProd), like the tables
    assert described["AccountRecoverySetting"]["RecoveryMechanisms"] == [{"Priority": 1, "Name": "admin_only"}]
    assert described["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert described["Policies"]["PasswordPolicy"]["MinimumLength"] == 8
    assert described["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    assert described["UserPoolTier"] == "PLUS"
    custom = [a for a in described["SchemaAttributes"] if a["Name"].startswith("custom:")]
    assert custom and all(a["Mutable"] is False for a in custom)
    groups = {g["GroupName"] for g in idp.list_groups(UserPoolId=pool["UserPoolId"])["Groups"]}
    assert groups == {r.value for r in Role}
    assert idp.list_identity_providers(UserPoolId=pool["UserPoolId"], MaxResults=10)["Providers"] == []
    for client_id, access_minutes in ((pool["CitizenClientId"], 30), (pool["StaffClientId"], 15)):
        client = idp.describe_user_pool_client(UserPoolId=pool["UserPoolId"], ClientId=client_id)["UserPoolClient"]
        assert "ClientSecret" not in client
        assert client["ExplicitAuthFlows"] == ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
        assert client["AccessTokenValidity"] == access_minutes
        assert client["TokenValidityUnits"]["AccessToken"] == "minutes"
        assert client["RefreshTokenValidity"] <= 30 * 24 and client["TokenValidityUnits"]["RefreshToken"] == "hours"
        assert not any(a.startswith(("custom:", "phone")) for a in client["WriteAttributes"])
    assert deploy_cognito(moto[1], STAGE) == pool  # deploying again reuses the pool and its clients


def test_portal_identity_provider_exists_only_once_operations_configure_it(moto, idp):
    outputs = deploy_cognito(moto[1], "cognitoidp", parameters={
        "PortalIdpIssuer": "https://sso.dichvucong.example", "PortalIdpClientId": "lfo-client",
        "PortalIdpClientSecret": "not-a-real-secret"})
    provider = idp.describe_identity_provider(UserPoolId=outputs["UserPoolId"], ProviderName="dvcqg")
    assert provider["IdentityProvider"]["ProviderDetails"]["oidc_issuer"] == "https://sso.dichvucong.example"
    citizens = idp.describe_user_pool_client(UserPoolId=outputs["UserPoolId"],
                                             ClientId=outputs["CitizenClientId"])["UserPoolClient"]
    assert citizens["SupportedIdentityProviders"] == ["COGNITO", "dvcqg"]
    assert outputs["PortalIdpName"] == "dvcqg" and outputs["UserPoolDomainName"]


# --- citizens: creation, first sign-in, passwords -------------------------------------------------------------

def test_citizen_first_sign_in_answers_the_new_password_challenge(directory, verifier, pool, idp):
    username = new_username()
    created = directory.create_citizen(username, TEMP, PHONE, {"account_id": ULID})
    user = idp.admin_get_user(UserPoolId=pool["UserPoolId"], Username=username)
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert {"Name": "phone_number_verified", "Value": "true"} in user["UserAttributes"]
    challenge = directory.sign_in(username, TEMP, context=SignInContext("203.113.1.2", "api.example", "/v1/sign-in"))
    assert isinstance(challenge, NewPasswordChallenge)
    tokens = directory.answer_new_password(challenge.session, username, FIRST)
    assert verifier.verify(tokens.access_token).subject == created.sub
    with pytest.raises(NotAuthorized):  # the challenge session is single use
        directory.answer_new_password(challenge.session, username, SECOND)
    again = directory.sign_in(username, FIRST)
    principal = verifier.verify(again.access_token)
    assert principal.subject == created.sub and principal.roles == frozenset({Role.CITIZEN})
    assert principal.client_id == pool["CitizenClientId"] and principal.issued_at <= time.time()
    with pytest.raises(NotAuthorized):  # the temporary password is gone
        directory.sign_in(username, TEMP)


def test_access_token_claims_are_cognito_shaped(directory, pool):
    username, tokens = signed_in_citizen(directory)
    claims = claims_of(tokens.access_token)
    assert jwt.get_unverified_header(tokens.access_token)["alg"] == "RS256"
    assert claims["iss"] == cognito_issuer(REGION, pool["UserPoolId"])
    assert claims["token_use"] == "access" and claims["client_id"] == pool["CitizenClientId"]
    assert claims["username"] == username and "aud" not in claims
    assert claims["cognito:groups"] == ["citizen"]
    assert claims_of(tokens.id_token)["aud"] == pool["CitizenClientId"]


def test_wrong_password_and_unknown_user_are_the_same_refusal(directory):
    username, _ = signed_in_citizen(directory)
    with pytest.raises(NotAuthorized) as wrong:
        directory.sign_in(username, "SaiMatKhau1")
    with pytest.raises(NotAuthorized) as unknown:
        directory.sign_in(new_username(), "SaiMatKhau1")
    assert type(wrong.value) is type(unknown.value) is NotAuthorized
    assert username not in str(wrong.value) and username not in repr(wrong.value)


def test_the_pool_policy_refuses_a_password_without_digits(directory):
    username = new_username()
    directory.create_citizen(username, TEMP, PHONE)
    challenge = directory.sign_in(username, TEMP)
    with pytest.raises(PasswordPolicyViolation):
        directory.answer_new_password(challenge.session, username, "khongcoso")


def test_creating_the_same_citizen_twice_is_refused(directory):
    username = new_username()
    directory.create_citizen(username, TEMP, PHONE)
    with pytest.raises(UserExists):
        directory.create_citizen(username, TEMP, PHONE)


def test_password_change_with_the_access_token(directory):
    username, tokens = signed_in_citizen(directory)
    with pytest.raises(NotAuthorized):
        directory.change_password(tokens.access_token, "SaiMatKhau1", SECOND)
    directory.change_password(tokens.access_token, FIRST, SECOND)
    assert isinstance(directory.sign_in(username, SECOND), Tokens)
    with pytest.raises(NotAuthorized):
        directory.sign_in(username, FIRST)


def test_reset_after_the_portal_otp_sets_the_password_and_signs_out_everywhere(directory):
    username, tokens = signed_in_citizen(directory)
    directory.admin_set_password(username, SECOND, permanent=True)
    directory.sign_out_everywhere(username)
    with pytest.raises(NotAuthorized):
        directory.refresh(tokens.refresh_token)
    with pytest.raises(NotAuthorized):
        directory.sign_in(username, FIRST)
    assert isinstance(directory.sign_in(username, SECOND), Tokens)


def test_a_temporary_password_set_by_an_administrator_brings_the_challenge_back(directory):
    username, _ = signed_in_citizen(directory)
    directory.admin_set_password(username, TEMP, permanent=False)
    assert isinstance(directory.sign_in(username, TEMP), NewPasswordChallenge)


def test_cognitos_own_forgotten_password_flow_is_switched_off(directory, idp):
    username, _ = signed_in_citizen(directory)
    with pytest.raises(ClientError) as exc:
        idp.forgot_password(ClientId=directory.citizen_client_id, Username=username)
    assert exc.value.response["Error"]["Code"] == "NotAuthorizedException"  # admin_only recovery


# --- sessions -------------------------------------------------------------------------------------------------

def test_sign_out_everywhere_revokes_refresh_tokens(directory, verifier, idp):
    username, tokens = signed_in_citizen(directory)
    other_device = directory.sign_in(username, FIRST)
    assert verifier.verify(directory.refresh(tokens.refresh_token).access_token).roles == {Role.CITIZEN}
    directory.sign_out_everywhere(username)
    for refresh_token in (tokens.refresh_token, other_device.refresh_token):
        with pytest.raises(NotAuthorized):
            directory.refresh(refresh_token)
    with pytest.raises(ClientError):  # Cognito's own APIs refuse the access token at once ...
        idp.get_user(AccessToken=tokens.access_token)
    # ... but a JWT checked offline stays valid until it expires: what issued_at is for.
    principal = verifier.verify(tokens.access_token)
    assert principal.issued_at is not None and principal.issued_at <= int(time.time())


def test_a_disabled_user_is_refused_until_enabled(directory):
    username, tokens = signed_in_citizen(directory)
    directory.disable(username)
    with pytest.raises(UserDisabled):
        directory.sign_in(username, FIRST)
    with pytest.raises(NotAuthorized):
        directory.refresh(tokens.refresh_token)
    directory.enable(username)
    assert isinstance(directory.sign_in(username, FIRST), Tokens)


def test_a_deleted_user_can_no_longer_sign_in(directory):
    username, tokens = signed_in_citizen(directory)
    directory.delete(username)
    with pytest.raises(NotAuthorized):
        directory.sign_in(username, FIRST)
    with pytest.raises(NotAuthorized):
        directory.refresh(tokens.refresh_token)
    with pytest.raises(UserNotFound):
        directory.groups_of(username)


# --- staff and groups -----------------------------------------------------------------------------------------

def test_staff_roles_are_group_memberships_carried_by_the_staff_client(directory, verifier):
    username = f"staff-{next(_numbers)}"
    directory.create_staff(username, TEMP, ["officer"], PHONE)
    challenge = directory.sign_in(username, TEMP, staff=True)
    tokens = directory.answer_new_password(challenge.session, username, FIRST, staff=True)
    assert verifier.verify(tokens.access_token).roles == {Role.OFFICER}
    directory.add_to_group(username, "province_admin")
    assert directory.groups_of(username) == ["officer", "province_admin"]
    refreshed = directory.refresh(tokens.refresh_token, staff=True)
    assert verifier.verify(refreshed.access_token).roles == {Role.OFFICER, Role.PROVINCE_ADMIN}
    directory.remove_from_group(username, "officer")
    assert directory.groups_of(username) == ["province_admin"]
    with pytest.raises(GroupNotFound):
        directory.add_to_group(username, "superuser")
    with pytest.raises(ValueError):  # staff accounts need staff groups
        directory.create_staff(f"staff-{next(_numbers)}", TEMP, ["citizen"])


def test_a_staff_group_on_a_citizen_client_token_grants_nothing(directory, verifier):
    username, _ = signed_in_citizen(directory)
    directory.add_to_group(username, "operator")
    tokens = directory.sign_in(username, FIRST)
    assert "operator" in claims_of(tokens.access_token)["cognito:groups"]
    assert verifier.verify(tokens.access_token).roles == {Role.CITIZEN}


def test_seeded_demo_users_sign_in_without_a_challenge(directory, verifier):
    for role, username in (("officer", "demo-officer"), ("citizen", new_username())):
        sub = seed_user(directory, username, FIRST, [role])
        assert seed_user(directory, username, FIRST, [role]) == sub  # idempotent
        tokens = directory.sign_in(username, FIRST, staff=role != "citizen")
        assert verifier.verify(tokens.access_token).roles == {Role(role)}


# --- the verifier against the pool's JWKS ---------------------------------------------------------------------

def test_the_jwks_is_served_by_moto_at_the_aws_path(moto, pool):
    url = cognito_jwks_url(REGION, pool["UserPoolId"], moto[0])
    keys = requests.get(url, timeout=5).json()["keys"]
    assert [k["kty"] for k in keys] == ["RSA"] and all(k["kid"] for k in keys)
    assert cognito_jwks_url(REGION, pool["UserPoolId"]) == cognito_issuer(REGION, pool["UserPoolId"]) + \
        "/.well-known/jwks.json"


def test_an_expired_token_is_refused(moto, pool, directory):
    _, tokens = signed_in_citizen(directory)
    lifetime = claims_of(tokens.access_token)["exp"] - claims_of(tokens.access_token)["iat"]
    later = verifier_for(moto, pool, clock=lambda: time.time() + lifetime + 60)
    assert refused(later, tokens.access_token) == "TOKEN_EXPIRED"


def test_an_id_token_is_refused(directory, verifier):
    assert refused(verifier, signed_in_citizen(directory)[1].id_token) == "TOKEN_INVALID"


def test_a_token_from_another_pool_is_refused(moto, directory, verifier):
    other = deploy_cognito(moto[1], OTHER_STAGE)
    _, tokens = signed_in_citizen(CognitoDirectory(other["UserPoolId"], other["CitizenClientId"],
                                                   other["StaffClientId"], REGION, client=directory._idp))
    assert refused(verifier, tokens.access_token) == "TOKEN_INVALID"
    # moto signs every pool's tokens with one key: only iss and client_id tell the pools apart locally.
    assert verifier_for(moto, other).verify(tokens.access_token).roles == {Role.CITIZEN}


def test_a_token_from_another_client_of_the_same_pool_is_refused(directory, verifier, pool, idp):
    extra = idp.create_user_pool_client(UserPoolId=pool["UserPoolId"], ClientName=f"extra-{next(_numbers)}",
                                        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"])["UserPoolClient"]
    username, _ = signed_in_citizen(directory)
    result = idp.admin_initiate_auth(UserPoolId=pool["UserPoolId"], ClientId=extra["ClientId"],
                                     AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": username, "PASSWORD": FIRST})
    assert refused(verifier, result["AuthenticationResult"]["AccessToken"]) == "TOKEN_INVALID"


@pytest.mark.parametrize("kid", ["forged-kid", "dummy"])
def test_a_token_signed_with_another_key_is_refused(directory, verifier, kid):
    _, tokens = signed_in_citizen(directory)
    claims = claims_of(tokens.access_token) | {"cognito:groups": ["operator"]}
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, attacker, algorithm="RS256", headers={"kid": kid})
    assert refused(verifier, forged) == "TOKEN_INVALID"


def test_the_jwks_is_fetched_once_then_cached(moto, pool, directory, monkeypatch):
    fetched: list[str] = []
    real_open = urllib.request.OpenerDirector.open

    def counting_open(self, request, *args, **kwargs):
        url = request if isinstance(request, str) else request.full_url
        if url.endswith("/.well-known/jwks.json"):
            fetched.append(url)
        return real_open(self, request, *args, **kwargs)

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", counting_open)
    fresh = verifier_for(moto, pool)
    assert fetched == []  # nothing fetched before the first token
    tokens = [signed_in_citizen(directory)[1].access_token for _ in range(3)]
    for token in tokens * 2:
        fresh.verify(token)
    assert fetched == [cognito_jwks_url(REGION, pool["UserPoolId"], moto[0])]
    forged = jwt.encode(claims_of(tokens[0]), rsa.generate_private_key(public_exponent=65537, key_size=2048),
                        algorithm="RS256", headers={"kid": "unknown-kid"})
    for _ in range(5):  # unknown kids do not turn into one JWKS fetch each
        assert refused(fresh, forged) == "TOKEN_INVALID"
    assert len(fetched) == 1


# --- what moto does not enforce (pinned, see the report in the module docstring) -------------------------------

def test_moto_ignores_the_configured_token_lifetimes(directory):
    _, tokens = signed_in_citizen(directory)
    claims = claims_of(tokens.access_token)
    assert claims["exp"] - claims["iat"] == 3600 != 30 * 60  # the template says 30 minutes


def test_moto_does_not_enforce_write_attributes_or_immutability(directory, pool, idp):
    username, tokens = signed_in_citizen(directory)
    idp.update_user_attributes(AccessToken=tokens.access_token,
                               UserAttributes=[{"Name": "phone_number", "Value": "+84987654321"}])
    idp.admin_update_user_attributes(UserPoolId=pool["UserPoolId"], Username=username,
                                     UserAttributes=[{"Name": "custom:account_id", "Value": "X" * 26}])
    user = idp.admin_get_user(UserPoolId=pool["UserPoolId"], Username=username)
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes["phone_number"] == "+84987654321" and attributes["custom:account_id"] == "X" * 26
