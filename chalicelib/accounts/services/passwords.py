"""Passwords, all kept by the user pool: the first sign-in's new password (the SMS one lives 72 hours), the
citizen's own change (which refuses every earlier token), and the forgotten password by OTP to the account's phone
(the portal's OTP rules: the same codes, limits and single-use verification token as every other purpose).

A new password must pass the portal's rule and the bundled list of common passwords (accounts.domain) before the
pool sees it.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.accounts.domain import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, check_new_password
from chalicelib.accounts.ports import AccountsContext, Caller, CitizenAccount
from chalicelib.accounts.services import sign_in as guard
from chalicelib.core import identity
from chalicelib.core.clock import epoch
from chalicelib.core.errors import AppError, FieldError, rule_error, unauthorized, validation_error
from chalicelib.core.fields import Documented, IdNumberTyped, Rules
from chalicelib.core.parsing import parse
from chalicelib.core.ports import StaleRecordError
from chalicelib.core.validation import InvalidValueError, RuleError
from chalicelib.identity import ports as pool
from chalicelib.otp import services as otp_cases
from chalicelib.otp.domain import OtpPurpose
from chalicelib.otp.ports import TokenRejectedError
from chalicelib.outbox import domain as outbox

log = logging.getLogger(__name__)

# A new password (accounts.domain.check_new_password): its length is in the schema; "a letter and a digit" of any
# script (no portable JSON Schema class says "a letter"), the list of common passwords and the citizen's own ID number
# are rules with their own codes.
NewPassword = Annotated[str, Documented.of(minLength=MIN_PASSWORD_LENGTH, maxLength=MAX_PASSWORD_LENGTH),
                        Rules(("PASSWORD_TOO_WEAK", "PASSWORD_TOO_COMMON", "PASSWORD_CONTAINS_ID"))]
NO_PHONE = "-"  # the OTP key's phone for an ID number without an account: nothing is ever sent to it


class NewPasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: str = Field(max_length=20)
    session: str = Field(min_length=20, max_length=4096, description="From the sign-in's answer.")
    new_password: NewPassword = Field(min_length=1, max_length=128)


class StaffNewPasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=128)
    session: str = Field(min_length=20, max_length=4096, description="From the sign-in's answer.")
    new_password: NewPassword = Field(min_length=1, max_length=128)


class PasswordChangeIn(BaseModel):
    __rules__ = ("PASSWORD_UNCHANGED",)  # one field against another
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=128)
    new_password: NewPassword = Field(min_length=1, max_length=128)


class ResetCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: IdNumberTyped = Field(max_length=20)


class ResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: IdNumberTyped = Field(max_length=20)
    code: str = Field(pattern=r"^[0-9]{6}$", description="The 6-digit code sent to the account's phone.")
    new_password: NewPassword = Field(min_length=1, max_length=128)


def new_password(password: str, id_number: str | None = None, field: str = "new_password") -> str:
    try:
        return check_new_password(password, id_number)
    except InvalidValueError as exc:
        raise validation_error([FieldError.of(field, exc)]) from None


def _policy_refused() -> AppError:
    return validation_error([FieldError("new_password", "PASSWORD_TOO_WEAK",
                                        "Mật khẩu chưa đáp ứng chính sách mật khẩu (8-128 ký tự, có chữ và số).")])


def _session_expired() -> AppError:
    return unauthorized("SIGN_IN_SESSION_EXPIRED", "Phiên đổi mật khẩu đã hết hạn. Vui lòng đăng nhập lại.")


# --- first sign-in -----------------------------------------------------------------------------------------------

def answer_new_password(svc: AccountsContext, body: dict) -> dict:
    """POST /v1/auth/new-password: the first sign-in's challenge answered; tokens."""
    req = parse(NewPasswordIn, body)
    found = guard.citizen_username(svc, req.id_number)
    if found is None:
        raise _session_expired()
    id_number, username = found
    password = new_password(req.new_password, id_number)
    account = guard.check_temporary_password(svc, username)
    tokens = _answer(svc, req.session, username, password, staff=False)
    if account is not None and account.must_change_password:
        _save(svc, account, replace(account, must_change_password=False, temp_password_expires_at=0,
                                    rev=account.rev + 1))
    return guard.token_answer(tokens)


def staff_new_password(svc: AccountsContext, body: dict) -> dict:
    req = parse(StaffNewPasswordIn, body)
    password = new_password(req.new_password)
    return guard.token_answer(_answer(svc, req.session, guard.staff_username(req.username), password, staff=True))


def _answer(svc: AccountsContext, session: str, username: str, password: str, staff: bool) -> pool.Tokens:
    try:
        return svc.users.answer_new_password(session, username, password, staff=staff)
    except pool.PasswordPolicyViolation:
        raise _policy_refused() from None
    except pool.NotAuthorized:
        raise _session_expired() from None
    except pool.DirectoryError:
        raise guard.unavailable() from None


def _save(svc: AccountsContext, before: CitizenAccount, after: CitizenAccount, claim=None, intents=()) -> None:
    from chalicelib.core.errors import conflict

    try:
        svc.accounts.update(after, before.rev, claim, intents)
    except StaleRecordError:
        raise conflict("ACCOUNT_CHANGED", "Tài khoản vừa được thay đổi, vui lòng thử lại.") from None
    except TokenRejectedError:
        raise otp_cases.token_rejected() from None


# --- the citizen's own change ------------------------------------------------------------------------------------

