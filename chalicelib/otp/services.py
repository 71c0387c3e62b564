"""M8: issue and verify one-time passwords; hand out and consume the verification token that proves one.

Only a keyed hash of the code is stored, in one record per (phone, purpose, subject) keyed by a keyed hash of the
three. The code itself exists only in memory and in the SMS; it is never logged. See ``domain.otp`` for the limits.
"""
from __future__ import annotations

import hmac
import logging

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.accounts.context import AccountServices, Caller
from chalicelib.core import identity
from chalicelib.core.clock import epoch
from chalicelib.core.errors import AppError, forbidden
from chalicelib.core.fields import MobilePhone
from chalicelib.core.masking import mask_phone
from chalicelib.core.parsing import parse
from chalicelib.core.ports import StaleRecordError
from chalicelib.otp.domain import (
    AttemptOutcome,
    OtpPurpose,
    SendRefusal,
    attempts_left,
    is_locked,
    issued,
    judge_attempt,
    lock_ends_at,
    new_code,
    new_token,
    retry_text,
    send_refusal,
    send_windows,
    sms_text,
)
from chalicelib.otp.ports import SendLimitError, TokenClaim

log = logging.getLogger(__name__)

CITIZEN, OFFICER = "citizen", "officer"


class OtpIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    phone: MobilePhone = Field(description="The phone the code is sent to (0912345678 or +84912345678).")
    purpose: OtpPurpose
    subject: str = Field(min_length=1, max_length=200,
                         description="What the code is for: the citizen's ID number (account_creation), the "
                         "subject given by POST /v1/citizens/me/bank-links (bank_link), or the caller's account "
                         "id (phone_change).")


class OtpVerifyIn(OtpIn):
    code: str = Field(pattern=r"^[0-9]{6}$", description="The 6-digit code from the SMS.")


def too_many(code: str, seconds: int, what: str) -> AppError:
    return AppError(code, f"{what} Vui lòng thử lại sau {retry_text(seconds)}.", 429, "Quá nhiều yêu cầu",
                    headers={"Retry-After": str(seconds)}, extra={"retry_after_s": seconds})


_SEND_MESSAGES = {
    SendRefusal.LOCKED: "Bạn đã nhập sai mã OTP quá số lần cho phép nên tạm thời không thể nhận mã mới.",
    SendRefusal.TOO_SOON: "Mã OTP vừa được gửi.",
    SendRefusal.HOURLY_LIMIT: "Số điện thoại này đã nhận quá số mã OTP cho phép trong một giờ.",
    SendRefusal.DAILY_LIMIT: "Số điện thoại này đã nhận quá số mã OTP cho phép trong ngày.",
}


def normalise_subject(purpose: OtpPurpose, subject: str) -> str:
    """The subject in one form, so the key computed at issue and at use is the same."""
    if purpose == OtpPurpose.ACCOUNT_CREATION:
        return identity.validate_id_number(subject)
    return subject.strip()


def check_caller(caller: Caller, purpose: OtpPurpose, subject: str) -> None:
    """Who may ask for or verify a code of each purpose (role and subject; the officer's stored right is checked
    by the account use cases)."""
    if caller.subject is None:
        from chalicelib.core.errors import unauthorized

        raise unauthorized("TOKEN_MISSING", "Thiếu mã xác thực. Vui lòng đăng nhập để tiếp tục.")
    if purpose == OtpPurpose.ACCOUNT_CREATION:
        if not caller.has(OFFICER):
            raise forbidden("ROLE_FORBIDDEN", "Chỉ cán bộ một cửa được gửi mã OTP tạo tài khoản.")
        return
    if not caller.has(CITIZEN):
        raise forbidden("ROLE_FORBIDDEN", "Chức năng này chỉ dành cho công dân.")
    if subject != caller.subject and not subject.startswith(f"{caller.subject}:"):
        raise forbidden("OTP_SUBJECT_FORBIDDEN", "Mã OTP này không thuộc tài khoản của bạn.")


def issue_otp(svc: AccountServices, phone: str, purpose: OtpPurpose, subject: str) -> dict:
    """Send a new code for (phone, purpose, subject); the previous one stops being valid. Callers are checked
    before this is called (see `check_caller` and the account use cases)."""
    policy = svc.settings.otp
    key = svc.keys.otp_key(phone, purpose.value, subject)
    now_dt = svc.clock.now()
    now = epoch(now_dt)
    previous = svc.otp.get(key)
    refusal = send_refusal(previous, now_dt.timestamp(), policy)
    if refusal is not None:
        reason, seconds = refusal
        raise too_many(reason.value, seconds, _SEND_MESSAGES[reason])
    code = (svc.new_code or new_code)()
    record = issued(previous, key, svc.keys.code_hash(key, code), now, policy)
    windows = send_windows(now_dt)
    try:
        svc.otp.save_issued(record, previous.rev if previous else None, svc.keys.phone_key(phone), windows,
                            policy.max_sends_per_hour, policy.max_sends_per_day, windows.day_ends_at + 86_400)
    except SendLimitError as exc:
        reason = SendRefusal.HOURLY_LIMIT if exc.which == "hour" else SendRefusal.DAILY_LIMIT
        ends = windows.hour_ends_at if exc.which == "hour" else windows.day_ends_at
        raise too_many(reason.value, max(1, ends - now), _SEND_MESSAGES[reason]) from None
    except StaleRecordError:
        raise too_many(SendRefusal.TOO_SOON.value, policy.resend_cooldown_s,
                       _SEND_MESSAGES[SendRefusal.TOO_SOON]) from None
    svc.sms.send_sms(phone, sms_text(code, purpose, policy))
    svc.count("OtpIssued")
    log.info("otp issued", extra={"purpose": purpose.value, "phone": mask_phone(phone)})
    return {"purpose": purpose.value, "phone_masked": mask_phone(phone), "expires_in_s": policy.ttl_s,
            "resend_after_s": policy.resend_cooldown_s}


