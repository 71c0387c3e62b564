"""Wires the province-integration adapters (registry, credentials, deliveries, queue, guarded HTTP, alerts) into
``ProvinceServices``, once per container and lazily. Kept apart from bootstrap.py so the features wire themselves."""
from __future__ import annotations

import os
from functools import cache

from chalicelib.config import get_settings


def delivery_settings():
    from chalicelib.provinces.ports import DeliverySettings

    s, env = get_settings(), os.environ
    local = s.is_local and bool(s.aws_endpoint_url)  # the embedded stack only, never a deployed stage
    return DeliverySettings(
        backoff_scale=float(env.get("DELIVERY_BACKOFF_SCALE", "1")),
        failing_alert_after_s=int(env.get("FAILING_ALERT_AFTER_S", str(2 * 3600))),
        alert_window_s=int(env.get("ALERT_WINDOW_S", str(24 * 3600))),
        sweep_grace_s=int(env.get("SWEEP_GRACE_S", "600")),
        config_cache_s=float(env.get("PROVINCE_CONFIG_CACHE_S", "60")),
        https_only=not local,
        allow_loopback=local,
    )


@cache
def province_services():
    from chalicelib.aws.notify import SnsAlertChannels
    from chalicelib.aws.observability import metrics
    from chalicelib.core.clock import SystemClock
    from chalicelib.provinces.adapters.credentials import SecretsManagerCredentials
    from chalicelib.provinces.adapters.deliveries import DynamoDeliveries
    from chalicelib.provinces.adapters.http import GuardedHttp
    from chalicelib.provinces.adapters.queue import SqsForwarding
    from chalicelib.provinces.adapters.registry import DynamoDirectory
    from chalicelib.provinces.ports import ProvinceServices
    from chalicelib.provinces.services.forwarding import province_apis
    from chalicelib.receipts.adapters.pdf import render_receipt_pdf
    from chalicelib.receipts.units import collecting_unit_name

    s, ds = get_settings(), delivery_settings()
    psvc = ProvinceServices(
        settings=ds,
        clock=SystemClock(),
        registry=DynamoDirectory(s),
        credentials=SecretsManagerCredentials(s.stage, s.region, s.secrets_max_age_s),
        ledger=DynamoDeliveries(s),
        queue=SqsForwarding(s.region, s.forwarding_queue_url, os.environ.get("FORWARDING_DLQ_URL", "")),
        http=GuardedHttp(https_only=ds.https_only, allow_loopback=ds.allow_loopback),
        alerts=SnsAlertChannels(s.region, s.alerts_topic_arn, os.environ.get("ALERT_EMAILS_TOPIC_ARN", "")),
        render_pdf=render_receipt_pdf,
        metrics=metrics(),
    )

    def province_name(code: str) -> str:
        apis = province_apis(psvc, code)
        return next((a.province_name for a in apis.values()), None) or collecting_unit_name(code)

    psvc.province_name = province_name
    return psvc


def reset() -> None:
    province_services.cache_clear()
