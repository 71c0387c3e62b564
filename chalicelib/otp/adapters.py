"""DynamoDB store of OTP records (directory table): OTP#<hmac(phone|purpose|subject)> / OTP holds the newest
code's hash, the attempts and the verification token's hash; RATE#<hmac(phone)> and RATE#<hmac(kind|account or
client)> / H#yyyymmddhh, D#yyyymmdd are the send counters (TTL). Only hashes are ever stored."""
from __future__ import annotations

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.aws.tables import DirectoryTable, cancellation_reasons, failed_at, is_conditional
from chalicelib.core.ports import StaleRecordError
from chalicelib.otp.domain import OtpRecord, SendCounter, SendWindows
from chalicelib.otp.ports import SendLimitError, TokenClaim


class DynamoOtpStore(DirectoryTable):
    def get(self, key: str) -> OtpRecord | None:
        item = self._get(f"OTP#{key}", "OTP")
        return _otp(item, key) if item is not None else None

    def __init__(self, settings, outbox=None) -> None:
        super().__init__(settings)
        self._outbox = outbox  # builds the SMS intent written with the code

    def save_issued(self, record: OtpRecord, expected_rev: int | None, counters: list[SendCounter],
                    windows: SendWindows, counter_ttl: int, intents=()) -> None:
        M = self.M
        item = M(f"OTP#{record.key}", "OTP", kind="otp", code_hash=record.code_hash, issued_at=record.issued_at,
                 expires_at=record.expires_at, used=0, attempts=record.attempts,
                 last_attempt_at=record.last_attempt_at, last_sent_at=record.last_sent_at, rev=record.rev,
                 ttl=record.expires_at + 86_400)
        condition = M.pk.does_not_exist() if expected_rev is None else (M.rev == expected_rev)
        try:
            with self._tx() as tx:
                tx.save(item, condition=condition)
                for counter in counters:
                    for sk, cap in ((windows.hour, counter.max_per_hour), (windows.day, counter.max_per_day)):
                        tx.update(M(f"RATE#{counter.key}", sk), actions=[M.count.add(1), M.ttl.set(counter_ttl),
                                                                         M.kind.set("otp_rate")],
                                  condition=M.count.does_not_exist() | (M.count < cap))
                for intent_item in self._outbox.items(intents) if intents else ():
                    tx.save(intent_item)
        except TransactWriteError as exc:
            # puts first (the record, then the intents), then the updates (each counter's hour, then day)
            reasons, first = cancellation_reasons(exc), 1 + len(intents)
            for i, counter in enumerate(counters):
                for j, which in enumerate(("hour", "day")):
                    if failed_at(reasons, first + 2 * i + j):
                        raise SendLimitError(which, counter.kind) from None
            if failed_at(reasons, 0) or any(r not in (None, "None") for r in reasons):
                raise StaleRecordError(record.key) from None
            raise

    def register_attempt(self, key: str, now: int, max_attempts: int, ttl: int) -> OtpRecord | None:
        M = self.M
        item = M(f"OTP#{key}", "OTP")
        # Absent: the update makes a record with no code (code_hash "-" never matches), expired, counted once.
        absent = [M.kind.set(M.kind | "otp"), M.code_hash.set(M.code_hash | "-"), M.issued_at.set(M.issued_at | 0),
                  M.expires_at.set(M.expires_at | 0), M.used.set(M.used | 0), M.last_sent_at.set(M.last_sent_at | 0),
                  M.ttl.set(M.ttl | ttl)]
        try:
            item.update(actions=[M.attempts.add(1), M.last_attempt_at.set(now), M.rev.add(1), *absent],
                        condition=M.pk.does_not_exist() | (M.attempts < max_attempts))
        except UpdateError as exc:
            if is_conditional(exc):
                return None
            raise
        return _otp(item, key)

    def mark_verified(self, key: str, code_hash: str, token_hash: str, token_expires_at: int) -> bool:
        M = self.M
        try:
            M(f"OTP#{key}", "OTP").update(
                actions=[M.used.set(1), M.attempts.set(0), M.token_hash.set(token_hash),
                         M.token_expires_at.set(token_expires_at), M.rev.add(1)],
                condition=(M.code_hash == code_hash) & (M.used == 0))
        except UpdateError as exc:
            if is_conditional(exc):
                return False
            raise
        return True


def _otp(item, key: str) -> OtpRecord:
    return OtpRecord(
        key=key, code_hash=item.code_hash or "", issued_at=int(item.issued_at or 0),
        expires_at=int(item.expires_at or 0), used=bool(item.used), attempts=int(item.attempts or 0),
        last_attempt_at=int(item.last_attempt_at or 0), last_sent_at=int(item.last_sent_at or 0),
        rev=int(item.rev or 0), token_hash=item.token_hash, token_expires_at=int(item.token_expires_at or 0),
    )


def consume_token(tx: TransactWrite, M, claim: TokenClaim) -> None:
    """Consume a verification token inside another use case's transaction: it must still be this one and unexpired;
    it is removed (so it can never authorise a second write)."""
    tx.update(M(f"OTP#{claim.otp_key}", "OTP"), actions=[M.token_hash.remove(), M.rev.add(1)],
              condition=(M.token_hash == claim.token_hash) & (M.token_expires_at >= claim.now))
