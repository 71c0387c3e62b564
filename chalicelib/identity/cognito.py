"""Amazon Cognito behind the user directory port (identity.ports.UserDirectory), and the verifier of its tokens.

The same code runs against AWS and against the embedded stack's moto server (botocore honours AWS_ENDPOINT_URL);
what differs is only where the JWKS is fetched from (:func:`cognito_jwks_url`). Notes on moto 5.2.5, which the
local stack and the integration tests use, are where the code works around it.

Rules kept here:

* Only the back end signs users in (ADMIN_USER_PASSWORD_AUTH: IAM credentials, and the real client's IP passed to
  threat protection as ContextData). Refresh uses the public InitiateAuth (no client secret; moto's
  AdminInitiateAuth answers 500 to an unknown refresh token).
* Sign-in never tells "no such user" from "wrong password" (NotAuthorized for both).
* Cognito's own messages are never sent: MessageAction=SUPPRESS (the portal sends the temporary password by SMS).
* Errors become the port's named exceptions, raised ``from None``: Cognito's messages may echo the username and the
  botocore error must not carry it into logs.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from chalicelib.identity.domain import Role
from chalicelib.identity.ports import (
    ChallengeRequired,
    CreatedUser,
    DirectoryError,
    GroupNotFound,
    NewPasswordChallenge,
    NotAuthorized,
    PasswordPolicyViolation,
    SignInContext,
    Tokens,
    TooManyRequests,
    UserDisabled,
    UserExists,
    UserNotFound,
)

STAFF_GROUPS = frozenset({Role.OFFICER.value, Role.PROVINCE_ADMIN.value, Role.OPERATOR.value})
CITIZEN_ROLES = frozenset({Role.CITIZEN})
STAFF_ROLES = frozenset({Role.OFFICER, Role.PROVINCE_ADMIN, Role.OPERATOR})

_SIMPLE_ERRORS: dict[str, type[DirectoryError]] = {
    "UsernameExistsException": UserExists,
    "InvalidPasswordException": PasswordPolicyViolation,
    "PasswordHistoryPolicyViolationException": PasswordPolicyViolation,
    "PasswordResetRequiredException": ChallengeRequired,
    "UserNotConfirmedException": ChallengeRequired,
    "TooManyRequestsException": TooManyRequests,
    "LimitExceededException": TooManyRequests,
    "TooManyFailedAttemptsException": TooManyRequests,
    "CodeMismatchException": NotAuthorized,
    "ExpiredCodeException": NotAuthorized,
}


def _translate(exc: Any, *, sign_in: bool, password: bool, groups: bool) -> DirectoryError | None:
    """The port's exception for a botocore ClientError, or None to let it propagate (a configuration error: wrong
    pool or client id, missing IAM permission ... is an internal error, not the caller's)."""
    code = exc.response.get("Error", {}).get("Code", "")
    message = str(exc.response.get("Error", {}).get("Message", ""))
    if code == "NotAuthorizedException":
        return _not_authorized(message)
    if code == "UserNotFoundException":
        return NotAuthorized("not authorized") if sign_in else UserNotFound("no such user")
    if code == "ResourceNotFoundException":
        if groups:
            return GroupNotFound("no such group")
        if sign_in:  # moto's answer to an unknown or used challenge session (AWS: NotAuthorizedException)
            return NotAuthorized("session unknown or expired")
        return None
    if code == "InvalidParameterException" and password:
        return PasswordPolicyViolation("password refused")
    kind = _SIMPLE_ERRORS.get(code)
    return kind(code) if kind else None


def _not_authorized(message: str) -> DirectoryError:
    if "disabled" in message.lower():
        return UserDisabled("user is disabled")
    if "attempts exceeded" in message.lower():  # Cognito's lock-out after repeated wrong passwords
        return TooManyRequests("password attempts exceeded")
    return NotAuthorized("not authorized")


@contextlib.contextmanager
def _errors(*, sign_in: bool = False, password: bool = False, groups: bool = False) -> Iterator[None]:
    from botocore.exceptions import ClientError

    try:
        yield
    except ClientError as exc:
        translated = _translate(exc, sign_in=sign_in, password=password, groups=groups)
        if translated is None:
            raise
        raise translated from None


