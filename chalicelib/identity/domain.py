"""Who is calling: roles, the principal a verified token describes, and the bearer header rules (401 vs 403).

Plain Python, no Chalice, no JWT library: the HTTP shell reads the ``Authorization`` header, calls
:func:`parse_bearer`, then a :class:`TokenVerifier` (``identity.adapters``), and turns :class:`AuthError` (401) /
:class:`ForbiddenError` (403) into problem+json. Tokens never appear in errors; :attr:`AuthError.reason` is a short
English diagnosis that is safe to log.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable, Mapping, Protocol


class Role(str, Enum):
    """Roles known to the back end (Cognito group names / local ``roles`` claim values)."""

    CITIZEN = "citizen"
    OFFICER = "officer"
    PROVINCE_ADMIN = "province_admin"
    OPERATOR = "operator"

    def __str__(self) -> str:
        return self.value


def _as_role(value: Role | str) -> Role:
    """Coerce a role or its string value; raise ValueError on unknown values (programming errors)."""
    if isinstance(value, Role):
        return value
    return Role(value)


TOKEN_MISSING = "TOKEN_MISSING"


TOKEN_INVALID = "TOKEN_INVALID"


TOKEN_EXPIRED = "TOKEN_EXPIRED"


# A valid token of a user the directory no longer accepts: locked, deleted, signed out everywhere or whose password
# changed after the token was issued.
TOKEN_REVOKED = "TOKEN_REVOKED"


ROLE_FORBIDDEN = "ROLE_FORBIDDEN"


_AUTH_MESSAGES: dict[str, str] = {
    TOKEN_MISSING: "Thiếu mã xác thực. Vui lòng đăng nhập để tiếp tục.",
    TOKEN_INVALID: "Mã xác thực không hợp lệ. Vui lòng đăng nhập lại.",
    TOKEN_EXPIRED: "Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại.",
    TOKEN_REVOKED: "Phiên đăng nhập này không còn hiệu lực (tài khoản đã đăng xuất, đổi mật khẩu hoặc bị khóa). "
                   "Vui lòng đăng nhập lại.",
}


_FORBIDDEN_MESSAGE = "Bạn không có quyền thực hiện chức năng này."


class AuthError(Exception):
    """The caller is not authenticated (HTTP 401, ``WWW-Authenticate: Bearer``).

    ``code`` is stable (TOKEN_MISSING, TOKEN_INVALID, TOKEN_EXPIRED); ``message`` is Vietnamese, for people;
    ``reason`` is a short English diagnosis for logs. None of them ever contains the token.
    """

    status = 401

    def __init__(self, code: str, message: str | None = None, *, reason: str = "") -> None:
        if code not in _AUTH_MESSAGES:
            raise ValueError(f"unknown auth error code: {code}")
        self.code = code
        self.message = message or _AUTH_MESSAGES[code]
        self.reason = reason
        super().__init__(f"{code}: {self.message}")


class ForbiddenError(Exception):
    """The caller is authenticated but lacks the role (HTTP 403). Deliberately not an AuthError subclass, so that an
    ``except AuthError`` answering 401 can never swallow a 403."""

    status = 403
    code = ROLE_FORBIDDEN

    def __init__(self, message: str | None = None, *, required: Iterable[Role] = ()) -> None:
        self.message = message or _FORBIDDEN_MESSAGE
        self.required: tuple[Role, ...] = tuple(required)
        super().__init__(f"{self.code}: {self.message}")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    From the token alone: ``subject`` (the pool's ``sub``), ``roles`` (its groups, kept to those its app client may
    carry), ``username``. Never from the token: ``province_code`` and ``unit_codes`` (custom attributes are not in
    access tokens, and scope must be the directory's current word); the directory check that runs after the
    signature check (``identity.adapters.CheckedVerifier``) fills them in and may replace ``subject`` with the
    portal's own id of the caller (a citizen's account id, a staff user name) and narrow ``roles``."""

    subject: str
    roles: frozenset[Role]
    province_code: str | None
    unit_codes: tuple[str, ...]
    issuer: str
    expires_at: int  # UNIX seconds (the token's ``exp``)
    # Facts about the token rather than the caller (left out of equality): the app client it was issued to, when,
    # the pool's user name and the sign-in session (Cognito's ``origin_jti``), so that tokens issued before the
    # user's last "sign out everywhere" or password change can be refused (a JWT stays valid offline until it
    # expires).
    client_id: str | None = field(default=None, compare=False)
    issued_at: int | None = field(default=None, compare=False)
    username: str | None = field(default=None, compare=False)
    session_id: str | None = field(default=None, compare=False)

    def has_role(self, *roles: Role | str) -> bool:
        """True when the principal holds at least one of ``roles`` (Role members or their string values)."""
        return any(_as_role(r) in self.roles for r in roles)


