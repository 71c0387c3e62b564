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


def _sealer(c: Context):
    from chalicelib.outbox.adapters import AesGcmSealer

    return AesGcmSealer(c.secrets.id_hash_key, label=b"personal-data-v1")
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

    return DynamoDossiers(c.settings, c.outbox, c.reminders)


def _ledger(c: Context):
    from chalicelib.payments.adapters.ledger import DynamoLedger

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
    """The province's attachment: the same kept, signed PDF a download gets."""
    from chalicelib.receipts.domain import Receipt

    return lambda doc: c.receipt_documents.pdf(Receipt.model_validate(doc))


def _receipts(c: Context):
    from chalicelib.receipts.adapters.dynamo import DynamoReceipts

    return DynamoReceipts(c.settings)


def _receipt_signing(c: Context):
    from chalicelib.receipts.adapters.keys import SecretReceiptKeys, secret_loader

    s = c.settings
    return SecretReceiptKeys(secret_loader(s.receipt_signing_secret_name, s.region, s.secrets_max_age_s))


def _receipt_documents(c: Context):
    from chalicelib.receipts.adapters.documents import ReceiptPdfMaker, S3ReceiptDocuments
    from chalicelib.receipts.adapters.pdf import render_receipt_pdf

    s = c.settings
    maker = ReceiptPdfMaker(render_receipt_pdf, c.receipt_signing, s.receipt_verify_url)
    return S3ReceiptDocuments(s.region, s.documents_bucket, s.aws_endpoint_url, maker)


def _reports(c: Context):
    from chalicelib.receipts.adapters.reports import DynamoReports

    return DynamoReports(c.settings, c.outbox)


def _tax_gateway(c: Context):
    from chalicelib.receipts.adapters.tax_authority import TaxAuthorityClient

    return TaxAuthorityClient(c.settings.tax_authority, c.http, c.secrets.tax_authority)


def _tax_reports(c: Context):
    from chalicelib.receipts.adapters.tax_authority import TaxAuthorityReports

    return TaxAuthorityReports(c.tax_gateway, c.receipt_signing)


def _tax_authority(c: Context):
    from chalicelib.taxes.adapters.gateway import GatewayTaxAuthority

    return GatewayTaxAuthority(c.tax_gateway)


def _taxpayers(c: Context):
    """The taxes capability's view of an account (tax code, phone): the account store itself, behind its port."""
    from chalicelib.taxes.adapters.accounts import AccountTaxpayers

    return AccountTaxpayers(c.accounts, c.sealer)


def _reminders(c: Context):
    from chalicelib.reminders.adapters import DynamoReminders

    return DynamoReminders(c.settings, c.sealer, c.outbox)


def _opt_outs(c: Context):
    from chalicelib.reminders.adapters import DynamoOptOuts

    return DynamoOptOuts(c.settings, c.keys)


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

    return DynamoDirectory(c.settings, c.outbox, keys=c.keys)


def _guard(c: Context):
    from chalicelib.accounts.adapters.dynamo import DynamoSignInGuard

    return DynamoSignInGuard(c.settings)


def _accounts(c: Context):
    from chalicelib.accounts.adapters.dynamo import DynamoCitizenAccounts

    return DynamoCitizenAccounts(c.settings, c.outbox, keys=c.keys, sealer=c.sealer)


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

    def is_live(self, province: str) -> bool:
        from chalicelib.onboarding.services.progress import is_live

        return is_live(self._c, province)


class _SelfTestRuns:
    """Onboarding's SelfTestRuns port over the self-test capability's store: a confirmation request cites a run
    by id, and the run's province, outcome and evidence keys are what it records."""

    def __init__(self, c: Context) -> None:
        self._c = c

    def get(self, run_id: str):
        run = self._c.selftests.get(run_id)
        if run is None:
            return None
        return {"run_id": run.run_id, "province": run.province, "passed": run.status == "passed",
                "finished_at": run.finished_at, "evidence": run.evidence.model_dump() if run.evidence else None}


# -- reconciliation and reports -------------------------------------------------------------------------------------

def _runs(c: Context):
    from chalicelib.reconciliation.adapters.runs import DynamoRunStore

    return DynamoRunStore(c.settings, c.outbox)


def _portal(c: Context):
    from chalicelib.reconciliation.adapters.portal import DynamoPortalDay

    return DynamoPortalDay(c.settings)


def _settlement_files(c: Context):
    from chalicelib.reconciliation.adapters.files import S3SettlementFiles

    s = c.settings
    return S3SettlementFiles(s.region, s.documents_bucket, s.aws_endpoint_url)


def _settlement_formats(c: Context):
    from chalicelib.reconciliation.adapters import settlement_formats

    return settlement_formats


def _report_days(c: Context):
    from chalicelib.reports.adapters import DynamoReportDays

    return DynamoReportDays(c.settings)


def _export_files(c: Context):
    from chalicelib.reports.adapters import S3ExportFiles

    s = c.settings
    return S3ExportFiles(s.region, s.documents_bucket, s.aws_endpoint_url)


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


FACTORIES: dict[str, Factory] = {
    "secrets": _secrets, "metrics": _metrics, "sms": _sms, "alerts": _alerts, "forwarding": _forwarding,
    "queue": lambda c: c.forwarding, "outbox": _outbox, "replays": _replays, "keys": _keys, "hasher": _hasher,
    "verifier": _verifier, "users": _users,
    "dossiers": _dossiers, "ledger": _ledger, "history": _history, "receipt_pdf": _receipt_pdf,
    "pay_pages": _pay_pages, "status_refresh": _status_refresh,
    "live_payments": _live_payments, "bank_gateways": _bank_gateways, "refunds": _refunds,
    "sealer": _sealer, "receipts": _receipts, "receipt_signing": _receipt_signing,
    "receipt_documents": _receipt_documents, "reports": _reports, "tax_gateway": _tax_gateway,
    "tax_reports": _tax_reports, "tax_authority": _tax_authority, "tax_payments": _tax_authority,
    "taxpayers": _taxpayers, "reminders": _reminders, "opt_outs": _opt_outs,
    "bank_links": _links, "otp": _otp, "directory": _directory, "accounts": _accounts, "links": _links,
    "files": _files, "banks": _banks, "guard": _guard, "account_form": _account_form,
    "registry": _registry, "credentials": _credentials, "deliveries": _deliveries, "http": _http,
    "support_requests": _support_requests, "progress": _progress, "support_files": _support_files,
    "credential_sealer": _credential_sealer, "step_events": _StepEvents, "self_test_runs": _SelfTestRuns,
    "runs": _runs, "portal": _portal, "settlement_files": _settlement_files,
    "settlement_formats": _settlement_formats, "report_days": _report_days, "export_files": _export_files,
    "commune_maps": _commune_maps, "commune_codes": _commune_codes, "selftests": _selftests,
    "selftest_queue": _selftest_queue, "evidence": _evidence, "evidence_pdf": _evidence_pdf,
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
    from chalicelib.aws import clients
    from chalicelib.receipts.adapters.documents import s3_client as receipt_s3

    get_settings.cache_clear()
    clients.client.cache_clear()
    clients.s3_client.cache_clear()
    s3_client.cache_clear()
    receipt_s3.cache_clear()
    _current.clear()


def wired(name: str) -> Any:
    """A port of the current context (the local stack and the benchmarks reach the same objects the routes use)."""
    return getattr(context(), name)
