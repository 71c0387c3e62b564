"""The one settings object: typed, read once per container from the environment (stage-aware).

Resource names come from environment variables that `infra/` wires to the CloudFormation resources in AWS and that
the local stack (`chalicelib/local/`) sets from the same template when it deploys it into moto. Secrets are never in
the environment: only the *name* of the secret is.

Capabilities own the shape of their own limits (`OtpPolicy` in the OTP domain, `DeliverySettings` in the province
ports); this module only reads them from the environment. Use cases get the settings from their context and never
import this module (an import-linter contract).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from typing import Mapping

from chalicelib.accounts.domain import SignInPolicy
from chalicelib.onboarding.ports import OnboardingSettings
from chalicelib.otp.domain import OtpPolicy
from chalicelib.payments.domain.lookups import LookupPolicy
from chalicelib.provinces.ports import DeliverySettings
from chalicelib.reconciliation.ports import StalePolicy

LOCAL_STAGES = frozenset({"local", "test", "bench"})  # the embedded stack: never a deployed stage (dev included)


def _csv(value: str | None, default: str = "") -> tuple[str, ...]:
    raw = value if value is not None else default
    return tuple(p.strip() for p in raw.split(",") if p.strip())


@dataclass(frozen=True)
class Settings:
    stage: str = "local"
    region: str = "ap-southeast-1"
    aws_endpoint_url: str = ""  # set only locally (the embedded moto server); empty in AWS
    dossiers_table: str = "lfo-dev-dossiers"
    ledger_table: str = "lfo-dev-ledger"
    directory_table: str = "lfo-dev-directory"
    forwarding_queue_url: str = ""
    forwarding_dlq_url: str = ""
    alerts_topic_arn: str = ""
    alert_emails_topic_arn: str = ""
    documents_bucket: str = ""
    app_secret_name: str = "lfo/dev/app-secrets"
    # The app key (KMS): the API encrypts with it what only the outbox consumer may read (province credentials).
    app_key_id: str = "alias/lfo-dev-app"
    secrets_max_age_s: int = 300
    # Banks whose single sign-on with the portal is live (configuration: in 2023 only Vietcombank).
    sso_banks: tuple[str, ...] = ("VCB",)
    # Where the citizen is sent: "{base}/pay" (payment page) or "{base}/ib/login" (internet banking login).
    bank_gateway_base_url: str = "http://127.0.0.1:8001"
    # Per-bank payment gateway base URLs (production); banks not listed use bank_gateway_base_url.
    bank_gateway_urls: Mapping[str, str] = field(default_factory=dict)
    # Hosts the bank may send the citizen back to (open-redirect guard); empty means any host.
    return_url_hosts: tuple[str, ...] = ("dichvucong.gov.vn",)
    payment_ttl_minutes: int = 15
    # Status and refund APIs of the banks (reconciliation): per-bank base URLs (production). Locally the simulated
    # bank serves them: the VNPay-style gateway at its root, the Standard Webhooks banks under /banks/<code>.
    bank_api_urls: Mapping[str, str] = field(default_factory=dict)
    vnpay_tmn_code: str = "DVCQG001"  # the portal's merchant (terminal) code at the VNPay-style gateway
    # Where the gateway sends the citizen back when the payment named no return_url (the portal's result page).
    vnpay_return_url: str = "https://dichvucong.gov.vn/thanh-toan/ket-qua"
    server_ip: str = "127.0.0.1"  # vnp_IpAddr of the portal's own calls to the gateway (querydr, refund)
    live_index_shards: int = 4  # gsi2 partitions of live payments (only ever raise it: see payments.adapters.dynamo)
    stale: StalePolicy = field(default_factory=StalePolicy)
    idempotency_ttl_hours: int = 48
    max_body_bytes: int = 256 * 1024
    # Check every answer against its route's declaration (api/routing.py): on by default on the test stage only.
    contract_checks: bool = False
    receipt_template_symbol: str = "01BLP0-001"
    # Receipt series: "{yy}" is replaced by the two-digit year of issue (e.g. BI-26T).
    receipt_series_pattern: str = "BI-{yy}T"
    # The Cognito user pool (template outputs): every token is verified against its JWKS, on every stage.
    cognito_user_pool_id: str = ""
    cognito_citizen_client_id: str = ""
    cognito_staff_client_id: str = ""
    # Citizen accounts
    scan_max_bytes: int = 5 * 1024 * 1024
    scan_upload_expires_s: int = 900
    sign_in: SignInPolicy = field(default_factory=SignInPolicy)
    otp: OtpPolicy = field(default_factory=OtpPolicy)
    lookup: LookupPolicy = field(default_factory=LookupPolicy)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    onboarding: OnboardingSettings = field(default_factory=OnboardingSettings)

    def bank_api_url(self, bank_code: str, protocol: str) -> str:
        """Base URL of the bank's status/refund API; empty when a deployed stage has not configured it."""
        url = self.bank_api_urls.get(bank_code)
        if url is not None or not self.is_local:
            return url or ""
        base = self.bank_gateway_base_url
        return base if protocol == "vnpay_ipn" else f"{base}/banks/{bank_code}"

    def bank_gateway_url(self, bank_code: str) -> str:
        url = self.bank_gateway_urls.get(bank_code, self.bank_gateway_base_url)
        if not url:
            raise RuntimeError(f"no payment gateway URL configured for bank {bank_code}")
        return url

    @property
    def is_local(self) -> bool:
        """The embedded stack or the test suite: never a deployed stage (dev included), whose key is public here."""
        return self.stage in LOCAL_STAGES


