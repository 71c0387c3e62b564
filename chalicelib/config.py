"""Typed settings, read once per container from the environment (stage-aware).

Resource names come from environment variables that `infra/` wires to the CloudFormation resources in AWS
and that the local stack (`chalicelib/local/`) sets from the same template when it deploys it into moto.
Secrets are never in the environment: only the *name* of the secret is.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


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
    alerts_topic_arn: str = ""
    documents_bucket: str = ""
    app_secret_name: str = "lfo/dev/app-secrets"
    # Banks whose single sign-on with the portal is live (configuration: in 2023 only Vietcombank).
    sso_banks: tuple[str, ...] = ("VCB",)
    # Where the citizen is sent: "{base}/pay" (payment page) or "{base}/ib/login" (internet banking login).
    bank_gateway_base_url: str = "http://127.0.0.1:8001"
    payment_ttl_minutes: int = 15
    idempotency_ttl_hours: int = 48
    max_body_bytes: int = 256 * 1024
    receipt_template_symbol: str = "01BLP0-001"
    # Receipt series: "{yy}" is replaced by the two-digit year of issue (e.g. BI-26T).
    receipt_series_pattern: str = "BI-{yy}T"
    jwt_mode: str = "local"  # "local" (HS256 dev issuer) or "jwks" (Cognito-compatible)
    jwt_issuer: str = ""
    jwt_audience: str = "dvcqg-land-payments"
    jwks_url: str = ""
    local_jwt_secret: str = ""
    secrets_max_age_s: int = 300
    # Hosts the bank may send the citizen back to (open-redirect guard); empty means any host.
    return_url_hosts: tuple[str, ...] = ("dichvucong.gov.vn",)
    # Per-bank payment gateway base URLs (production); banks not listed use bank_gateway_base_url.
    bank_gateway_urls: dict[str, str] = field(default_factory=dict)

    def bank_gateway_url(self, bank_code: str) -> str:
        url = self.bank_gateway_urls.get(bank_code, self.bank_gateway_base_url)
        if not url:
            raise RuntimeError(f"no payment gateway URL configured for bank {bank_code}")
        return url

    @property
    def is_local(self) -> bool:
        """The embedded stack or the test suite: never a deployed stage (dev included), whose key is public here."""
        return self.stage in {"local", "test"}


@cache
def get_settings() -> Settings:
    env = os.environ
    stage = env.get("APP_STAGE", "local")
    return Settings(
        stage=stage,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "ap-southeast-1",
        aws_endpoint_url=env.get("AWS_ENDPOINT_URL", ""),
        dossiers_table=env.get("DOSSIERS_TABLE", f"lfo-{stage}-dossiers"),
        ledger_table=env.get("LEDGER_TABLE", f"lfo-{stage}-ledger"),
        directory_table=env.get("DIRECTORY_TABLE", f"lfo-{stage}-directory"),
        forwarding_queue_url=env.get("FORWARDING_QUEUE_URL", ""),
        alerts_topic_arn=env.get("ALERTS_TOPIC_ARN", ""),
        documents_bucket=env.get("DOCUMENTS_BUCKET", ""),
        app_secret_name=env.get("APP_SECRET_NAME", f"lfo/{stage}/app-secrets"),
        sso_banks=_csv(env.get("SSO_BANKS"), "VCB"),
        # Deployed stages must name their banks' gateways (BANK_GATEWAY_URLS): never default them to a local URL.
        bank_gateway_base_url=env.get("BANK_GATEWAY_BASE_URL",
                                      "http://127.0.0.1:8001" if stage in {"local", "test"} else "").rstrip("/"),
        payment_ttl_minutes=int(env.get("PAYMENT_TTL_MINUTES", "15")),
        idempotency_ttl_hours=int(env.get("IDEMPOTENCY_TTL_HOURS", "48")),
        max_body_bytes=int(env.get("MAX_BODY_BYTES", str(256 * 1024))),
        receipt_template_symbol=env.get("RECEIPT_TEMPLATE_SYMBOL", "01BLP0-001"),
        receipt_series_pattern=env.get("RECEIPT_SERIES_PATTERN", "BI-{yy}T"),
        jwt_mode=env.get("JWT_MODE", "local"),
        jwt_issuer=env.get("JWT_ISSUER", ""),
        jwt_audience=env.get("JWT_AUDIENCE", "dvcqg-land-payments"),
        jwks_url=env.get("JWKS_URL", ""),
        local_jwt_secret=env.get("LOCAL_JWT_SECRET", ""),
        secrets_max_age_s=int(env.get("SECRETS_MAX_AGE_S", "300")),
        return_url_hosts=_csv(env.get("RETURN_URL_HOSTS"), "dichvucong.gov.vn"),
        bank_gateway_urls=json.loads(env.get("BANK_GATEWAY_URLS") or "{}"),
    )
