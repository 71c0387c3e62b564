"""The one composition root: which adapter implements each port, wired once per container and lazily per port.

`context()` is the service context of this container: the settings read once, and one factory per port. A port is
built the first time a use case reads it, so a Lambda that only ever serves one capability never imports the
others' dependencies (fpdf2, argon2, the Cognito or province HTTP clients...). `install()` (called by app.py) hands
the context to the HTTP shell and the jobs; nothing in the capabilities imports this module.
"""
from __future__ import annotations

import threading
from typing import Any

from chalicelib.config import Settings, get_settings
from chalicelib.core.context import Context, Factory

_lock = threading.Lock()
_current: list[Context] = []


# -- shared ---------------------------------------------------------------------------------------------------------

def _secrets(c: Context):
    from chalicelib.aws.secrets import AppSecrets

    s = c.settings
    return AppSecrets(s.app_secret_name, s.region, s.secrets_max_age_s)


def _metrics(c: Context):
    from chalicelib.aws.observability import metrics

    return metrics()


def _sms(c: Context):
    from chalicelib.aws.notify import SnsSms

    return SnsSms(c.settings.region)


def _alerts(c: Context):
    from chalicelib.aws.notify import SnsAlertChannels

    s = c.settings
    return SnsAlertChannels(s.region, s.alerts_topic_arn, s.alert_emails_topic_arn)


def _forwarding(c: Context):
    from chalicelib.provinces.adapters.queue import SqsForwarding

    s = c.settings
    return SqsForwarding(s.region, s.forwarding_queue_url, s.forwarding_dlq_url)


def _outbox(c: Context):
    from chalicelib.outbox.adapters import AesGcmSealer, DynamoOutbox

    return DynamoOutbox(c.settings, AesGcmSealer(c.secrets.id_hash_key))


def _keys(c: Context):
    from chalicelib.core.hashing import HmacKeyring

    return HmacKeyring(c.secrets.id_hash_key)


def _hasher(c: Context):
    from chalicelib.core.hashing import HmacIdHasher

    return HmacIdHasher(c.secrets.id_hash_key)


def _verifier(c: Context):
    return make_token_verifier(c.settings)


def make_token_verifier(s: Settings):
    from chalicelib.identity.adapters import LOCAL_JWT_ISSUER, LOCAL_JWT_SECRET, JwksVerifier, LocalJwtVerifier

    if s.jwt_mode == "jwks":
        return JwksVerifier(s.jwks_url, s.jwt_issuer, s.jwt_audience, None)
    if not s.is_local:
        raise RuntimeError("the local JWT issuer is refused outside local stages")
    return LocalJwtVerifier(s.local_jwt_secret or LOCAL_JWT_SECRET, s.jwt_issuer or LOCAL_JWT_ISSUER, s.jwt_audience)


def _tokens(c: Context):
    """Sign-in's token issuer: the local HS256 issuer, on local stages only (a deployed stage delegates sign-in to
    the portal's identity provider; nothing here issues tokens there)."""
    from chalicelib.identity.adapters import LOCAL_JWT_ISSUER, LOCAL_JWT_SECRET, LocalTokenIssuer

    s = c.settings
    if s.jwt_mode != "local" or not s.is_local:
        raise RuntimeError("password sign-in issues local tokens only on local stages")
    return LocalTokenIssuer(s.local_jwt_secret or LOCAL_JWT_SECRET, s.jwt_issuer or LOCAL_JWT_ISSUER, s.jwt_audience)


# -- payments and receipts ------------------------------------------------------------------------------------------

def _dossiers(c: Context):
    from chalicelib.payments.adapters.dynamo import DynamoDossiers

    return DynamoDossiers(c.settings, c.outbox)


def _ledger(c: Context):
    from chalicelib.payments.adapters.dynamo import DynamoLedger

    return DynamoLedger(c.settings, c.outbox)


def _history(c: Context):
    from chalicelib.payments.adapters.history import LedgerPaymentHistory

    return LedgerPaymentHistory(c.settings)


def _receipt_pdf(c: Context):
    from chalicelib.receipts.adapters.pdf import render_receipt_pdf

    return render_receipt_pdf


# -- accounts and OTP -----------------------------------------------------------------------------------------------

def _otp(c: Context):
    from chalicelib.otp.adapters import DynamoOtpStore

    return DynamoOtpStore(c.settings, c.outbox)


def _directory(c: Context):
    from chalicelib.accounts.adapters.dynamo import DynamoDirectory

    return DynamoDirectory(c.settings)


def _accounts(c: Context):
    from chalicelib.accounts.adapters.dynamo import DynamoCitizenAccounts

    return DynamoCitizenAccounts(c.settings, c.outbox)


def _links(c: Context):
    """Also the payment flow's `BankLinks` port (is this citizen linked at this bank?): the link store itself, so the
    payment loop's first request imports none of the account use cases."""
    from chalicelib.accounts.adapters.dynamo import DynamoBankLinkStore

    return DynamoBankLinkStore(c.settings)