def require_roles(principal: Principal, *roles: Role | str) -> Principal:
    """Return ``principal`` if it holds at least one of ``roles``; otherwise raise :class:`ForbiddenError`."""
    if not roles:
        raise TypeError("require_roles needs at least one role")
    wanted = tuple(_as_role(r) for r in roles)
    if not principal.has_role(*wanted):
        raise ForbiddenError(required=wanted)
    return principal


def _roles_from_claims(claims: Mapping[str, Any]) -> frozenset[Role]:
    known = {r.value: r for r in Role}
    found: set[Role] = set()
    for name in ("cognito:groups", "roles"):
        values = claims.get(name)
        if not isinstance(values, (list, tuple)):
            continue  # a bare string would otherwise be iterated character by character
        for value in values:
            if isinstance(value, str):
                role = known.get(value.strip().lower())
                if role is not None:
                    found.add(role)
    return frozenset(found)


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """Build a :class:`Principal` from already verified claims."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise AuthError(TOKEN_INVALID, reason="missing or empty sub")
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        raise AuthError(TOKEN_INVALID, reason="missing or non-numeric exp")
    return Principal(
        subject=subject,
        roles=_roles_from_claims(claims),
        province_code=None,
        unit_codes=(),
        issuer=str(claims.get("iss", "")),
        expires_at=int(exp),
        client_id=_client_from_claims(claims),
        issued_at=_int_claim(claims, "iat"),
        username=_str_claim(claims, "username") or _str_claim(claims, "cognito:username"),
        session_id=_str_claim(claims, "origin_jti"),
    )


def _str_claim(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None


def token_revoked(issued_at: int | None, session_id: str | None, valid_after: int, kept_session: str | None) -> bool:
    """Is a token issued at ``issued_at`` (seconds, the token's ``iat``) in ``session_id`` refused after a
    revocation recorded as (``valid_after``, ``kept_session``)?

    Tokens issued before ``valid_after`` are refused. ``iat`` has one-second resolution, so for tokens issued in
    that very second ``kept_session`` decides: None lets them through (a reset by OTP, where no new session exists
    yet), a session id lets only that session's through (the fresh session a password change signs in), "" refuses
    them all (sign out everywhere). ``valid_after`` 0: never revoked."""
    if not valid_after:
        return False
    if issued_at is None or issued_at < valid_after:
        return True
    if issued_at > valid_after or kept_session is None:
        return False
    return session_id != kept_session


def _client_from_claims(claims: Mapping[str, Any]) -> str | None:
    """An access token names its app client in ``client_id``; an id token in ``aud``."""
    value = claims.get("client_id", claims.get("aud"))
    return value if isinstance(value, str) and value else None


def _int_claim(claims: Mapping[str, Any], name: str) -> int | None:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


_MAX_TOKEN_LENGTH = 16_384


def parse_bearer(header_value: str | None) -> str:
    """Extract the token from an ``Authorization: Bearer <token>`` header value (scheme case-insensitive).

    No header, another scheme, or an empty token -> TOKEN_MISSING. A token with inner whitespace or absurd length ->
    TOKEN_INVALID.
    """
    if not header_value or not isinstance(header_value, str):
        raise AuthError(TOKEN_MISSING, reason="no Authorization header")
    scheme, _, rest = header_value.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise AuthError(TOKEN_MISSING, reason="Authorization scheme is not Bearer")
    token = rest.strip()
    if not token:
        raise AuthError(TOKEN_MISSING, reason="empty bearer token")
    if len(token) > _MAX_TOKEN_LENGTH or any(ch.isspace() for ch in token):
        raise AuthError(TOKEN_INVALID, reason="malformed bearer token")
    return token


class TokenVerifier(Protocol):
    def verify(self, token: str) -> Principal:
        """Return the principal for a valid token; raise :class:`AuthError` otherwise."""
        ...


def _check_token_shape(token: Any) -> None:
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_LENGTH:
        raise AuthError(TOKEN_INVALID, reason="token is not a non-empty string of sane length")
