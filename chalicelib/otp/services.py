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
    SendCounter,
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
# Who may still be sent codes: the account asking (or the account a reset code goes to) and the client address.
_CAP_MESSAGES = {
    "account": ("OTP_ACCOUNT_LIMIT", "Tài khoản này đã yêu cầu quá số mã OTP cho phép."),
    "client": ("OTP_CLIENT_LIMIT", "Có quá nhiều yêu cầu gửi mã OTP từ địa chỉ mạng này."),
}


def send_counters(svc: OtpContext, phone: str | None, account: str | None, officer: bool,
                  client: str | None) -> list[SendCounter]:
    """The limits a send counts against: the phone it goes to, the account asking and the client, when known."""
    policy, keys = svc.settings.otp, svc.keys
    counters = []
    if phone:
        counters.append(SendCounter("phone", keys.phone_key(phone), policy.max_sends_per_hour,
                                    policy.max_sends_per_day))
    if account:
        caps = ((policy.max_sends_per_officer_hour, policy.max_sends_per_officer_day) if officer
                else (policy.max_sends_per_account_hour, policy.max_sends_per_account_day))
        counters.append(SendCounter("account", keys.counter_key("otp-account", account), *caps))
    if client:
        counters.append(SendCounter("client", keys.counter_key("otp-client", client),
                                    policy.max_sends_per_client_hour, policy.max_sends_per_client_day))
    return counters


def issue_otp(svc: OtpContext, phone: str, purpose: OtpPurpose, subject: str, *, account: str | None = None,
              officer: bool = False, client: str | None = None, deliver: bool = True) -> dict:
    """Send a new code for (phone, purpose, subject); the previous one stops being valid. Callers are checked
    before this is called (see `check_caller` and the account use cases). ``account`` (who asks, or whose phone a
    reset code goes to; ``officer`` for an officer's higher caps) and ``client`` (the caller's IP) add their own
    send caps to the phone's. ``deliver=False`` keeps the record and the counters but sends nothing (a reset asked
    for an ID number without an account: answered like any other)."""
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
    counters = send_counters(svc, phone if deliver else None, account, officer, client)
    sms = [outbox.sms(phone, sms_text(code, purpose, policy))] if deliver else []
    try:
        # The SMS goes out with the code: its intent is written in the same transaction as the code's hash.
        svc.otp.save_issued(record, previous.rev if previous else None, counters, windows,
                            windows.day_ends_at + 86_400, sms)
    except SendLimitError as exc:
        ends = windows.hour_ends_at if exc.which == "hour" else windows.day_ends_at
        if exc.kind in _CAP_MESSAGES:
            code_name, text = _CAP_MESSAGES[exc.kind]
            raise too_many(code_name, max(1, ends - now), text) from None
        reason = SendRefusal.HOURLY_LIMIT if exc.which == "hour" else SendRefusal.DAILY_LIMIT
        raise too_many(reason.value, max(1, ends - now), _SEND_MESSAGES[reason]) from None
    except StaleRecordError:
        raise too_many(SendRefusal.TOO_SOON.value, policy.resend_cooldown_s,
                       _SEND_MESSAGES[SendRefusal.TOO_SOON]) from None
    svc.count("OtpIssued" if deliver else "OtpWithheld")
    log.info("otp issued", extra={"purpose": purpose.value, "phone": mask_phone(phone), "sent": deliver})
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
    record = svc.otp.register_attempt(key, now, policy.max_attempts, now + policy.lockout_s + 86_400)
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
    """Attempts used up: locked while the lock-out lasts, then expired (a new code must be asked for)."""
    record = svc.otp.get(key)
    policy = svc.settings.otp
    if record is not None and is_locked(record, now, policy):
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


def token_usable(svc: OtpContext, claim: TokenClaim) -> bool:
    """Whether the claimed token is still there to consume (a read, for a use case that must know before a step it
    cannot undo cheaply; the consuming write still checks it)."""
    record = svc.otp.get(claim.otp_key)
    return record is not None and bool(record.token_hash) and hmac.compare_digest(record.token_hash, claim.token_hash) \
        and record.token_expires_at >= claim.now


def token_rejected() -> AppError:
    return AppError("VERIFICATION_TOKEN_INVALID",
                    "Mã xác thực OTP không hợp lệ, đã được sử dụng hoặc đã hết hạn. Vui lòng xác thực lại mã OTP "
                    "mới nhất.", 422, "Xác thực OTP không hợp lệ")
