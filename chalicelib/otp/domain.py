"""One-time passwords (M8): 6-digit codes sent by SMS, valid two minutes, single use, only the newest valid.

Pure rules, no storage: what a stored OTP record says about the next send or the next verification attempt. The
service stores the record (keyed by a keyed hash of phone, purpose and subject), and every decision below is taken
again by the store's conditions, so two concurrent requests cannot both pass a limit.

Brute force is bounded by three independent limits: a verification attempt is counted *before* the code is
compared (so no guess is ever evaluated beyond ``max_attempts``), the counter survives a resend (a new code does not
buy new guesses), and sends per phone are capped per hour and per day (so at most ``max_attempts`` guesses per sent
SMS, and a bounded number of SMS). The lock-out lasts longer than a code lives. Sends are also capped per account
(the citizen or officer asking; the account a reset code goes to) and per client IP, so nobody can pump SMS to
numbers of their choosing through phone changes or account creation.

Someone who does not hold the code learns nothing from a verification: a wrong code gets the same answer whether a
code is pending, expired, used or was never sent (only the holder of the right code hears "expired" or "used").
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

CODE_DIGITS = 6


class OtpPurpose(str, Enum):
    """What the verified code unlocks; part of the key, so a code for one purpose never unlocks another."""

    ACCOUNT_CREATION = "account_creation"
    BANK_LINK = "bank_link"
    PHONE_CHANGE = "phone_change"
    PASSWORD_RESET = "password_reset"


PURPOSE_TEXT = {
    OtpPurpose.ACCOUNT_CREATION: "tạo tài khoản Cổng Dịch vụ công quốc gia",
    OtpPurpose.BANK_LINK: "liên kết tài khoản ngân hàng",
    OtpPurpose.PHONE_CHANGE: "đổi số điện thoại tài khoản",
    OtpPurpose.PASSWORD_RESET: "đặt lại mật khẩu tài khoản Cổng Dịch vụ công quốc gia",
}


@dataclass(frozen=True)
class OtpPolicy:
    """Every OTP limit, as configuration (seconds and counts)."""

    ttl_s: int = 120
    max_attempts: int = 5
    lockout_s: int = 900
    resend_cooldown_s: int = 60
    max_sends_per_hour: int = 5  # per phone
    max_sends_per_day: int = 10
    token_ttl_s: int = 600
    max_sends_per_account_hour: int = 5  # per citizen account (phone change, bank link, password reset)
    max_sends_per_account_day: int = 10
    max_sends_per_officer_hour: int = 30  # per officer (account creation: one code per citizen at the desk)
    max_sends_per_officer_day: int = 150
    max_sends_per_client_hour: int = 60  # per client IP, whoever asks (a one-stop centre shares one address)
    max_sends_per_client_day: int = 300


@dataclass(frozen=True)
class OtpRecord:
    """The stored state of one (phone, purpose, subject): the newest code's hash and the counters that outlive it."""

    key: str
    code_hash: str
    issued_at: int
    expires_at: int
    used: bool
    attempts: int  # verification attempts since the last success; carried across resends
    last_attempt_at: int
    last_sent_at: int
    rev: int
    token_hash: str | None = None
    token_expires_at: int = 0


