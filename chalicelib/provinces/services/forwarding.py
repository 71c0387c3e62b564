"""M6: deliver one queue message to its province, at least once on the wire and exactly once in effect.

Per attempt: the province's API configuration comes from a per-container cache, the session token from a
per-container cache (fetched with the credentials from the secret store only when missing or expired, refreshed once
on a 401), then one POST per API type (payment result, then the receipt file; or the notice), and one DynamoDB write
recording the outcome. A failure hides the message for the next delay of the schedule (ChangeMessageVisibility, no
sleeping) and reports it as a batch item failure; the last failed attempt marks the delivery DEAD, alerts the
province's contacts (throttled), and lets SQS move the message to the dead-letter queue.
"""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.core.clock import epoch
from chalicelib.provinces.domain.delivery import (
    NOTICE,
    AlertKind,
    ApiType,
    Delivery,
    InvalidAnswerError,
    check_answer,
    is_last_attempt,
    notice_payload,
    payment_result_payload,
    receipt_file_payload,
    retry_delay_s,
    token_from_session_answer,
)
from chalicelib.provinces.domain.outbound_urls import UrlRefusedError
from chalicelib.provinces.domain.registry import ProvinceApi
from chalicelib.provinces.ports import ProvinceCallError, ProvincesContext
from chalicelib.provinces.services.alerts import alert_province
from chalicelib.provinces.services.apis import province_apis
from chalicelib.provinces.services.steps import report_step

log = logging.getLogger(__name__)
TOKEN_MARGIN_S = 30  # refresh a little before the province says the token expires


@dataclass
class Attempt:
    """What the queue tells about this receipt of the message."""

    number: int  # ApproximateReceiveCount (1 = first attempt)
    first_attempt_at: datetime  # ApproximateFirstReceiveTimestamp
    receipt_handle: str


@dataclass
class BatchState:
    """Per invocation: provinces found unreachable are not called again for the rest of the batch, so a batch of
    ten for a province that times out costs one timeout, not ten (the Lambda would run out of time)."""

    unavailable: dict[str, str] = field(default_factory=dict)


# -- configuration and tokens, cached per container -----------------------------------------------------------------

def _lock(psvc: ProvincesContext, key) -> threading.Lock:
    locks = psvc.caches.setdefault("token_locks", {})
    return locks.setdefault(key, threading.Lock())


def session_token(psvc: ProvincesContext, api: ProvinceApi, stale: str | None = None) -> str:
    """The cached token for this province API, fetched once per token lifetime (single flight per container).
    ``stale``: the token the province just refused with 401 - fetch a new one unless another thread already did."""
    key = (api.agency_code, api.api_type.value, api.session_url)
    tokens = psvc.caches.setdefault("tokens", {})
    with _lock(psvc, key):
        now = epoch(psvc.clock.now())
        cached = tokens.get(key)
        if cached is not None and cached[1] > now and cached[0] != stale:
            return cached[0]
        token, lifetime = fetch_token(psvc, api)
        life = lifetime if lifetime is not None else psvc.settings.delivery.token_ttl_default_s
        margin = TOKEN_MARGIN_S if life > 2 * TOKEN_MARGIN_S else 0
        tokens[key] = (token, now + life - margin)
        psvc.count("ProvinceSessionTokensFetched")
        return token


def fetch_token(psvc: ProvincesContext, api: ProvinceApi) -> tuple[str, int | None]:
    creds = psvc.credentials.get(api.agency_code, api.api_type, api.credentials_version)
    if (creds.version if creds else 0) < api.credentials_version:
        # Just changed: the outbox is writing them. Retried like an unreachable province, never sent stale.
        raise ProvinceCallError("CREDENTIALS_PENDING", "thông tin xác thực mới đang được lưu", unavailable=True)
    if creds is None:
        raise ProvinceCallError("NO_CREDENTIALS", "chưa cấu hình thông tin xác thực")
    answer = psvc.http.post_json(api.session_url, creds.model_dump(), {}, api.connect_timeout_s, api.read_timeout_s)
    if not 200 <= answer.status < 300:
        raise ProvinceCallError(f"SESSION_HTTP_{answer.status}", "API lấy session trả lỗi")
    try:
        return token_from_session_answer(json.loads(answer.body))
    except (ValueError, InvalidAnswerError):
        raise ProvinceCallError("SESSION_INVALID_ANSWER", "API lấy session trả dữ liệu không hợp lệ") from None


def call_province(psvc: ProvincesContext, api: ProvinceApi, payload: dict) -> None:
    """POST the payload with the session token; on 401 one new token and one more try. Raises ProvinceCallError."""
    token = session_token(psvc, api)
    answer = _post(psvc, api, payload, token)
    if answer.status == 401:
        psvc.count("ProvinceTokenRefreshed")
        answer = _post(psvc, api, payload, session_token(psvc, api, stale=token))
    if not 200 <= answer.status < 300:
        raise ProvinceCallError(f"HTTP_{answer.status}", f"{api.api_type.label_vi} trả mã {answer.status}")
    try:
        check_answer(json.loads(answer.body))
    except ValueError as exc:
        code = "INVALID_ANSWER" if isinstance(exc, InvalidAnswerError) else "INVALID_JSON"
        raise ProvinceCallError(code, f"{api.api_type.label_vi} trả dữ liệu không hợp lệ") from None