def _context_data(context: SignInContext | None) -> dict[str, Any]:
    if context is None:
        return {}
    return {"ContextData": {
        "IpAddress": context.ip_address,
        "ServerName": context.server_name or "-",
        "ServerPath": context.server_path or "/",
        "HttpHeaders": [{"headerName": k, "headerValue": v} for k, v in context.headers],
    }}


def _tokens(result: Mapping[str, Any]) -> Tokens:
    auth = result["AuthenticationResult"]
    issued_at, session = _session_of(auth["AccessToken"])
    return Tokens(access_token=auth["AccessToken"], id_token=auth.get("IdToken", ""),
                  expires_in=int(auth.get("ExpiresIn", 0)), refresh_token=auth.get("RefreshToken"),
                  token_type=auth.get("TokenType", "Bearer"), issued_at=issued_at, session_id=session)


def _session_of(access_token: str) -> tuple[int, str | None]:
    """``iat`` and ``origin_jti`` of an access token the pool has just handed over on our own call (so reading it
    without its signature is safe: it is never a caller's token)."""
    import jwt

    try:
        claims = jwt.decode(access_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return 0, None
    iat, session = claims.get("iat"), claims.get("origin_jti")
    return (int(iat) if isinstance(iat, (int, float)) else 0), (session if isinstance(session, str) else None)


def _sign_in_answer(result: Mapping[str, Any], username: str) -> Tokens | NewPasswordChallenge:
    challenge = result.get("ChallengeName")
    if challenge == "NEW_PASSWORD_REQUIRED":
        return NewPasswordChallenge(session=result["Session"], username=username)
    if challenge:  # MFA set-up or TOTP for staff: not handled yet, say so instead of pretending
        raise ChallengeRequired(str(challenge))
    return _tokens(result)


def _attributes(phone_e164: str | None, attributes: Mapping[str, str] | None) -> list[dict[str, str]]:
    """Standard phone attributes plus custom ones (names given without the ``custom:`` prefix). The phone is
    marked verified: the officer's desk proved it by the portal's OTP before the account is created."""
    out: list[dict[str, str]] = []
    if phone_e164:
        out += [{"Name": "phone_number", "Value": phone_e164}, {"Name": "phone_number_verified", "Value": "true"}]
    for name, value in (attributes or {}).items():
        if ":" in name:
            raise ValueError(f"custom attribute names are given without prefix: {name!r}")
        out.append({"Name": f"custom:{name}", "Value": value})
    return out


class CognitoDirectory:
    """The user pool: citizens (their client and the ``citizen`` group) and staff (their client, role groups).

    ``client`` is a boto3 cognito-idp client; by default the process-wide one from ``chalicelib.aws.clients``,
    created on first use.
    """

    def __init__(self, user_pool_id: str, citizen_client_id: str, staff_client_id: str, region: str, *,
                 client: Any = None) -> None:
        if not (user_pool_id and citizen_client_id and staff_client_id):
            raise ValueError("user pool id and both app client ids are required")
        self.user_pool_id = user_pool_id
        self.citizen_client_id = citizen_client_id
        self.staff_client_id = staff_client_id
        self.region = region
        self._client = client

    def __repr__(self) -> str:
        return f"CognitoDirectory(user_pool_id={self.user_pool_id!r})"

    @property
    def _idp(self) -> Any:
        if self._client is None:
            from chalicelib.aws.clients import client

            self._client = client("cognito-idp", self.region)
        return self._client

    def _app_client(self, staff: bool) -> str:
        return self.staff_client_id if staff else self.citizen_client_id

    # -- accounts -------------------------------------------------------------------------------------------------

    def create_citizen(self, username: str, temporary_password: str, phone_e164: str,
                       attributes: Mapping[str, str] | None = None) -> CreatedUser:
        """Create the citizen with the temporary password the portal sends by SMS (Cognito sends nothing), in the
        ``citizen`` group. If the group cannot be joined the user is deleted again: no half-made account."""
        if not phone_e164:
            raise ValueError("a citizen account needs the citizen's phone")
        return self._create(username, temporary_password, [Role.CITIZEN.value], _attributes(phone_e164, attributes))

    def create_staff(self, username: str, temporary_password: str, groups: Iterable[str],
                     phone_e164: str | None = None, attributes: Mapping[str, str] | None = None) -> CreatedUser:
        wanted = list(dict.fromkeys(groups))
        if set(wanted) - STAFF_GROUPS:
            raise ValueError(f"staff groups must be a subset of {sorted(STAFF_GROUPS)}")
        return self._create(username, temporary_password, wanted, _attributes(phone_e164, attributes))

    def _create(self, username: str, temporary_password: str, groups: list[str],
                attributes: list[dict[str, str]]) -> CreatedUser:
        with _errors(password=True):
            user = self._idp.admin_create_user(
                UserPoolId=self.user_pool_id, Username=username, TemporaryPassword=temporary_password,
                MessageAction="SUPPRESS", UserAttributes=attributes)["User"]
        try:
            for group in groups:
                self.add_to_group(username, group)
        except Exception:
            with contextlib.suppress(Exception):
                self._idp.admin_delete_user(UserPoolId=self.user_pool_id, Username=username)
            raise
        sub = next((a["Value"] for a in user.get("Attributes", []) if a["Name"] == "sub"), "")
        return CreatedUser(username=user.get("Username", username), sub=sub)

    def disable(self, username: str) -> None:
        """Disable and sign out everywhere: moto keeps honouring a disabled user's refresh tokens, and relying on
        the cloud doing it implicitly would leave a gap if it ever did not."""
        with _errors():
            self._idp.admin_disable_user(UserPoolId=self.user_pool_id, Username=username)
            self._idp.admin_user_global_sign_out(UserPoolId=self.user_pool_id, Username=username)

    def enable(self, username: str) -> None:
        with _errors():
            self._idp.admin_enable_user(UserPoolId=self.user_pool_id, Username=username)

    def delete(self, username: str) -> None:
        """Delete the user; signs out first (moto answers 500 to a deleted user's refresh token otherwise)."""
        with _errors():
            self._idp.admin_user_global_sign_out(UserPoolId=self.user_pool_id, Username=username)
            self._idp.admin_delete_user(UserPoolId=self.user_pool_id, Username=username)

    # -- sign-in and passwords ------------------------------------------------------------------------------------

    def sign_in(self, username: str, password: str, *, staff: bool = False,
                context: SignInContext | None = None) -> Tokens | NewPasswordChallenge:
        with _errors(sign_in=True):
            result = self._idp.admin_initiate_auth(
                UserPoolId=self.user_pool_id, ClientId=self._app_client(staff), AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password}, **_context_data(context))
        return _sign_in_answer(result, username)

    def answer_new_password(self, session: str, username: str, new_password: str, *, staff: bool = False,
                            context: SignInContext | None = None) -> Tokens:
        with _errors(sign_in=True, password=True):
            result = self._idp.admin_respond_to_auth_challenge(
                UserPoolId=self.user_pool_id, ClientId=self._app_client(staff), ChallengeName="NEW_PASSWORD_REQUIRED",
                Session=session, ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": new_password},
                **_context_data(context))
        answer = _sign_in_answer(result, username)
        if isinstance(answer, NewPasswordChallenge):
            raise ChallengeRequired("NEW_PASSWORD_REQUIRED")
        return answer

    def refresh(self, refresh_token: str, *, staff: bool = False) -> Tokens:
        with _errors(sign_in=True):
            result = self._idp.initiate_auth(ClientId=self._app_client(staff), AuthFlow="REFRESH_TOKEN_AUTH",
                                             AuthParameters={"REFRESH_TOKEN": refresh_token})
        return _tokens(result)

    def change_password(self, access_token: str, old_password: str, new_password: str) -> None:
        """The signed-in user's own change (their access token proves who). Other sessions stay signed in:
        call :meth:`sign_out_everywhere` as well if the use case wants them gone."""
        with _errors(sign_in=True, password=True):
            self._idp.change_password(AccessToken=access_token, PreviousPassword=old_password,
                                      ProposedPassword=new_password)

    def admin_set_password(self, username: str, new_password: str, permanent: bool) -> None:
        """Set a password after the portal's own proof (the OTP to the account's phone). ``permanent=False`` makes
        it temporary: the next sign-in answers NEW_PASSWORD_REQUIRED."""
        with _errors(password=True):
            self._idp.admin_set_user_password(UserPoolId=self.user_pool_id, Username=username,
                                              Password=new_password, Permanent=permanent)

    def sign_out_everywhere(self, username: str) -> None:
        """Revoke every refresh token of the user. Access tokens already issued stay valid offline until they
        expire (15-30 min); compare ``Principal.issued_at`` with the time of this call to refuse them sooner."""
        with _errors():
            self._idp.admin_user_global_sign_out(UserPoolId=self.user_pool_id, Username=username)

    # -- groups ---------------------------------------------------------------------------------------------------

    def add_to_group(self, username: str, group: str) -> None:
        with _errors(groups=True):
            self._idp.admin_add_user_to_group(UserPoolId=self.user_pool_id, Username=username, GroupName=group)

    def remove_from_group(self, username: str, group: str) -> None:
        with _errors(groups=True):
            self._idp.admin_remove_user_from_group(UserPoolId=self.user_pool_id, Username=username,
                                                   GroupName=group)

    def sub_of(self, username: str) -> str:
        with _errors():
            user = self._idp.admin_get_user(UserPoolId=self.user_pool_id, Username=username)
        return next((a["Value"] for a in user.get("UserAttributes", []) if a["Name"] == "sub"), "")

    def set_phone(self, username: str, phone_e164: str) -> None:
        """Keep the pool's phone attribute the account's (the portal proved the new one by OTP)."""
        with _errors():
            self._idp.admin_update_user_attributes(UserPoolId=self.user_pool_id, Username=username,
                                                   UserAttributes=_attributes(phone_e164, None))

    def created_at(self, username: str) -> int:
        with _errors():
            user = self._idp.admin_get_user(UserPoolId=self.user_pool_id, Username=username)
        return int(user["UserCreateDate"].timestamp())

    def groups_of(self, username: str) -> list[str]:
        names: list[str] = []
        kwargs: dict[str, Any] = {"UserPoolId": self.user_pool_id, "Username": username}
        with _errors():
            while True:
                page = self._idp.admin_list_groups_for_user(**kwargs)
                names += [g["GroupName"] for g in page.get("Groups", [])]
                if not page.get("NextToken"):
                    return sorted(names)
                kwargs["NextToken"] = page["NextToken"]


