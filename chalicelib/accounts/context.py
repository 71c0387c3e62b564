"""The ports and settings the OTP / officer / citizen-account / bank-link use cases run with.

Wired once per container by ``chalicelib.bootstrap_accounts`` (DynamoDB, S3, SNS, the banks, Argon2, the token
issuer) or per test with the in-memory fakes of ``tests/fakes_accounts.py``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable

from chalicelib.accounts.domain import MAX_SCAN_BYTES
from chalicelib.accounts.ports import (
    BankDirectory,
    BankLinkStore,
    CitizenAccounts,
    Directory,
    PasswordHasher,
    PaymentHistory,
    ScanFiles,
    TokenIssuer,
)
from chalicelib.core.clock import Clock, new_ulid
from chalicelib.core.ports import SmsSender
from chalicelib.otp.domain import OtpPolicy
from chalicelib.otp.ports import Keyring, OtpStore


@dataclass(frozen=True)
class AccountSettings:
    otp: OtpPolicy = field(default_factory=OtpPolicy)
    scan_max_bytes: int = MAX_SCAN_BYTES
    scan_upload_expires_s: int = 900
    citizen_token_ttl_s: int = 3600
    password_change_token_ttl_s: int = 600
    max_sign_in_failures: int = 5
    sign_in_lockout_s: int = 900
    sso_banks: tuple[str, ...] = ("VCB",)

    @classmethod
    def from_env(cls, sso_banks: tuple[str, ...]) -> "AccountSettings":
        env = os.environ

        def num(name: str, default: int) -> int:
            return int(env.get(name) or default)

        base = OtpPolicy()
        return cls(
            otp=OtpPolicy(
                ttl_s=num("OTP_TTL_S", base.ttl_s),
                max_attempts=num("OTP_MAX_ATTEMPTS", base.max_attempts),
                lockout_s=num("OTP_LOCKOUT_S", base.lockout_s),
                resend_cooldown_s=num("OTP_RESEND_COOLDOWN_S", base.resend_cooldown_s),
                max_sends_per_hour=num("OTP_MAX_SENDS_PER_HOUR", base.max_sends_per_hour),
                max_sends_per_day=num("OTP_MAX_SENDS_PER_DAY", base.max_sends_per_day),
                token_ttl_s=num("OTP_TOKEN_TTL_S", base.token_ttl_s),
            ),
            scan_max_bytes=num("SCAN_MAX_BYTES", MAX_SCAN_BYTES),
            sso_banks=sso_banks,
        )


@dataclass
class AccountServices:
    settings: AccountSettings
    clock: Clock
    otp: OtpStore
    directory: Directory
    accounts: CitizenAccounts
    links: BankLinkStore
    files: ScanFiles
    banks: BankDirectory
    sms: SmsSender
    tokens: TokenIssuer
    passwords: PasswordHasher
    history: PaymentHistory
    keys: Keyring
    new_id: Callable[[], str] = new_ulid
    new_code: Callable[[], str] | None = None  # None: domain.otp.new_code (tests inject a known code)
    metrics: Any = None

    def count(self, name: str, value: int = 1) -> None:
        if self.metrics is not None:
            self.metrics.add(name, value)


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the use cases need it (built by the HTTP layer from the verified token; no token: None
    subject and no roles)."""

    subject: str | None
    roles: frozenset[str] = frozenset()
    province_code: str | None = None

    def has(self, role: str) -> bool:
        return role in self.roles