def new_code() -> str:
    """A uniformly random 6-digit code from the OS's CSPRNG (leading zeros kept)."""
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def new_token() -> str:
    """The verification token handed out after a correct code: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def lock_ends_at(record: OtpRecord, policy: OtpPolicy) -> int | None:
    """When the lock-out of a record ends, or None if it is not locked out (whatever the time)."""
    if record.attempts < policy.max_attempts:
        return None
    return record.last_attempt_at + policy.lockout_s


def is_locked(record: OtpRecord, now: float, policy: OtpPolicy) -> bool:
    end = lock_ends_at(record, policy)
    return end is not None and now < end


class SendRefusal(Enum):
    LOCKED = "OTP_LOCKED"
    TOO_SOON = "OTP_RESEND_TOO_SOON"
    HOURLY_LIMIT = "OTP_HOURLY_LIMIT"
    DAILY_LIMIT = "OTP_DAILY_LIMIT"


def send_refusal(record: OtpRecord | None, now: float, policy: OtpPolicy) -> tuple[SendRefusal, int] | None:
    """Why a new code may not be sent now for this record (and in how many seconds it may), or None."""
    if record is None:
        return None
    end = lock_ends_at(record, policy)
    if end is not None and now < end:
        return SendRefusal.LOCKED, _seconds_until(end, now)
    ready = record.last_sent_at + policy.resend_cooldown_s
    if now < ready:
        return SendRefusal.TOO_SOON, _seconds_until(ready, now)
    return None


def issued(previous: OtpRecord | None, key: str, code_hash: str, now: int, policy: OtpPolicy) -> OtpRecord:
    """The record after sending a new code: the old code and any unconsumed token are gone, failed attempts stay
    (unless a lock-out has run its course)."""
    attempts = 0
    if previous is not None:
        attempts = 0 if previous.attempts >= policy.max_attempts else previous.attempts
    return OtpRecord(
        key=key, code_hash=code_hash, issued_at=now, expires_at=now + policy.ttl_s, used=False,
        attempts=attempts, last_attempt_at=previous.last_attempt_at if previous else 0, last_sent_at=now,
        rev=(previous.rev + 1) if previous else 1,
    )


class AttemptOutcome(Enum):
    ACCEPTED = "ACCEPTED"
    USED = "OTP_USED"
    EXPIRED = "OTP_EXPIRED"
    INVALID = "OTP_INVALID"


def judge_attempt(record: OtpRecord, code_matches: bool, now: float) -> AttemptOutcome:
    """Judge an attempt already counted in ``record``. Valid up to and including ``expires_at``. A wrong code is
    INVALID whatever state the record is in (even a record made by the attempt itself, for a code never sent), so
    only the holder of the right code can tell a pending code from an expired, used or absent one."""
    if not code_matches:
        return AttemptOutcome.INVALID
    if record.used:
        return AttemptOutcome.USED
    if now > record.expires_at:
        return AttemptOutcome.EXPIRED
    return AttemptOutcome.ACCEPTED


def attempts_left(record: OtpRecord, policy: OtpPolicy) -> int:
    return max(0, policy.max_attempts - record.attempts)


def counted_attempt(record: OtpRecord, now: int) -> OtpRecord:
    """What the store's atomic increment produces (used by in-memory stores)."""
    return replace(record, attempts=record.attempts + 1, last_attempt_at=now)


@dataclass(frozen=True)
class SendCounter:
    """One send limit: a keyed counter (phone, account or client) with its hourly and daily caps."""

    kind: str  # "phone" | "account" | "client": which limit answers when it is full
    key: str
    max_per_hour: int
    max_per_day: int


@dataclass(frozen=True)
class SendWindows:
    """The fixed windows (Vietnam time) that per-phone send counters are kept in."""

    hour: str
    hour_ends_at: int
    day: str
    day_ends_at: int


def send_windows(now: datetime) -> SendWindows:
    hour_start = now.replace(minute=0, second=0, microsecond=0)
    day_start = hour_start.replace(hour=0)
    return SendWindows(
        hour=f"H#{hour_start:%Y%m%d%H}", hour_ends_at=int((hour_start + timedelta(hours=1)).timestamp()),
        day=f"D#{day_start:%Y%m%d}", day_ends_at=int((day_start + timedelta(days=1)).timestamp()),
    )


def _seconds_until(moment: float, now: float) -> int:
    return max(1, int(moment - now + 0.999))


def sms_text(code: str, purpose: OtpPurpose, policy: OtpPolicy) -> str:
    minutes = policy.ttl_s // 60
    validity = f"{minutes} phút" if policy.ttl_s % 60 == 0 else f"{policy.ttl_s} giây"
    return (f"{code} là mã OTP để {PURPOSE_TEXT[purpose]}, có hiệu lực trong {validity}. "
            "Tuyệt đối không cung cấp mã này cho bất kỳ ai. Cổng Dịch vụ công quốc gia.")
