"""Signing in through the user pool (Cognito): citizens by ID number, staff by user name; the first sign-in's new
password; refresh; sign-out everywhere; and the guard every password check goes through.

The guard (:func:`checked_password`) makes the lock-out check, the password check and the failure count one atomic
step: the attempt is counted as a failure *before* the pool sees the password, in one conditional write of the user
name's counter (and of the client's hourly counter), and given back only when the password was right. So parallel
guesses cannot pass the check together: each must win its own write. Wrong passwords delay the next attempt
progressively (accounts.domain.SignInPolicy) instead of locking the owner out; a client IP may make only so many
wrong guesses an hour across all accounts (password spraying). An unknown user name is counted and answered exactly
like a wrong password.
"""
from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.accounts.domain import delay_after
from chalicelib.accounts.ports import AccountsContext, Caller, CitizenAccount, GuardState
from chalicelib.core import identity
from chalicelib.core.clock import epoch
from chalicelib.core.errors import AppError, unauthorized
from chalicelib.core.parsing import parse
from chalicelib.core.ports import StaleRecordError
from chalicelib.core.validation import InvalidValueError
from chalicelib.identity import ports as pool
from chalicelib.otp.domain import send_windows
from chalicelib.otp.ports import SendLimitError
from chalicelib.otp.services import too_many

log = logging.getLogger(__name__)

_RESERVE_TRIES = 5


class SignInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: str = Field(max_length=20, description="The ID number is the user name.")
    password: str = Field(min_length=1, max_length=128)


class StaffSignInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=128, description="The staff user name.")
    password: str = Field(min_length=1, max_length=128)


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(min_length=20, max_length=8192)


def failed() -> AppError:
    return unauthorized("SIGN_IN_FAILED", "Tên đăng nhập hoặc mật khẩu không đúng.")


def unavailable() -> AppError:
    return AppError("IDENTITY_UNAVAILABLE", "Hệ thống đăng nhập tạm thời không phản hồi. Vui lòng thử lại sau.", 503,
                    "Dịch vụ tạm thời gián đoạn", headers={"Retry-After": "30"})


# --- the guard ---------------------------------------------------------------------------------------------------

def guard_key(svc: AccountsContext, username: str, staff: bool) -> str:
    return svc.keys.counter_key("sign-in-staff" if staff else "sign-in", username)


def _client_key(svc: AccountsContext, client: str) -> str:
    return svc.keys.counter_key("sign-in-client", client or "-")


def reserve_attempt(svc: AccountsContext, account_key: str, client: str) -> str:
    """Count one attempt against the user name and the client before the password is checked; refuse it if the
    user name must wait or the client has used up its hour. Returns the client window to give the attempt back."""
    policy = svc.settings.sign_in
    now_dt = svc.clock.now()
    now, windows = epoch(now_dt), send_windows(now_dt)
    for _ in range(_RESERVE_TRIES):
        state: GuardState = svc.guard.state(account_key)
        if now < state.blocked_until:
            raise _delayed(state.blocked_until - now)
        failures = state.failures + 1
        try:
            svc.guard.reserve(account_key, state, failures, now + delay_after(failures, policy),
                              _client_key(svc, client), windows.hour, policy.client_failures_per_hour,
                              windows.day_ends_at + 86_400)
            return windows.hour
        except StaleRecordError:
            continue  # another attempt on the same user name won the write: look again
        except SendLimitError:
            svc.count("SignInClientLimited")
            raise too_many("SIGN_IN_CLIENT_LIMITED", max(1, windows.hour_ends_at - now),
                           "Có quá nhiều lần đăng nhập sai từ địa chỉ mạng này.") from None
    raise _delayed(1)


def _delayed(seconds: int) -> AppError:
    return too_many("SIGN_IN_DELAYED", max(1, seconds), "Bạn đã nhập sai mật khẩu nhiều lần.")


def release_attempt(svc: AccountsContext, account_key: str, client: str, window: str) -> None:
    svc.guard.release(account_key, _client_key(svc, client), window)


def checked_password(svc: AccountsContext, username: str, password: str, client: str, *, staff: bool = False,
                     refused: AppError | None = None) -> pool.Tokens | pool.NewPasswordChallenge:
    """Sign ``username`` in behind the guard; ``refused`` is what a wrong password (or unknown user) answers."""
    key = guard_key(svc, username, staff)
    window = reserve_attempt(svc, key, client)
    context = pool.SignInContext(ip_address=client or "0.0.0.0")
    try:
        answer = svc.users.sign_in(username, password, staff=staff, context=context)
    except pool.TooManyRequests:
        raise _delayed(60) from None
    except pool.NotAuthorized:  # wrong password, unknown or disabled user: the attempt stays counted
        svc.count("SignInRefused")
        raise (refused or failed()) from None
    except pool.DirectoryError:
        raise unavailable() from None
    release_attempt(svc, key, client, window)
    return answer


