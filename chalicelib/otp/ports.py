"""What the OTP use cases need from the outside world: the store of OTP records and the keyed hashes. DynamoDB
(`otp.adapters`) and the in-memory fakes of the tests implement these."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from chalicelib.core.clock import Clock
from chalicelib.otp.domain import OtpRecord, SendCounter, SendWindows
from chalicelib.outbox.domain import Intent


class SendLimitError(Exception):
    """A send counter is full: ``kind`` names the counter ("phone", "account", "client"), ``which`` the window
    ("hour" or "day")."""

    def __init__(self, which: str, kind: str = "phone") -> None:
        super().__init__(f"{kind} {which}")
        self.which, self.kind = which, kind


class TokenRejectedError(Exception):
    """The verification token is unknown, already used, expired or bound to something else."""


@dataclass(frozen=True)
class TokenClaim:
    """Consume a verification token inside the same transaction as the write it authorises."""

    otp_key: str
    token_hash: str
    now: int


class OtpStore(Protocol):
    def get(self, key: str) -> OtpRecord | None: ...

    def save_issued(self, record: OtpRecord, expected_rev: int | None, counters: Sequence[SendCounter],
                    windows: SendWindows, counter_ttl: int, intents: Sequence[Intent] = ()) -> None:
        """One transaction: the new record (if the stored rev is still ``expected_rev``; None: absent), every
        counter's hourly and daily count moved by one (each below its cap) and the intents (the SMS).
        SendLimitError names the first full counter; StaleRecordError if the record moved."""

    def register_attempt(self, key: str, now: int, max_attempts: int, ttl: int) -> OtpRecord | None:
        """Atomically count one verification attempt if fewer than ``max_attempts`` are counted; return the
        record after the increment, or None (already at the limit). A key without a record gets one (no code,
        expired, living until ``ttl``), so that a guess at a code never sent is counted and answered like any wrong
        code."""

    def mark_verified(self, key: str, code_hash: str, token_hash: str, token_expires_at: int) -> bool:
        """Mark the code used, reset the attempts and store the token hash, if the code is still this one and
        unused. False when another request got there first (or a resend replaced the code)."""


class Keyring(Protocol):
    """Keyed hashes (HMAC sub-keys of the app secret). Nothing secret or personal is ever stored in clear."""

    def otp_key(self, phone: str, purpose: str, subject: str) -> str: ...

    def code_hash(self, otp_key: str, code: str) -> str: ...

    def token_hash(self, token: str) -> str: ...

    def id_hash(self, id_number: str) -> str: ...

    def phone_key(self, phone: str) -> str: ...

    def counter_key(self, kind: str, value: str) -> str:
        """The key of a send or sign-in counter for an account or a client IP (never the value in clear)."""
        ...


class OtpContext(Protocol):
    """The part of the service context the OTP use cases read (the one Context satisfies it)."""

    settings: Any  # .otp is the OtpPolicy
    clock: Clock
    otp: OtpStore
    keys: Keyring
    new_code: Callable[[], str] | None

    def count(self, name: str, value: int = 1) -> None: ...
