"""Wires the OTP / officer / citizen-account / bank-link adapters once per container (lazily, on first use).

Kept apart from ``bootstrap.py`` (which only asks `bank_links()` for the payment flow's `BankLinks` port), so the
payment loop's cold start does not load any of this.
"""
from __future__ import annotations

import os
import threading
from functools import wraps
from typing import Callable, TypeVar

from chalicelib.config import get_settings

T = TypeVar("T")


def _per_settings(build: Callable[[], T]) -> Callable[[], T]:
    """Build once per Settings object: `bootstrap.reset()` (a new environment) makes a new one, and so a rebuild."""
    cached: list = []
    lock = threading.Lock()  # one per wired object: building one may need another

    @wraps(build)
    def get() -> T:
        settings = get_settings()
        if cached and cached[0] is settings:
            return cached[1]
        with lock:
            if not (cached and cached[0] is settings):
                cached[:] = [settings, build()]
        return cached[1]

    get.cache_clear = cached.clear  # type: ignore[attr-defined]
    return get


@_per_settings
def link_store():
    from chalicelib.accounts.adapters.dynamo import DynamoBankLinkStore

    return DynamoBankLinkStore(get_settings())


def bank_links():
    """The payment flow's `BankLinks` port: is this signed-in citizen linked at this bank? (The link store itself,
    so the payment loop's first request imports none of the account use cases.)"""
    return link_store()


@_per_settings
def token_issuer():
    """Sign-in's token issuer: the local HS256 issuer, on local stages only (a deployed stage would delegate
    sign-in to the portal's identity provider; nothing here issues tokens there)."""
    from chalicelib.identity.adapters import LocalTokenIssuer
    from chalicelib.local import devkeys

    s = get_settings()
    if s.jwt_mode != "local" or not s.is_local:
        raise RuntimeError("password sign-in issues local tokens only on local stages")
    return LocalTokenIssuer(s.local_jwt_secret or devkeys.LOCAL_JWT_SECRET, s.jwt_issuer or devkeys.LOCAL_JWT_ISSUER,
                            s.jwt_audience)


class _LazyIssuer:
    def issue(self, subject: str, roles: list[str], ttl_s: int) -> str:
        return token_issuer().issue(subject, roles, ttl_s)


@_per_settings
def account_services():
    from chalicelib.accounts.adapters.dynamo import (
        DynamoCitizenAccounts,
        DynamoDirectory,
        LedgerPaymentHistory,
    )
    from chalicelib.accounts.adapters.ibanking import HttpInternetBanking
    from chalicelib.accounts.adapters.passwords import Argon2Passwords
    from chalicelib.accounts.adapters.scans import S3ScanFiles
    from chalicelib.accounts.context import AccountServices, AccountSettings
    from chalicelib.aws.notify import SnsSms
    from chalicelib.aws.observability import metrics
    from chalicelib.bootstrap import app_secrets
    from chalicelib.core.clock import SystemClock
    from chalicelib.core.hashing import HmacKeyring
    from chalicelib.otp.adapters import DynamoOtpStore

    s = get_settings()
    secrets = app_secrets()
    argon_memory = os.environ.get("ARGON2_MEMORY_KIB")
    return AccountServices(
        settings=AccountSettings.from_env(s.sso_banks),
        clock=SystemClock(),
        otp=DynamoOtpStore(s),
        directory=DynamoDirectory(s),
        accounts=DynamoCitizenAccounts(s),
        links=link_store(),
        files=S3ScanFiles(s.region, s.documents_bucket, s.aws_endpoint_url),
        banks=HttpInternetBanking(s.bank_gateway_url, secrets.bank_secrets),
        sms=SnsSms(s.region),
        tokens=_LazyIssuer(),
        passwords=Argon2Passwords(memory_cost=int(argon_memory) if argon_memory else None),
        history=LedgerPaymentHistory(s),
        keys=HmacKeyring(secrets.id_hash_key),
        metrics=metrics(),
    )


def reset() -> None:
    """Forget every wired object (tests that change the environment)."""
    for fn in (link_store, token_issuer, account_services):
        fn.cache_clear()
    from chalicelib.accounts.adapters.scans import s3_client

    s3_client.cache_clear()