def _files(c: Context):
    from chalicelib.accounts.adapters.scans import S3ScanFiles

    s = c.settings
    return S3ScanFiles(s.region, s.documents_bucket, s.aws_endpoint_url)


def _banks(c: Context):
    from chalicelib.accounts.adapters.ibanking import HttpInternetBanking

    return HttpInternetBanking(c.settings.bank_gateway_url, c.secrets.bank_secrets)


def _passwords(c: Context):
    from chalicelib.accounts.adapters.passwords import Argon2Passwords

    return Argon2Passwords(memory_cost=c.settings.argon2_memory_kib)


def _account_form(c: Context):
    from chalicelib.accounts.adapters.account_form import render_account_request_form

    return render_account_request_form


# -- provinces ------------------------------------------------------------------------------------------------------

def _registry(c: Context):
    from chalicelib.provinces.adapters.registry import DynamoProvinceRegistry

    return DynamoProvinceRegistry(c.settings)


def _credentials(c: Context):
    from chalicelib.provinces.adapters.credentials import SecretsManagerCredentials

    s = c.settings
    return SecretsManagerCredentials(s.stage, s.region, s.secrets_max_age_s)


def _deliveries(c: Context):
    from chalicelib.provinces.adapters.deliveries import DynamoDeliveries

    return DynamoDeliveries(c.settings)


def _http(c: Context):
    from chalicelib.provinces.adapters.http import GuardedHttp

    d = c.settings.delivery
    return GuardedHttp(https_only=d.https_only, allow_loopback=d.allow_loopback,
                       allowed_loopback_ports=d.allowed_loopback_ports)


# -- commune-code map (M10) and the integration self-test (M11) ----------------------------------------------------

def _commune_maps(c: Context):
    from chalicelib.communes.adapters.dynamo import DynamoCommuneMaps

    return DynamoCommuneMaps(c.settings)


def _commune_codes(c: Context):
    """The payments CommuneCodes port: the confirmed maps, today's list and the pre-2025 list."""
    from chalicelib.communes.services.resolve import CommuneResolver

    return CommuneResolver(c)


def _selftests(c: Context):
    from chalicelib.selftest.adapters.dynamo import DynamoSelfTests

    return DynamoSelfTests(c.settings, c.outbox)


def _selftest_queue(c: Context):
    from chalicelib.selftest.adapters.queue import SqsSelfTestQueue

    return SqsSelfTestQueue(c.settings.region, c.settings.selftest_queue_url)


def _evidence(c: Context):
    from chalicelib.selftest.adapters.evidence import S3Evidence

    s = c.settings
    return S3Evidence(s.region, s.documents_bucket, s.aws_endpoint_url)


def _evidence_pdf(c: Context):
    from chalicelib.onboarding.adapters.evidence_pdf import render_evidence_pdf

    return render_evidence_pdf


def _step_events(c: Context):
    """Until the province step tracking is merged (support helper): live provinces from LIVE_PROVINCES, step
    events logged. Replace with the step-tracking use case's adapter."""
    from chalicelib.selftest.adapters.steps import ConfiguredStepEvents

    return ConfiguredStepEvents(c.settings.selftest.live_provinces)


FACTORIES: dict[str, Factory] = {
    "secrets": _secrets, "metrics": _metrics, "sms": _sms, "alerts": _alerts, "forwarding": _forwarding,
    "queue": lambda c: c.forwarding, "outbox": _outbox, "keys": _keys, "hasher": _hasher, "verifier": _verifier, "tokens": _tokens,
    "dossiers": _dossiers, "ledger": _ledger, "history": _history, "receipt_pdf": _receipt_pdf,
    "bank_links": _links, "otp": _otp, "directory": _directory, "accounts": _accounts, "links": _links,
    "files": _files, "banks": _banks, "passwords": _passwords, "account_form": _account_form,
    "registry": _registry, "credentials": _credentials, "deliveries": _deliveries, "http": _http,
    "commune_maps": _commune_maps, "commune_codes": _commune_codes, "selftests": _selftests,
    "selftest_queue": _selftest_queue, "evidence": _evidence, "evidence_pdf": _evidence_pdf,
    "step_events": _step_events,
}


def context() -> Context:
    """This container's service context (built on first call; ports on first use)."""
    if not _current or _current[0].settings is not get_settings():
        with _lock:
            if not _current or _current[0].settings is not get_settings():
                _current[:] = [Context(get_settings(), FACTORIES)]
    return _current[0]


def install() -> None:
    """Give the HTTP shell this composition root's context (app.py, at import: builds nothing yet)."""
    from chalicelib.api import wiring

    wiring.install(context)


def reset() -> None:
    """Forget the settings and every wired object (tests and the local stack, after changing the environment)."""
    from chalicelib.accounts.adapters.scans import s3_client
    from chalicelib.aws.clients import client

    get_settings.cache_clear()
    client.cache_clear()
    s3_client.cache_clear()
    _current.clear()


def wired(name: str) -> Any:
    """A port of the current context (the local stack and the benchmarks reach the same objects the routes use)."""
    return getattr(context(), name)