def _num(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    return float(raw) if raw not in (None, "") else default


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return int(_num(env, name, default))


def _policy(kind: type, prefix: str, env: Mapping[str, str]):
    """A limits dataclass with each field read from ``<prefix><FIELD>`` when set (all fields are integers)."""
    from dataclasses import fields

    base = kind()
    return kind(**{f.name: _int(env, f"{prefix}{f.name.upper()}", getattr(base, f.name)) for f in fields(kind)})


def _delivery(env: Mapping[str, str], embedded: bool) -> DeliverySettings:
    base = DeliverySettings()
    return DeliverySettings(
        backoff_scale=_num(env, "DELIVERY_BACKOFF_SCALE", base.backoff_scale),
        failing_alert_after_s=_int(env, "FAILING_ALERT_AFTER_S", base.failing_alert_after_s),
        alert_window_s=_int(env, "ALERT_WINDOW_S", base.alert_window_s),
        sweep_grace_s=_int(env, "SWEEP_GRACE_S", base.sweep_grace_s),
        config_cache_s=_num(env, "PROVINCE_CONFIG_CACHE_S", base.config_cache_s),
        # Loopback http only on the embedded stack (the simulated province), never on a deployed stage.
        https_only=not embedded,
        allow_loopback=embedded,
        # Only the simulated partners' ports (set by the local stack): never the AWS emulator's, whose state holds
        # the OTP texts.
        allowed_loopback_ports=tuple(int(p) for p in _csv(env.get("LOOPBACK_PORTS"))) if embedded else (),
    )


def _onboarding(env: Mapping[str, str]) -> OnboardingSettings:
    base = OnboardingSettings()
    return OnboardingSettings(
        attachment_max_file_bytes=_int(env, "SUPPORT_ATTACHMENT_MAX_BYTES", base.attachment_max_file_bytes),
        attachment_max_total_bytes=_int(env, "SUPPORT_ATTACHMENTS_MAX_TOTAL_BYTES", base.attachment_max_total_bytes),
        attachment_max_files=_int(env, "SUPPORT_ATTACHMENTS_MAX_FILES", base.attachment_max_files),
        request_link_template=env.get("SUPPORT_REQUEST_LINK", base.request_link_template),
        progress_cache_s=_num(env, "ONBOARDING_PROGRESS_CACHE_S", base.progress_cache_s),
    )


def _stale(env: Mapping[str, str]) -> StalePolicy:
    base = StalePolicy()
    return StalePolicy(
        query_interval_s=_int(env, "STATUS_QUERY_INTERVAL_S", base.query_interval_s),
        quick_timeout_s=_num(env, "STATUS_QUERY_QUICK_TIMEOUT_S", base.quick_timeout_s),
        bank_timeout_s=_num(env, "BANK_API_TIMEOUT_S", base.bank_timeout_s),
        batch_max=_int(env, "STALE_BATCH_MAX", base.batch_max),
        run_budget_s=_num(env, "STALE_RUN_BUDGET_S", base.run_budget_s),
        workers=_int(env, "STALE_WORKERS", base.workers),
        silent_bank_after=_int(env, "STALE_SILENT_BANK_AFTER", base.silent_bank_after),
        alert_after_s=_int(env, "STALE_ALERT_AFTER_S", base.alert_after_s),
        refund_send_lease_s=_int(env, "REFUND_SEND_LEASE_S", base.refund_send_lease_s),
    )


def from_environ(env: Mapping[str, str]) -> Settings:
    stage = env.get("APP_STAGE", "local")
    local = stage in LOCAL_STAGES
    endpoint = env.get("AWS_ENDPOINT_URL", "")
    return Settings(
        stage=stage,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "ap-southeast-1",
        aws_endpoint_url=endpoint,
        dossiers_table=env.get("DOSSIERS_TABLE", f"lfo-{stage}-dossiers"),
        ledger_table=env.get("LEDGER_TABLE", f"lfo-{stage}-ledger"),
        directory_table=env.get("DIRECTORY_TABLE", f"lfo-{stage}-directory"),
        forwarding_queue_url=env.get("FORWARDING_QUEUE_URL", ""),
        forwarding_dlq_url=env.get("FORWARDING_DLQ_URL", ""),
        alerts_topic_arn=env.get("ALERTS_TOPIC_ARN", ""),
        alert_emails_topic_arn=env.get("ALERT_EMAILS_TOPIC_ARN", ""),
        documents_bucket=env.get("DOCUMENTS_BUCKET", ""),
        app_secret_name=env.get("APP_SECRET_NAME", f"lfo/{stage}/app-secrets"),
        app_key_id=env.get("APP_KEY_ID", f"alias/lfo-{stage}-app"),
        secrets_max_age_s=_int(env, "SECRETS_MAX_AGE_S", 300),
        sso_banks=_csv(env.get("SSO_BANKS"), "VCB"),
        # Deployed stages must name their banks' gateways (BANK_GATEWAY_URLS): never default them to a local URL.
        bank_gateway_base_url=env.get("BANK_GATEWAY_BASE_URL", "http://127.0.0.1:8001" if local else "").rstrip("/"),
        bank_gateway_urls=json.loads(env.get("BANK_GATEWAY_URLS") or "{}"),
        return_url_hosts=_csv(env.get("RETURN_URL_HOSTS"), "dichvucong.gov.vn"),
        payment_ttl_minutes=_int(env, "PAYMENT_TTL_MINUTES", 15),
        bank_api_urls=json.loads(env.get("BANK_API_URLS") or "{}"),
        vnpay_tmn_code=env.get("VNPAY_TMN_CODE", "DVCQG001"),
        vnpay_return_url=env.get("VNPAY_RETURN_URL", "https://dichvucong.gov.vn/thanh-toan/ket-qua"),
        server_ip=env.get("SERVER_IP", "127.0.0.1"),
        live_index_shards=_int(env, "LIVE_INDEX_SHARDS", 4),
        stale=_stale(env),
        idempotency_ttl_hours=_int(env, "IDEMPOTENCY_TTL_HOURS", 48),
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 256 * 1024),
        contract_checks=env.get("CONTRACT_CHECKS", "1" if stage == "test" else "0") == "1",
        receipt_template_symbol=env.get("RECEIPT_TEMPLATE_SYMBOL", "01BLP0-001"),
        receipt_series_pattern=env.get("RECEIPT_SERIES_PATTERN", "BI-{yy}T"),
        cognito_user_pool_id=env.get("COGNITO_USER_POOL_ID", ""),
        cognito_citizen_client_id=env.get("COGNITO_CITIZEN_CLIENT_ID", ""),
        cognito_staff_client_id=env.get("COGNITO_STAFF_CLIENT_ID", ""),
        scan_max_bytes=_int(env, "SCAN_MAX_BYTES", 5 * 1024 * 1024),
        sign_in=_policy(SignInPolicy, "SIGN_IN_", env),
        otp=_policy(OtpPolicy, "OTP_", env),
        delivery=_delivery(env, embedded=local and bool(endpoint)), onboarding=_onboarding(env),
    )


@cache
def get_settings() -> Settings:
    return from_environ(os.environ)