# --- answers -----------------------------------------------------------------------------------------------------

def token_answer(tokens: pool.Tokens) -> dict:
    return {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token, "id_token": tokens.id_token,
            "token_type": tokens.token_type, "expires_in": tokens.expires_in, "must_change_password": False}


def challenge_answer(challenge: pool.NewPasswordChallenge) -> dict:
    return {"must_change_password": True, "challenge": challenge.name, "session": challenge.session}


# --- citizens ----------------------------------------------------------------------------------------------------

def citizen_username(svc: AccountsContext, raw_id_number: str) -> tuple[str, str] | None:
    """(ID number, user name = HMAC of the ID number), or None for something that cannot be an ID number."""
    try:
        number = identity.normalise_id_number(raw_id_number)
        identity.validate_id_number(number)
    except InvalidValueError:
        return None
    return number, svc.keys.id_hash(number)


def sign_in(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    """POST /v1/auth/sign-in: tokens, or the new-password challenge of a first sign-in with the SMS password."""
    req = parse(SignInIn, body)
    found = citizen_username(svc, req.id_number)
    username = found[1] if found else svc.keys.id_hash(req.id_number.strip()[:20])  # counted like any user name
    answer = checked_password(svc, username, req.password, caller.client)
    if isinstance(answer, pool.NewPasswordChallenge):
        check_temporary_password(svc, username)
        return challenge_answer(answer)
    return token_answer(answer)


def account_of(svc: AccountsContext, username: str) -> CitizenAccount | None:
    login = svc.accounts.login(username)
    return svc.accounts.get_account(login.account_id) if login else None


def check_temporary_password(svc: AccountsContext, username: str) -> CitizenAccount | None:
    """The SMS password lives ``temporary_password_ttl_s`` (72 h; the pool's TemporaryPasswordValidityDays too);
    after it only a reset by OTP (or a new account desk visit) gets the citizen in."""
    account = account_of(svc, username)
    if account is not None and account.must_change_password \
            and epoch(svc.clock.now()) > account.temp_password_expires_at:
        svc.count("TemporaryPasswordExpired")
        raise unauthorized("TEMPORARY_PASSWORD_EXPIRED",
                           "Mật khẩu tạm thời đã hết hạn sau 72 giờ. Vui lòng đặt lại mật khẩu bằng mã OTP gửi đến "
                           "số điện thoại của tài khoản hoặc liên hệ bộ phận một cửa.")
    return account


def staff_username(raw: str) -> str:
    return raw.strip().lower()


def staff_sign_in(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    """POST /v1/auth/staff/sign-in: officers, province administrators and operators, through the staff client."""
    req = parse(StaffSignInIn, body)
    answer = checked_password(svc, staff_username(req.username), req.password, caller.client, staff=True)
    if isinstance(answer, pool.NewPasswordChallenge):
        return challenge_answer(answer)
    return token_answer(answer)


def refresh(svc: AccountsContext, body: dict, *, staff: bool = False) -> dict:
    """New access and id tokens for a refresh token (the same sign-in session; the refresh token is kept). A
    refresh token revoked by a sign-out everywhere or a password change is refused."""
    req = parse(RefreshIn, body)
    try:
        tokens = svc.users.refresh(req.refresh_token, staff=staff)
    except pool.NotAuthorized:
        raise unauthorized("REFRESH_TOKEN_INVALID", "Phiên đăng nhập đã kết thúc. Vui lòng đăng nhập lại.") from None
    except pool.DirectoryError:
        raise unavailable() from None
    return {**token_answer(tokens), "refresh_token": req.refresh_token}


def sign_out(svc: AccountsContext, caller: Caller) -> None:
    """POST /v1/auth/sign-out: every refresh token of the caller revoked by the pool, and every token issued until
    now refused by the directory check (a JWT cannot be recalled, so the check refuses it)."""
    if caller.subject is None or not caller.username:
        raise unauthorized("TOKEN_MISSING", "Thiếu mã xác thực. Vui lòng đăng nhập để tiếp tục.")
    try:
        svc.users.sign_out_everywhere(caller.username)
    except pool.DirectoryError:
        raise unavailable() from None
    now = epoch(svc.clock.now())
    if caller.has("citizen"):
        svc.accounts.revoke_sessions(caller.username, now, "")
    else:
        svc.directory.revoke_user_sessions(caller.subject, now, "")
    svc.count("SignedOutEverywhere")
    log.info("signed out everywhere", extra={"subject": caller.subject})