def verify_otp(svc: AccountServices, phone: str, purpose: OtpPurpose, subject: str, code: str) -> dict:
    """Check a code; on success answer a single-use verification token bound to (phone, purpose, subject)."""
    policy = svc.settings.otp
    key = svc.keys.otp_key(phone, purpose.value, subject)
    now_dt = svc.clock.now()
    now, now_f = epoch(now_dt), now_dt.timestamp()
    # The attempt is counted before the code is compared: no guess is ever judged beyond the limit, however many
    # arrive at once.
    record = svc.otp.register_attempt(key, now, policy.max_attempts)
    if record is None:
        raise _refused_attempt(svc, key, now_f)
    matches = hmac.compare_digest(record.code_hash, svc.keys.code_hash(key, code))
    outcome = judge_attempt(record, matches, now_f)
    if outcome == AttemptOutcome.ACCEPTED:
        token = new_token()
        if svc.otp.mark_verified(key, record.code_hash, svc.keys.token_hash(token), now + policy.token_ttl_s):
            svc.count("OtpVerified")
            log.info("otp verified", extra={"purpose": purpose.value})
            return {"verification_token": token, "expires_in_s": policy.token_ttl_s}
        outcome = AttemptOutcome.USED
    svc.count("OtpRefused")
    log.info("otp refused", extra={"purpose": purpose.value, "outcome": outcome.value})
    if outcome == AttemptOutcome.USED:
        raise AppError("OTP_USED", "Mã OTP này đã được sử dụng. Vui lòng yêu cầu gửi mã mới.", 409,
                       "Mã OTP không còn hiệu lực")
    if outcome == AttemptOutcome.EXPIRED:
        raise AppError("OTP_EXPIRED", "Mã OTP đã hết hiệu lực. Vui lòng yêu cầu gửi mã mới.", 422,
                       "Mã OTP không còn hiệu lực")
    left = attempts_left(record, policy)
    if left == 0:
        raise too_many("OTP_LOCKED", policy.lockout_s,
                       "Mã OTP không đúng. Bạn đã nhập sai quá số lần cho phép.")
    raise AppError("OTP_INVALID", f"Mã OTP không đúng. Bạn còn {left} lần thử.", 422, "Mã OTP không đúng",
                   extra={"attempts_left": left})


def _refused_attempt(svc: AccountServices, key: str, now: float) -> AppError:
    record = svc.otp.get(key)
    policy = svc.settings.otp
    if record is None:
        return AppError("OTP_NOT_FOUND", "Chưa có mã OTP nào được gửi cho yêu cầu này. Vui lòng yêu cầu gửi mã.",
                        404, "Không tìm thấy")
    if is_locked(record, now, policy):
        end = lock_ends_at(record, policy) or 0
        seconds = max(1, int(end - now + 0.999))
        return too_many("OTP_LOCKED", seconds, "Bạn đã nhập sai mã OTP quá số lần cho phép.")
    return AppError("OTP_EXPIRED", "Mã OTP đã hết hiệu lực. Vui lòng yêu cầu gửi mã mới.", 422,
                    "Mã OTP không còn hiệu lực")


def token_claim(svc: AccountServices, phone: str, purpose: OtpPurpose, subject: str, token: str) -> TokenClaim:
    """The claim a use case writes together with what the token authorises (consumed once, in that write)."""
    if not isinstance(token, str) or not (16 <= len(token) <= 200):
        raise token_rejected()
    return TokenClaim(svc.keys.otp_key(phone, purpose.value, subject), svc.keys.token_hash(token),
                      epoch(svc.clock.now()))


def token_rejected() -> AppError:
    return AppError("VERIFICATION_TOKEN_INVALID",
                    "Mã xác thực OTP không hợp lệ, đã được sử dụng hoặc đã hết hạn. Vui lòng xác thực lại mã OTP "
                    "mới nhất.", 422, "Xác thực OTP không hợp lệ")


def request_otp(svc: AccountServices, caller: Caller, body: dict) -> dict:
    """POST /v1/otp: check the caller for the purpose, then send."""
    req = parse(OtpIn, body)
    subject = _subject(req.purpose, req.subject)
    check_caller(caller, req.purpose, subject)
    from chalicelib.accounts.services import citizen_accounts as account_cases

    account_cases.check_otp_target(svc, caller, req.phone, req.purpose, subject)
    return issue_otp(svc, req.phone, req.purpose, subject)


def verify_request(svc: AccountServices, caller: Caller, body: dict) -> dict:
    """POST /v1/otp/verify."""
    req = parse(OtpVerifyIn, body)
    subject = _subject(req.purpose, req.subject)
    check_caller(caller, req.purpose, subject)
    return verify_otp(svc, req.phone, req.purpose, subject, req.code)


def _subject(purpose: OtpPurpose, subject: str) -> str:
    from chalicelib.core.errors import FieldError, validation_error
    from chalicelib.core.validation import InvalidValueError

    try:
        return normalise_subject(purpose, subject)
    except InvalidValueError as exc:
        raise validation_error([FieldError("subject", exc.code, exc.message)]) from None