# -- verifying the pool's tokens ----------------------------------------------------------------------------------

def cognito_issuer(region: str, user_pool_id: str) -> str:
    """The ``iss`` of the pool's tokens; moto uses the very same form."""
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


def cognito_jwks_url(region: str, user_pool_id: str, endpoint_url: str | None = None) -> str:
    """Where the pool publishes its keys: ``{issuer}/.well-known/jwks.json`` in AWS; on the embedded stack the same
    path on the moto server (``endpoint_url``, AWS_ENDPOINT_URL), which serves it without any signature."""
    base = endpoint_url.rstrip("/") if endpoint_url else f"https://cognito-idp.{region}.amazonaws.com"
    return f"{base}/{user_pool_id}/.well-known/jwks.json"


def cognito_verifier(region: str, user_pool_id: str, citizen_client_id: str, staff_client_id: str, *,
                     endpoint_url: str | None = None, **options: Any):
    """The verifier the API uses: access tokens only (an id token is for the front end, not a credential for the
    API), issued by this pool to one of its two clients, each client carrying only its own roles. ``options`` go
    to JwksVerifier (leeway_s, jwk_client, clock ...)."""
    from chalicelib.identity.adapters import JwksVerifier

    return JwksVerifier(
        cognito_jwks_url(region, user_pool_id, endpoint_url), cognito_issuer(region, user_pool_id), None, None,
        token_uses=("access",),
        client_roles={citizen_client_id: CITIZEN_ROLES, staff_client_id: STAFF_ROLES},
        **options,
    )
