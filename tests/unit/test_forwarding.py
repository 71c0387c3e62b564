"""M6 delivery through in-memory fakes and a fake SQS driven by an injected clock: three days of retries in ms."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from chalicelib.core.clock import FixedClock
from chalicelib.provinces.domain.delivery import (
    BACKOFF_SCHEDULE_S,
    MAX_ATTEMPTS,
    ApiType,
    receipt_delivery,
    retry_delay_s,
    retry_window_s,
)
from chalicelib.provinces.ports import Actor
from chalicelib.provinces.services.alerts import alert_province
from chalicelib.provinces.services.recovery import redrive, sweep
from tests.fakes import START
from tests.fakes_provinces import PROVINCE, make_province_services, sample_receipt

ROOT = Path(__file__).resolve().parents[2]


def _enqueue(psvc, n: int, start: int = 1) -> list:
    deliveries = [receipt_delivery(sample_receipt(i)) for i in range(start, start + n)]
    for d in deliveries:
        psvc.deliveries.add_pending(d, START.isoformat())
    psvc.queue.send(deliveries)
    return deliveries


def _ids(deliveries) -> set[str]:
    return {f"{d.subject_id}:{t}" for d in deliveries for t in ("payment_result", "receipt_file")}


# --- the schedule ------------------------------------------------------------------------------------------------

def test_schedule_anchors_spans_three_days_and_matches_the_queue_max_receive_count():
    assert BACKOFF_SCHEDULE_S[:4] == (60, 300, 1800, 7200)
    assert all(3600 <= d <= 43200 for d in BACKOFF_SCHEDULE_S[4:])  # "every few hours", within SQS's 12 h limit
    assert retry_window_s() >= 3 * 86400
    template = json.loads((ROOT / "infra" / "resources.json").read_text(encoding="utf-8"))
    policy = template["Resources"]["ForwardingQueue"]["Properties"]["RedrivePolicy"]
    assert policy["maxReceiveCount"] == MAX_ATTEMPTS
    assert retry_delay_s(1) == 60 and retry_delay_s(MAX_ATTEMPTS) == BACKOFF_SCHEDULE_S[-1]
    assert retry_delay_s(5, scale=0) == 0


# --- the outage scenarios ------------------------------------------------------------------------------------------

def test_province_down_for_the_whole_retry_window_dead_letters_alerts_once_and_loses_nothing():
    psvc = make_province_services()
    psvc.http.mode = "500"
    deliveries = _enqueue(psvc, 40)
    psvc.queue.run(psvc)

    elapsed = psvc.clock.now() - START
    assert elapsed >= timedelta(seconds=retry_window_s())  # retried for the whole window, no shorter
    assert psvc.queue.messages == []
    assert sorted(json.loads(m.body)["subject_id"] for m in psvc.queue.dlq) == sorted(d.subject_id for d in deliveries)
    states = [psvc.deliveries.delivery_state(d) for d in deliveries]
    assert {s["state"] for s in states} == {"DEAD"}
    assert {s["attempts"] for s in states} == {MAX_ATTEMPTS}
    assert all(s["last_error"].startswith("HTTP_500") for s in states)
    # One DEAD burst for the 40 receipts; "still failing" reminders at most once per window, never per receipt.
    alerts = psvc.registry.list_alerts(PROVINCE)
    assert [a["kind"] for a in alerts].count("DELIVERY_DEAD") == 1
    windows = elapsed.total_seconds() / psvc.settings.delivery.alert_window_s
    assert len(alerts) <= int(windows) + 2
    assert len(psvc.alerts.sms_sent) == 2 * len(alerts)  # two registered phones per burst
    assert len(psvc.alerts.emails) == len(alerts)
    dead = next(a for a in alerts if a["kind"] == "DELIVERY_DEAD")
    assert dead["dead"] >= 1 and dead["dead"] + dead["failing"] == 40 and dead["since"]
    sms = next(t for _, t in psvc.alerts.sms_sent if "không gửi được" in t)
    assert "biên lai" in sms and PROVINCE in sms and "HTTP_500" in sms
    assert psvc.http.received == {}


def test_province_down_then_back_delivers_every_receipt_exactly_once_in_effect():
    psvc = make_province_services()
    psvc.http.mode, psvc.http.times = "500", 60
    deliveries = _enqueue(psvc, 25)
    psvc.queue.run(psvc)

    assert psvc.queue.dlq == [] and psvc.queue.messages == []
    assert {psvc.deliveries.delivery_state(d)["state"] for d in deliveries} == {"DELIVERED"}
    assert set(psvc.http.received) == _ids(deliveries)
    assert max(s["attempts"] for s in map(psvc.deliveries.delivery_state, deliveries)) > 1  # some were retried
    assert psvc.clock.now() - START < timedelta(hours=3)  # back within the first delays of the schedule


def test_one_dynamodb_write_per_delivered_receipt_and_one_token_per_lifetime():
    psvc = make_province_services()
    _enqueue(psvc, 100)
    psvc.queue.run(psvc)
    assert psvc.deliveries.writes == 100
    assert psvc.http.session_calls == 2  # one token per API (payment result, receipt file), not per receipt
    assert psvc.credentials.reads == 2
    assert psvc.registry.reads == 1  # the configuration is cached per container


def test_token_expiry_mid_stream_refreshes_once():
    psvc = make_province_services()
    first = _enqueue(psvc, 5)
    psvc.queue.run(psvc)
    assert psvc.http.session_calls == 2
    psvc.http.expire_tokens()  # the province drops its sessions while our cache still trusts them
    second = _enqueue(psvc, 5, start=100)
    psvc.queue.run(psvc)
    assert psvc.http.session_calls == 4  # exactly one refresh per API, then the new token serves the rest
    assert {psvc.deliveries.delivery_state(d)["attempts"] for d in first + second} == {1}
    assert set(psvc.http.received) == _ids(first + second)


def test_a_401_gets_one_new_token_and_one_retry_only():
    psvc = make_province_services()
    psvc.http.mode = "401"
    (delivery,) = _enqueue(psvc, 1)
    psvc.queue.run(psvc, max_batches=1)
    assert psvc.http.session_calls == 2  # the first token, then one refresh after the 401
    assert psvc.http.data_calls == 2  # the refused call and one retry with the new token, no more
    state = psvc.deliveries.delivery_state(delivery)
    assert state["state"] == "FAILING" and state["last_error"].startswith("HTTP_401")


def test_a_slow_province_beyond_the_timeout_is_retried_and_the_late_copy_is_not_applied_twice():
    psvc = make_province_services()
    psvc.http.mode, psvc.http.times = "timeout", 1
    (delivery,) = _enqueue(psvc, 1)
    psvc.queue.run(psvc)
    state = psvc.deliveries.delivery_state(delivery)
    assert state["state"] == "DELIVERED" and state["attempts"] == 2
    assert state["last_error"].startswith("TIMEOUT")
    assert psvc.http.received[f"{delivery.subject_id}:payment_result"] == 2  # twice on the wire, one message_id
    assert set(psvc.http.received) == _ids([delivery])


def test_an_unreachable_province_costs_one_timeout_per_batch_not_one_per_message():
    psvc = make_province_services()
    psvc.http.mode = "timeout"
    deliveries = _enqueue(psvc, 10)
    psvc.queue.run(psvc, max_batches=1)
    assert psvc.http.data_calls == 1
    assert {psvc.deliveries.delivery_state(d)["state"] for d in deliveries} == {"FAILING"}
    assert all(m.visible_at - START.timestamp() == 60 for m in psvc.queue.messages)  # the first backoff: 1 min


@pytest.mark.parametrize("mode, code", [("invalid_json", "INVALID_JSON"), ("500", "HTTP_500")])
def test_only_a_2xx_with_a_valid_answer_is_success(mode, code):
    psvc = make_province_services()
    psvc.http.mode = mode
    (delivery,) = _enqueue(psvc, 1)
    psvc.queue.run(psvc, max_batches=1)
    state = psvc.deliveries.delivery_state(delivery)
    assert state["state"] == "FAILING" and state["last_error"].startswith(code)


def test_backoff_follows_the_schedule():
    psvc = make_province_services()
    psvc.http.mode = "500"
    _enqueue(psvc, 1)
    times = []
    original = psvc.http.post_json

    def spy(url, *a, **k):
        if not url.endswith("/session"):
            times.append(psvc.clock.now())
        return original(url, *a, **k)

    psvc.http.post_json = spy
    psvc.queue.run(psvc)
    gaps = [int((b - a).total_seconds()) for a, b in zip(times, times[1:])]
    assert gaps == list(BACKOFF_SCHEDULE_S)


def test_disabled_or_missing_payment_api_fails_and_a_missing_attachment_api_is_skipped():
    psvc = make_province_services()
    psvc.registry.apis.pop((PROVINCE, ApiType.RECEIPT_FILE))
    (delivery,) = _enqueue(psvc, 1)
    psvc.queue.run(psvc)
    assert psvc.deliveries.delivery_state(delivery)["state"] == "DELIVERED"
    assert set(psvc.http.received) == {f"{delivery.subject_id}:payment_result"}

    psvc2 = make_province_services()
    api = psvc2.registry.apis[(PROVINCE, ApiType.PAYMENT_RESULT)]
    psvc2.registry.apis[(PROVINCE, ApiType.PAYMENT_RESULT)] = api.model_copy(update={"active": False})
    (d2,) = _enqueue(psvc2, 1)
    psvc2.queue.run(psvc2, max_batches=1)
    assert psvc2.deliveries.delivery_state(d2)["last_error"].startswith("API_DISABLED")


def test_payloads_carry_stable_message_ids_and_no_id_number():
    psvc = make_province_services()
    seen = []
    original = psvc.http.post_json
    psvc.http.post_json = lambda url, payload, *a, **k: (seen.append(payload), original(url, payload, *a, **k))[1]
    (delivery,) = _enqueue(psvc, 1)
    psvc.queue.run(psvc)
    data = [p for p in seen if "message_id" in p]
    assert [p["message_id"] for p in data] == [f"{delivery.subject_id}:payment_result",
                                               f"{delivery.subject_id}:receipt_file"]
    result, file = data
    assert result["status"] == 1 and result["amount_vnd"] == 1378500 and result["paid_at_compact"] == "20260520100102"
    assert file["content_type"] == "application/pdf" and file["content_base64"]
    assert "id_number" not in json.dumps(data)


# --- alerts ----------------------------------------------------------------------------------------------------

def test_alerts_are_throttled_per_province_per_window_with_one_escalation():
    from chalicelib.provinces.domain.delivery import AlertKind

    clock = FixedClock(START)
    psvc = make_province_services(clock)
    assert alert_province(psvc, AlertKind.FAILING, PROVINCE, "HTTP_500")
    for _ in range(100):  # 100 more failing receipts in the same window: nothing
        assert not alert_province(psvc, AlertKind.FAILING, PROVINCE, "HTTP_500")
    assert alert_province(psvc, AlertKind.DEAD, PROVINCE, "HTTP_500")  # escalation, once
    assert not alert_province(psvc, AlertKind.DEAD, PROVINCE, "HTTP_500")
    assert not alert_province(psvc, AlertKind.FAILING, PROVINCE, "HTTP_500")
    assert len(psvc.alerts.sms_sent) == 4 and len(psvc.alerts.emails) == 2
    clock.advance(seconds=psvc.settings.delivery.alert_window_s + 1)
    psvc.caches.clear()  # another container: the shared window in the directory decides
    assert alert_province(psvc, AlertKind.FAILING, PROVINCE, "HTTP_500")
    assert psvc.alerts.emails[0]["recipients"] == ["canhbao@hanam.example.vn"]
    assert "không gửi được về địa phương" in psvc.alerts.emails[1]["subject"]


def test_two_containers_share_the_alert_window():
    from chalicelib.provinces.domain.delivery import AlertKind

    psvc = make_province_services()
    other = psvc.replace(caches={})
    assert alert_province(psvc, AlertKind.DEAD, PROVINCE, "TIMEOUT")
    assert not alert_province(other, AlertKind.DEAD, PROVINCE, "TIMEOUT")
    assert len(psvc.registry.list_alerts(PROVINCE)) == 1


def test_failing_alert_only_after_the_configured_time():
    psvc = make_province_services()
    psvc.http.mode = "500"
    _enqueue(psvc, 3)
    psvc.queue.run(psvc, max_batches=4)  # attempts at 0, 1 min, 6 min, 36 min: under 2 h
    assert psvc.registry.list_alerts(PROVINCE) == []
    psvc.queue.run(psvc, max_batches=2)  # the 2 h 36 min attempt
    assert [a["kind"] for a in psvc.registry.list_alerts(PROVINCE)] == ["DELIVERY_FAILING"]


# --- sweeper and re-drive ---------------------------------------------------------------------------------------

def test_sweeper_requeues_only_stale_pending_deliveries_once_per_grace_period():
    psvc = make_province_services()
    stale, fresh = receipt_delivery(sample_receipt(1)), receipt_delivery(sample_receipt(2))
    psvc.deliveries.add_pending(stale, (START - timedelta(hours=1)).isoformat())
    psvc.deliveries.add_pending(fresh, START.isoformat())
    assert sweep(psvc) == {"requeued": 1}
    assert sweep(psvc) == {"requeued": 0}  # idempotent: swept deliveries wait another grace period
    psvc.queue.run(psvc)
    assert psvc.deliveries.delivery_state(stale)["state"] == "DELIVERED"
    assert set(psvc.http.received) == _ids([stale])


def test_redrive_after_the_province_is_back_delivers_the_dead_letters():
    psvc = make_province_services()
    psvc.http.mode = "500"
    deliveries = _enqueue(psvc, 12)
    psvc.queue.run(psvc)
    assert len(psvc.queue.dlq) == 12

    from chalicelib.core.errors import AppError

    with pytest.raises(AppError) as refused:
        redrive(psvc, Actor("admin-h35", operator=False, province_claim="000.00.00.H35"), PROVINCE)
    assert refused.value.status == 403
    psvc.http.mode = "ok"
    result = redrive(psvc, Actor("op-1", operator=True), PROVINCE)
    assert result == {"agency_code": PROVINCE, "redriven": 12, "dead_letters_removed": 12}
    assert psvc.queue.dlq == []
    psvc.queue.run(psvc)
    assert {psvc.deliveries.delivery_state(d)["state"] for d in deliveries} == {"DELIVERED"}
    assert set(psvc.http.received) == _ids(deliveries)
    assert redrive(psvc, Actor("op-1", operator=True), PROVINCE)["redriven"] == 0  # idempotent
    assert psvc.registry.list_audit(PROVINCE)[0]["action"] == "redrive"


def test_unreadable_messages_are_kept_not_lost():
    from tests.fakes_provinces import _Message

    psvc = make_province_services()
    psvc.queue.messages.append(_Message(99, "{not json"))
    psvc.queue.run(psvc, max_batches=1)
    (message,) = psvc.queue.messages
    assert message.visible_at == START.timestamp() + 60  # postponed like any failure, on its way to the DLQ


# --- robustness ----------------------------------------------------------------------------------------------------

def test_a_province_without_a_notice_api_gets_no_notices_and_nothing_is_retried_or_alerted():
    from chalicelib.provinces.domain.delivery import notice_delivery

    psvc = make_province_services()
    psvc.registry.apis.pop((PROVINCE, ApiType.NOTICE))
    notice = notice_delivery(PROVINCE, {"dossier_code": "000.00.43.H35-260520-0001", "notice_number": "TB-1",
                                        "version": 1, "amount_vnd": 1000})
    psvc.queue.send([notice])
    psvc.queue.run(psvc)
    assert psvc.queue.messages == [] and psvc.queue.dlq == []  # taken off the queue at once
    assert psvc.deliveries.delivery_state(notice) is None  # nothing recorded as delivered or failed
    assert psvc.http.data_calls == 0 and psvc.alerts.sms_sent == [] and psvc.alerts.ops_alerts == []


def test_a_message_that_crashes_the_consumer_is_retried_on_the_schedule_and_ends_dead_and_alerted():
    psvc = make_province_services()
    psvc = psvc.replace(receipt_pdf=lambda doc: (_ for _ in ()).throw(KeyError("items")))  # a bug in the renderer
    psvc.outbox.bind(psvc)
    (delivery,) = _enqueue(psvc, 1)
    psvc.queue.run(psvc)
    state = psvc.deliveries.delivery_state(delivery)
    assert state["state"] == "DEAD" and state["last_error"] == "INTERNAL_ERROR: KeyError"
    assert state["attempts"] == MAX_ATTEMPTS and len(psvc.queue.dlq) == 1
    assert [k for k, _, _ in psvc.alerts.ops_alerts][-1] == "DELIVERY_DEAD"


def test_alerts_count_notices_apart_from_receipts():
    from chalicelib.provinces.domain.delivery import AlertKind, notice_delivery

    psvc = make_province_services()
    notices = [notice_delivery(PROVINCE, {"dossier_code": f"000.00.43.H35-260520-000{n}", "notice_number": f"TB-{n}",
                                          "version": 1}) for n in (1, 2)]
    for n in notices:
        psvc.deliveries.mark_failed(n, error="HTTP_500", at=START.isoformat(), first_attempt_at=START.isoformat(),
                                    next_attempt_at=None, dead=True)
    assert alert_province(psvc, AlertKind.DEAD, PROVINCE, "HTTP_500")
    sms = psvc.alerts.sms_sent[0][1]
    assert "0 biên lai đã dừng gửi" in sms and "thông báo thuế: 2 đã dừng gửi" in sms
    assert psvc.alerts.emails[0]["subject"].startswith("Thông báo thuế không gửi được")
    assert "Số biên lai đã chuyển vào hàng đợi lỗi (không gửi lại tự động nữa): 0" in psvc.alerts.emails[0]["text"]
