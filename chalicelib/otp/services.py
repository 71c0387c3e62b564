"""M8: issue and verify one-time passwords; hand out and consume the verification token that proves one.

Only a keyed hash of the code is stored, in one record per (phone, purpose, subject) keyed by a keyed hash of the
three. The code itself exists only in memory and in the SMS; it is never logged. See ``domain.otp`` for the limits.
"""
from __future__ import annotations

import hmac
import logging

from chalicelib.core.clock import epoch
from chalicelib.core.errors import AppError
from chalicelib.core.masking import mask_phone
from chalicelib.core.ports import StaleRecordError
from chalicelib.core.words import retry_text
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
    send_refusal,
    send_windows,
    sms_text,
)
from chalicelib.otp.ports import OtpContext, SendLimitError, TokenClaim
from chalicelib.outbox import domain as outbox

log = logging.getLogger(__name__)



def too_many(code: str, seconds: int, what: str) -> AppError:
    return AppError(code, f"{what} Vui lòng thử lại sau {retry_text(seconds)}.", 429, "Quá nhiều yêu cầu",
                    headers={"Retry-After": str(seconds)}, extra={"retry_after_s": seconds})


_SEND_MESSAGES = {
    SendRefusal.LOCKED: "Bạn đã nhập sai mã OTP quá số lần cho phép nên tạm thời không thể nhận mã mới.",
    SendRefusal.TOO_SOON: "Mã OTP vừa được gửi.",
    SendRefusal.HOURLY_LIMIT: "Số điện thoại này đã nhận quá số mã OTP cho phép trong một giờ.",
    SendRefusal.DAILY_LIMIT: "Số điện thoại này đã nhận quá số mã OTP cho phép trong ngày.",
}


def issue_otp(svc: OtpContext, phone: str, purpose: OtpPurpose, subject: str) -> dict:
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
        # The SMS goes out with the code: its intent is written in the same transaction as the code's hash.
        svc.otp.save_issued(record, previous.rev if previous else None, svc.keys.phone_key(phone), windows,
                            policy.max_sends_per_hour, policy.max_sends_per_day, windows.day_ends_at + 86_400,
                            [outbox.sms(phone, sms_text(code, purpose, policy))])
    except SendLimitError as exc:
        reason = SendRefusal.HOURLY_LIMIT if exc.which == "hour" else SendRefusal.DAILY_LIMIT
        ends = windows.hour_ends_at if exc.which == "hour" else windows.day_ends_at
        raise too_many(reason.value, max(1, ends - now), _SEND_MESSAGES[reason]) from None
    except StaleRecordError:
        raise too_many(SendRefusal.TOO_SOON.value, policy.resend_cooldown_s,
                       _SEND_MESSAGES[SendRefusal.TOO_SOON]) from None
    svc.count("OtpIssued")
    log.info("otp issued", extra={"purpose": purpose.value, "phone": mask_phone(phone)})
    return {"purpose": purpose.value, "phone_masked": mask_phone(phone), "expires_in_s": policy.ttl_s,
            "resend_after_s": policy.resend_cooldown_s}


def verify_otp(svc: OtpContext, phone: str, purpose: OtpPurpose, subject: str, code: str) -> dict:
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


def _refused_attempt(svc: OtpContext, key: str, now: float) -> AppError:
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


def token_claim(svc: OtpContext, phone: str, purpose: OtpPurpose, subject: str, token: str) -> TokenClaim:
    """The claim a use case writes together with what the token authorises (consumed once, in that write)."""
    if not isinstance(token, str) or not (16 <= len(token) <= 200):
        raise token_rejected()
    return TokenClaim(svc.keys.otp_key(phone, purpose.value, subject), svc.keys.token_hash(token),
                      epoch(svc.clock.now()))


def token_rejected() -> AppError:
    return AppError("VERIFICATION_TOKEN_INVALID",
                    "Mã xác thực OTP không hợp lệ, đã được sử dụng hoặc đã hết hạn. Vui lòng xác thực lại mã OTP "
                    "mới nhất.", 422, "Xác thực OTP không hợp lệ")