def _post(psvc: ProvincesContext, api: ProvinceApi, payload: dict, token: str):
    return psvc.http.post_json(api.data_url, payload, {"Authorization": f"Bearer {token}"},
                               api.connect_timeout_s, api.read_timeout_s)


# -- one message ----------------------------------------------------------------------------------------------------

def _payload(psvc: ProvincesContext, delivery: Delivery, api: ProvinceApi) -> dict:
    if api.api_type is ApiType.PAYMENT_RESULT:
        return payment_result_payload(delivery.doc, api.unit_code)
    if api.api_type is ApiType.RECEIPT_FILE:
        return receipt_file_payload(delivery.doc, api.unit_code, psvc.receipt_pdf(delivery.doc))
    return notice_payload(delivery.doc, api.unit_code)


OPTIONAL_APIS = frozenset({ApiType.RECEIPT_FILE, ApiType.NOTICE})  # ONBOARDING.md: only the payment result is required


def _send(psvc: ProvincesContext, delivery: Delivery) -> dict:
    """Call the province's APIs for this delivery; the step-4 evidence of what was reached (M11)."""
    apis = province_apis(psvc, delivery.province)
    reached = []
    for api_type in delivery.api_types:
        api = apis.get(api_type)
        if api is None and api_type in OPTIONAL_APIS:
            continue  # a province without the attachment (or notice) API simply does not get that part
        if api is None:
            raise ProvinceCallError("API_NOT_CONFIGURED", f"địa phương chưa cấu hình {api_type.label_vi}")
        if not api.active:
            raise ProvinceCallError("API_DISABLED", f"{api_type.label_vi} đang tạm dừng")
        call_province(psvc, api, _payload(psvc, delivery, api))
        reached.append(api_type.value)
    return {"api_types": reached, "configured": sorted(t.value for t, a in apis.items() if a.active),
            "kind": delivery.kind, "subject_id": delivery.subject_id, "test": bool(delivery.doc.get("test")),
            "source": "self_test" if delivery.doc.get("test") else "payment"}


def deliver(psvc: ProvincesContext, delivery: Delivery, attempt: Attempt, batch: BatchState) -> bool:
    """Try once. True: delivered (the message can be deleted). False: failed; the message has been postponed."""
    now = psvc.clock.now()
    try:
        if delivery.province in batch.unavailable:
            raise ProvinceCallError(batch.unavailable[delivery.province], "bỏ qua trong lượt này", unavailable=True)
        reached = _send(psvc, delivery)
    except ProvinceCallError as exc:
        if exc.unavailable:
            batch.unavailable.setdefault(delivery.province, exc.code)
        _failed(psvc, delivery, attempt, f"{exc.code}: {exc.detail}" if exc.detail else exc.code, now)
        return False
    except UrlRefusedError as exc:
        _failed(psvc, delivery, attempt, f"URL_REFUSED: {exc.code}", now)
        return False
    except Exception as exc:  # a bug or a bad document: retried on the schedule, then DEAD, never lost
        log.exception("province delivery crashed", extra={"subject_id": delivery.subject_id})
        _failed(psvc, delivery, attempt, f"INTERNAL_ERROR: {type(exc).__name__}", now)
        return False
    if not reached["api_types"] and delivery.kind == NOTICE:
        psvc.count("NoticesSkipped")  # the province takes no notices: nothing to record, nothing to retry
        return True
    psvc.deliveries.mark_delivered(delivery, now.isoformat())
    psvc.count("DeliveriesSucceeded")
    report_step(psvc, delivery.province, 4, reached)
    return True


def _failed(psvc: ProvincesContext, delivery: Delivery, attempt: Attempt, error: str, now: datetime) -> None:
    dead = is_last_attempt(attempt.number)
    delay = 0 if dead else retry_delay_s(attempt.number, psvc.settings.delivery.backoff_scale)
    next_at = None if dead else (now + timedelta(seconds=delay)).isoformat()
    psvc.deliveries.mark_failed(delivery, error=error, at=now.isoformat(),
                            first_attempt_at=attempt.first_attempt_at.isoformat(), next_attempt_at=next_at, dead=dead)
    # Dead: visible again at once, so that SQS moves it to the dead-letter queue (receive count > maxReceiveCount).
    psvc.queue.postpone(attempt.receipt_handle, delay)
    log.warning("province delivery failed", extra={"subject_id": delivery.subject_id, "province": delivery.province,
                                                   "attempt": attempt.number, "error": error, "dead": dead})
    psvc.count("DeliveriesDead" if dead else "DeliveriesFailed")
    if dead:
        alert_province(psvc, AlertKind.DEAD, delivery.province, error)
    elif (now - attempt.first_attempt_at).total_seconds() >= psvc.settings.delivery.failing_alert_after_s:
        alert_province(psvc, AlertKind.FAILING, delivery.province, error)


def handle_message(psvc: ProvincesContext, body: str, attempt: Attempt, batch: BatchState) -> bool:
    try:
        delivery = Delivery.from_message(json.loads(body))
    except (ValueError, KeyError, TypeError):
        # Not ours or corrupt: keep it for people to look at (it reaches the dead-letter queue after the retries).
        log.error("unreadable forwarding message")
        psvc.queue.postpone(attempt.receipt_handle, retry_delay_s(attempt.number, psvc.settings.delivery.backoff_scale))
        return False
    return deliver(psvc, delivery, attempt, batch)
