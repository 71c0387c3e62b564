"""The one composition root: which adapter implements each port, wired once per container and lazily per port.

`context()` is the service context of this container: the settings read once, and one factory per port. A port is
built the first time a use case reads it, so a Lambda that only ever serves one capability never imports the
others' dependencies (fpdf2, the Cognito or province HTTP clients...). `install()` (called by app.py) hands
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


def _replays(c: Context):
    from chalicelib.aws.replays import DynamoReplayGuard

    return DynamoReplayGuard(c.settings)


def _keys(c: Context):
    from chalicelib.core.hashing import HmacKeyring

    return HmacKeyring(c.secrets.id_hash_key)


def _hasher(c: Context):
    from chalicelib.core.hashing import HmacIdHasher

    return HmacIdHasher(c.secrets.id_hash_key)


def _verifier(c: Context):
    """The pool's JWKS verifier, then the directory's check of the principal (accounts.services.sessions)."""
    from chalicelib.accounts.services.sessions import check_principal
    from chalicelib.identity.adapters import CheckedVerifier

    return CheckedVerifier(make_token_verifier(c.settings), lambda principal: check_principal(c, principal))


def make_token_verifier(s: Settings):
    """RS256 access tokens of the stage's user pool, checked against its JWKS: in AWS, and on the embedded stack
    against moto's pool at the same path on AWS_ENDPOINT_URL. There is no other issuer on any stage."""
    from chalicelib.identity.cognito import cognito_verifier

    if not (s.cognito_user_pool_id and s.cognito_citizen_client_id and s.cognito_staff_client_id):
        raise RuntimeError("COGNITO_USER_POOL_ID, COGNITO_CITIZEN_CLIENT_ID and COGNITO_STAFF_CLIENT_ID must be set")
    return cognito_verifier(s.region, s.cognito_user_pool_id, s.cognito_citizen_client_id, s.cognito_staff_client_id,
                            endpoint_url=s.aws_endpoint_url or None)


def _users(c: Context):
    from chalicelib.identity.cognito import CognitoDirectory

    s = c.settings
    return CognitoDirectory(s.cognito_user_pool_id, s.cognito_citizen_client_id, s.cognito_staff_client_id, s.region)


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


def _pay_pages(c: Context):
    from chalicelib.payments.adapters.pages import BankPaymentPages

    return BankPaymentPages(c.settings, c.secrets.vnpay_hash_secret)


def _status_refresh(c: Context):
    """Payments' StatusRefresh port is reconciliation's return-page use case (payments never imports it)."""
    from functools import partial

    from chalicelib.reconciliation.services.stale import refresh_on_return

    return partial(refresh_on_return, c)


def _receipt_pdf(c: Context):
    from chalicelib.receipts.adapters.pdf import render_receipt_pdf

    return render_receipt_pdf


# -- reconciliation -------------------------------------------------------------------------------------------------

def _live_payments(c: Context):
    from chalicelib.reconciliation.adapters.live_index import DynamoLivePayments

    return DynamoLivePayments(c.settings, c.outbox)


def _bank_gateways(c: Context):
    from chalicelib.reconciliation.adapters.gateways import HttpBankGateways

    return HttpBankGateways(c.settings, c.secrets, c.clock)


def _refunds(c: Context):
    from chalicelib.reconciliation.adapters.refund_store import DynamoRefunds

    return DynamoRefunds(c.settings, c.outbox)


# -- accounts and OTP -----------------------------------------------------------------------------------------------

def _otp(c: Context):
    from chalicelib.otp.adapters import DynamoOtpStore

    return DynamoOtpStore(c.settings, c.outbox)


def _directory(c: Context):
    from chalicelib.accounts.adapters.dynamo import DynamoDirectory

    return DynamoDirectory(c.settings, c.outbox)


def _guard(c: Context):
    from chalicelib.accounts.adapters.dynamo import DynamoSignInGuard

    return DynamoSignInGuard(c.settings)


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


def _account_form(c: Context):
    from chalicelib.accounts.adapters.account_form import render_account_request_form

    return render_account_request_form


# -- provinces ------------------------------------------------------------------------------------------------------

def _registry(c: Context):
    from chalicelib.provinces.adapters.registry import DynamoProvinceRegistry

    return DynamoProvinceRegistry(c.settings, c.outbox)


def _credentials(c: Context):
    from chalicelib.provinces.adapters.credentials import SecretsManagerCredentials

    s = c.settings
    return SecretsManagerCredentials(s.stage, s.region, s.secrets_max_age_s)


def _deliveries(c: Context):
    from chalicelib.provinces.adapters.deliveries import DynamoDeliveries

    return DynamoDeliveries(c.settings, c.outbox)


def _http(c: Context):
    from chalicelib.provinces.adapters.http import GuardedHttp

    d = c.settings.delivery
    return GuardedHttp(https_only=d.https_only, allow_loopback=d.allow_loopback,
                       allowed_loopback_ports=d.allowed_loopback_ports)


# -- onboarding -----------------------------------------------------------------------------------------------------

def _support_requests(c: Context):
    from chalicelib.onboarding.adapters.dynamo import DynamoSupportRequests

    return DynamoSupportRequests(c.settings, c.outbox)


def _progress(c: Context):
    from chalicelib.onboarding.adapters.dynamo import DynamoProgress

    return DynamoProgress(c.settings)


def _support_files(c: Context):
    from chalicelib.onboarding.adapters.files import S3AttachmentFiles

    s = c.settings
    return S3AttachmentFiles(s.region, s.documents_bucket, s.aws_endpoint_url)


def _credential_sealer(c: Context):
    from chalicelib.provinces.adapters.credentials import KmsCredentialSealer

    return KmsCredentialSealer(c.settings.region, c.settings.app_key_id)


class _StepEvents:
    """The provinces' StepEvents port, served by onboarding's use case: the composition root joins the two
    capabilities, which never import each other in that direction."""

    def __init__(self, c: Context) -> None:
        self._c = c

    def record(self, province: str, step: int, evidence: dict) -> None:
        from chalicelib.onboarding.services.progress import record_step_event

        record_step_event(self._c, province, step, evidence)


class _NoSelfTestRuns:
    """Until the self-test capability is merged: no run is known, so a confirmation cites attachments instead."""

    def get(self, run_id: str):
        return None


FACTORIES: dict[str, Factory] = {
    "secrets": _secrets, "metrics": _metrics, "sms": _sms, "alerts": _alerts, "forwarding": _forwarding,
    "queue": lambda c: c.forwarding, "outbox": _outbox, "replays": _replays, "keys": _keys, "hasher": _hasher,
    "verifier": _verifier, "users": _users,
    "dossiers": _dossiers, "ledger": _ledger, "history": _history, "receipt_pdf": _receipt_pdf,
    "pay_pages": _pay_pages, "status_refresh": _status_refresh,
    "live_payments": _live_payments, "bank_gateways": _bank_gateways, "refunds": _refunds,
    "bank_links": _links, "otp": _otp, "directory": _directory, "accounts": _accounts, "links": _links,
    "files": _files, "banks": _banks, "guard": _guard, "account_form": _account_form,
    "registry": _registry, "credentials": _credentials, "deliveries": _deliveries, "http": _http,
    "support_requests": _support_requests, "progress": _progress, "support_files": _support_files,
    "credential_sealer": _credential_sealer, "step_events": _StepEvents, "self_test_runs": lambda c: _NoSelfTestRuns(),
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
