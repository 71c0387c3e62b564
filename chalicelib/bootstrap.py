"""Wires adapters into services once per container (lazily, on first request), never per request."""
from __future__ import annotations

from functools import cache

from chalicelib.config import get_settings


@cache
def app_secrets():
    from chalicelib.aws.secrets import AppSecrets

    s = get_settings()
    return AppSecrets(s.app_secret_name, s.region, s.secrets_max_age_s)


@cache
def services():
    from chalicelib.aws.notify import SnsAlerts, SnsSms
    from chalicelib.aws.observability import metrics
    from chalicelib.bootstrap_accounts import bank_links
    from chalicelib.core.clock import SystemClock
    from chalicelib.core.hashing import HmacIdHasher
    from chalicelib.payments.adapters.dynamo import DynamoDossiers, DynamoLedger
    from chalicelib.payments.context import Services
    from chalicelib.provinces.adapters.queue import SqsForwarding

    s = get_settings()
    return Services(
        settings=s,
        clock=SystemClock(),
        dossiers=DynamoDossiers(s),
        ledger=DynamoLedger(s),
        sms=SnsSms(s.region),
        alerts=SnsAlerts(s.region, s.alerts_topic_arn),
        forwarding=SqsForwarding(s.region, s.forwarding_queue_url),
        hasher=HmacIdHasher(app_secrets().id_hash_key),
        bank_links=bank_links(),
        metrics=metrics(),
    )


@cache
def token_verifier():
    return make_token_verifier(get_settings())


def make_token_verifier(s):
    from chalicelib.identity.adapters import JwksVerifier, LocalJwtVerifier

    if s.jwt_mode == "jwks":
        return JwksVerifier(s.jwks_url, s.jwt_issuer, s.jwt_audience, None)
    if not s.is_local:
        raise RuntimeError("the local JWT issuer is refused outside local stages")
    from chalicelib.local import devkeys

    return LocalJwtVerifier(
        s.local_jwt_secret or devkeys.LOCAL_JWT_SECRET, s.jwt_issuer or devkeys.LOCAL_JWT_ISSUER, s.jwt_audience
    )


def reset() -> None:
    """Forget every wired object (tests that change the environment)."""
    get_settings.cache_clear()
    app_secrets.cache_clear()
    services.cache_clear()
    token_verifier.cache_clear()
    from chalicelib.aws.clients import client

    client.cache_clear()
