"""The user directory port (Cognito behind it): what sign-in and account use cases may ask of it, what they get back,
and the few named errors they must tell apart.

Plain Python: services import this module, never the adapter (``identity.cognito``). Usernames handed to the directory
are opaque keys (for citizens the HMAC of the ID number); nothing here ever holds an ID number in clear. Error
messages are short English diagnoses that never contain a username, password, token or session.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class DirectoryError(Exception):
    """Base of the directory's errors. ``code`` is stable (UPPER_SNAKE) for logs and for mapping to problem+json."""

    code = "DIRECTORY_ERROR"

    def __init__(self, reason: str = "") -> None:
        self.reason = reason
        super().__init__(f"{self.code}: {reason}" if reason else self.code)


class NotAuthorized(DirectoryError):
    """Wrong username or password, unknown user (never told apart: no account enumeration), revoked or invalid
    refresh token or session."""

    code = "NOT_AUTHORIZED"


class UserDisabled(NotAuthorized):
    """The user exists but is disabled. A subclass of NotAuthorized so that callers who do not care refuse it the
    same way; callers who do may tell the citizen to contact the one-stop desk."""

    code = "USER_DISABLED"


class UserNotFound(DirectoryError):
    """An administrative call named a user that does not exist (never raised by sign-in: see NotAuthorized)."""

    code = "USER_NOT_FOUND"


class UserExists(DirectoryError):
    code = "USER_EXISTS"


class PasswordPolicyViolation(DirectoryError):
    """The pool's password policy (or its history) refused the new password."""

    code = "PASSWORD_POLICY"


class ChallengeRequired(DirectoryError):
    """An operation needs the user to answer a challenge first (for instance a password reset by an administrator
    that the user has not completed)."""

    code = "CHALLENGE_REQUIRED"


class TooManyRequests(DirectoryError):
    """Cognito's own throttling or failed-attempt lock-out; retry later."""

    code = "TOO_MANY_REQUESTS"


class GroupNotFound(DirectoryError):
    code = "GROUP_NOT_FOUND"


@dataclass(frozen=True)
class Tokens:
    """A successful sign-in or refresh. ``refresh_token`` is None after a refresh (Cognito does not rotate it).
    ``issued_at`` and ``session_id`` are the access token's ``iat`` and ``origin_jti``, read by the adapter from the
    token the pool just handed over (what a password change records as the one session to keep)."""

    access_token: str
    id_token: str
    expires_in: int
    refresh_token: str | None = None
    token_type: str = "Bearer"
    issued_at: int = 0
    session_id: str | None = None

    def __repr__(self) -> str:  # tokens never in logs or tracebacks
        return f"Tokens(expires_in={self.expires_in}, refresh={'yes' if self.refresh_token else 'no'})"


@dataclass(frozen=True)
class NewPasswordChallenge:
    """The first sign-in with a temporary password (or after an administrator set a temporary one): answer with
    ``answer_new_password(challenge.session, challenge.username, new_password)``. The session is single use and
    expires (the client's AuthSessionValidity, 3 minutes)."""

    session: str = field(repr=False)
    username: str = field(repr=False)
    name: str = "NEW_PASSWORD_REQUIRED"


@dataclass(frozen=True)
class SignInContext:
    """Who is really signing in, for Cognito's threat protection (else every sign-in looks like it comes from the
    Lambda). ``headers`` are (name, value) pairs; keep them to what the risk engine needs (no Authorization)."""

    ip_address: str
    server_name: str = ""
    server_path: str = ""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CreatedUser:
    username: str = field(repr=False)
    sub: str  # Cognito's immutable user id: the access token's ``sub``; store it in the directory


class UserDirectory(Protocol):
    """The user pool as the account use cases see it."""

    def create_citizen(self, username: str, temporary_password: str, phone_e164: str,
                       attributes: dict[str, str] | None = None) -> CreatedUser: ...

    def create_staff(self, username: str, temporary_password: str, groups: list[str],
                     phone_e164: str | None = None, attributes: dict[str, str] | None = None) -> CreatedUser:
        """``groups`` may be empty: an officer registered but not yet given a unit holds no role."""
        ...

    def sign_in(self, username: str, password: str, *, staff: bool = False,
                context: SignInContext | None = None) -> Tokens | NewPasswordChallenge: ...

    def answer_new_password(self, session: str, username: str, new_password: str, *, staff: bool = False,
                            context: SignInContext | None = None) -> Tokens: ...

    def refresh(self, refresh_token: str, *, staff: bool = False) -> Tokens: ...

    def change_password(self, access_token: str, old_password: str, new_password: str) -> None: ...

    def admin_set_password(self, username: str, new_password: str, permanent: bool) -> None: ...

    def sign_out_everywhere(self, username: str) -> None: ...

    def disable(self, username: str) -> None: ...

    def enable(self, username: str) -> None: ...

    def delete(self, username: str) -> None: ...

    def add_to_group(self, username: str, group: str) -> None: ...

    def remove_from_group(self, username: str, group: str) -> None: ...

    def sub_of(self, username: str) -> str: ...

    def groups_of(self, username: str) -> list[str]: ...

    def set_phone(self, username: str, phone_e164: str) -> None: ...

    def created_at(self, username: str) -> int:
        """When the user was created (UNIX seconds); UserNotFound if there is no such user."""
        ...