def current_password_wrong() -> AppError:
    return AppError("CURRENT_PASSWORD_WRONG", "Mật khẩu hiện tại không đúng.", 422, "Dữ liệu không hợp lệ")


def change_password(svc: AccountsContext, caller: Caller, account: CitizenAccount, body: dict) -> dict:
    """The pool changes the password (checking the current one behind the guard), every refresh token is revoked,
    a fresh session is signed in, and every token issued before it is refused from now on."""
    req = parse(PasswordChangeIn, body)
    password = new_password(req.new_password)
    if password == req.current_password:
        raise rule_error("new_password", "PASSWORD_UNCHANGED", "Mật khẩu mới phải khác mật khẩu hiện tại.")
    username = caller.username or ""
    key = guard.guard_key(svc, username, staff=False)
    window = guard.reserve_attempt(svc, key, caller.client)
    try:
        svc.users.change_password(caller.access_token or "", req.current_password, password)
    except pool.PasswordPolicyViolation:
        raise _policy_refused() from None
    except pool.NotAuthorized:
        raise current_password_wrong() from None
    except pool.DirectoryError:
        raise guard.unavailable() from None
    guard.release_attempt(svc, key, caller.client, window)
    tokens = _fresh_session(svc, username, password)
    svc.accounts.revoke_sessions(username, tokens.issued_at or epoch(svc.clock.now()), tokens.session_id or "")
    svc.count("PasswordChanged")
    log.info("citizen password changed", extra={"account_id": account.account_id})
    return guard.token_answer(tokens)


def _fresh_session(svc: AccountsContext, username: str, password: str) -> pool.Tokens:
    try:
        svc.users.sign_out_everywhere(username)
        answer = svc.users.sign_in(username, password)
    except pool.DirectoryError:
        raise guard.unavailable() from None
    if not isinstance(answer, pool.Tokens):
        raise guard.unavailable()
    return answer


# --- forgotten password: OTP to the account's phone --------------------------------------------------------------

_RESET_SENT = ("Nếu số định danh này có tài khoản, mã OTP đặt lại mật khẩu đã được gửi đến số điện thoại của tài "
               "khoản.")


def _reset_target(svc: AccountsContext, raw_id: str) -> tuple[str, str, CitizenAccount | None]:
    found = guard.citizen_username(svc, raw_id)
    if found is None:
        _refuse_born_later(raw_id)
        raise validation_error([FieldError("id_number", "ID_NUMBER_INVALID", "Số định danh không hợp lệ.")])
    id_number, username = found
    return id_number, username, guard.account_of(svc, username)


def _refuse_born_later(raw_id: str) -> None:
    """A number of the documented form refused only for a birth year not yet come answers that rule's own code."""
    try:
        identity.validate_id_number(identity.normalise_id_number(raw_id))
    except RuleError as exc:
        raise rule_error("id_number", exc.code, exc.message) from None
    except InvalidValueError:
        return


def request_reset(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    """POST /v1/auth/password-reset/otp. The answer is the same whether the ID number has an account or not; a code
    goes only to the account's own phone (never to a number the caller names), counted per phone, per account
    and per client. Without an account the same record and limits are kept, and nothing is sent."""
    req = parse(ResetCodeIn, body)
    _, username, account = _reset_target(svc, req.id_number)
    phone = account.phone if account else NO_PHONE
    sent = otp_cases.issue_otp(svc, phone, OtpPurpose.PASSWORD_RESET, username, account=username,
                               client=caller.client or None, deliver=account is not None)
    return {"message": _RESET_SENT, "expires_in_s": sent["expires_in_s"], "resend_after_s": sent["resend_after_s"]}


def reset_password(svc: AccountsContext, caller: Caller, body: dict) -> None:
    """POST /v1/auth/password-reset: the code proves the phone; the pool sets the new password, every session ends,
    earlier tokens are refused, the sign-in delays start again and the phone is told."""
    req = parse(ResetIn, body)
    id_number, username, account = _reset_target(svc, req.id_number)
    password = new_password(req.new_password, id_number)
    phone = account.phone if account else NO_PHONE
    token = otp_cases.verify_otp(svc, phone, OtpPurpose.PASSWORD_RESET, username, req.code)["verification_token"]
    if account is None:  # unreachable: no code was ever sent for it
        raise otp_cases.token_rejected()
    try:
        svc.users.admin_set_password(username, password, permanent=True)
        svc.users.sign_out_everywhere(username)
    except pool.PasswordPolicyViolation:
        raise _policy_refused() from None
    except pool.DirectoryError:
        raise guard.unavailable() from None
    claim = otp_cases.token_claim(svc, phone, OtpPurpose.PASSWORD_RESET, username, token)
    notice = outbox.sms(phone, "Mật khẩu tài khoản Cổng Dịch vụ công quốc gia của bạn vừa được đặt lại. Nếu không "
                               "phải bạn thực hiện, hãy liên hệ ngay bộ phận một cửa.")
    try:
        svc.accounts.revoke_sessions(username, epoch(svc.clock.now()), None, claim, [notice])
    except TokenRejectedError:
        raise otp_cases.token_rejected() from None
    svc.guard.release(guard.guard_key(svc, username, staff=False), None, None)
    if account.must_change_password:
        _save(svc, account, replace(account, must_change_password=False, temp_password_expires_at=0,
                                    rev=account.rev + 1))
    svc.count("PasswordReset")
    log.info("citizen password reset by OTP", extra={"account_id": account.account_id})
