"""The six integration steps: derived in order from events (never skipped), the operator's override, the
dashboard, and the events the province use cases report (an API check answered correctly, a delivery)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from chalicelib.core.clock import VN_TZ
from chalicelib.core.errors import AppError
from chalicelib.onboarding.domain.progress import Override, StepEvent, derive, summary
from chalicelib.onboarding.domain.requests import Caller, Party
from chalicelib.onboarding.services import progress
from chalicelib.provinces.ports import Actor
from chalicelib.provinces.services import api_check
from tests.fakes_onboarding import make_onboarding_services

QN = "000.00.00.H49"
OPERATOR = Caller("op-1", Party.OPERATOR)
T0 = datetime(2026, 5, 18, 9, 0, tzinfo=VN_TZ)


def ev(step: int, minutes: int, **details) -> StepEvent:
    return StepEvent(step=step, at=(T0 + timedelta(minutes=minutes)).isoformat(), details=details)


ALL = ["notice", "payment_result", "receipt_file"]


def test_steps_pass_in_order_from_their_events():
    events = [ev(1, 0, api_type="payment_result"), ev(2, 10), ev(3, 20),
              ev(4, 30, api_types=["notice"], configured=ALL), ev(4, 31, api_types=["payment_result", "receipt_file"],
                                                                  configured=ALL),
              ev(5, 40), ev(6, 50)]
    states = derive(events, [])
    assert [s.passed_at.minute for s in states] == [0, 10, 20, 31, 40, 50]
    assert summary(states) == {"step": None, "completed_steps": 6, "live": True,
                               "since": (T0 + timedelta(minutes=50)).isoformat()}
    assert len(states[3].evidence) == 2  # the notice delivery and the receipt delivery together reached every API


def test_no_step_is_skipped_and_stale_evidence_does_not_count():
    # A confirmation filed and deliveries made before the configuration was applied prove nothing about it.
    events = [ev(4, 0, api_types=ALL, configured=ALL), ev(5, 1), ev(1, 2, api_type="payment_result"), ev(2, 3)]
    assert summary(derive(events, []))["completed_steps"] == 2
    events.append(ev(3, 4))
    states = derive(events, [])
    assert summary(states) == {"step": 4, "completed_steps": 3, "live": False,
                               "since": (T0 + timedelta(minutes=4)).isoformat()}
    # Step 2 filed before step 1 passed: it passes with step 1, never before it.
    early = derive([ev(2, 0), ev(1, 5, api_type="payment_result")], [])
    assert early[1].passed_at == early[0].passed_at == T0 + timedelta(minutes=5)
    # A check of another API type is not the required one.
    assert summary(derive([ev(1, 0, api_type="notice")], []))["completed_steps"] == 0


def test_an_override_passes_a_step_without_evidence_and_says_who_and_why():
    override = Override(step=1, at=(T0 + timedelta(minutes=7)).isoformat(), by="op-1", reason="Đã kiểm tra qua điện thoại")
    states = derive([ev(2, 0)], [override])
    assert states[0].override == override and states[0].evidence == []
    assert states[1].passed_at == T0 + timedelta(minutes=7)  # step 2's earlier event counts from then on


def test_record_step_event_resolves_any_code_of_the_province_and_stops_once_a_step_passed():
    ctx = make_onboarding_services()
    assert progress.record_step_event(ctx, "H49", 1, {"api_type": "payment_result"})["completed_steps"] == 1
    writes = ctx.progress.writes
    assert progress.record_step_event(ctx, "22", 1, {"api_type": "payment_result"}) is None  # passed: nothing written
    assert ctx.progress.writes == writes
    assert progress.record_step_event(ctx, "H98", 1, {"api_type": "payment_result"}) is None  # not a province
    # A closed pre-2025 code counts for today's province it merged into (Hà Giang -> Tuyên Quang).
    assert progress.record_step_event(ctx, "000.00.00.H22", 1, {"api_type": "payment_result"})["agency_code"] == \
        "000.00.00.H60"
    with pytest.raises(ValueError):
        progress.record_step_event(ctx, QN, 7, {})


def test_the_dashboard_lists_the_34_provinces_by_step_and_which_are_live():
    ctx = make_onboarding_services()
    progress.override(ctx, OPERATOR, QN, {"step": 6, "reason": "Tỉnh đã vận hành trước khi có hệ thống"})
    progress.record_step_event(ctx, "000.00.00.H26", 1, {"api_type": "payment_result"})
    board = progress.dashboard(ctx, OPERATOR)
    assert board["total"] == 34 and board["live"] == [QN] and board["live_count"] == 1
    assert board["by_step"] == {"1": 32, "2": 1, "3": 0, "4": 0, "5": 0, "6": 0}
    qn = next(p for p in board["provinces"] if p["agency_code"] == QN)
    assert all(s["override"]["by"] == "op-1" for s in qn["steps"])
    own = progress.dashboard(ctx, Caller("admin", Party.REQUESTER, QN))
    assert [p["agency_code"] for p in own["provinces"]] == [QN]
    with pytest.raises(AppError) as exc:
        progress.province_progress(ctx, Caller("admin", Party.REQUESTER, QN), "000.00.00.H26")
    assert exc.value.code == "PROVINCE_FORBIDDEN"
    with pytest.raises(AppError) as exc:
        progress.override(ctx, OPERATOR, QN, {"step": 3, "reason": "Không cần thiết nữa đâu"})
    assert exc.value.code == "ONBOARDING_STEP_ALREADY_PASSED"


def test_an_api_check_that_answered_correctly_reports_step_1():
    ctx = make_onboarding_services()
    actor = Actor("admin-qn", operator=False, province_claim="H49")
    host = "https://motcua.quangninh.gov.vn"
    api_check.check_url(ctx, actor, {"url": f"{host}/session", "api_type": "payment_result", "agency_code": QN,
                                     "body": {"username": "user", "password": "wrong"}})
    assert ctx.progress.records == {}  # a 401 is not a correct answer
    api_check.check_url(ctx, actor, {"url": f"{host}/session", "api_type": "payment_result", "agency_code": QN,
                                     "body": {"username": "user", "password": "secret-pass"}})
    view = progress.province_progress(ctx, OPERATOR, QN)
    assert view["completed_steps"] == 1 and view["steps"][0]["evidence"][0]["via"] == "url_check"


def test_a_delivery_reaching_every_configured_api_reports_step_4():
    from chalicelib.provinces.domain.delivery import receipt_delivery
    from tests.fakes_provinces import make_province_services, sample_receipt

    psvc = make_province_services()
    psvc.queue.send([receipt_delivery(sample_receipt())])
    psvc.queue.run(psvc)
    ((province, step, evidence),) = psvc.step_events.events
    assert (province, step) == ("000.00.00.H35", 4)
    assert evidence["api_types"] == ["payment_result", "receipt_file"] and evidence["configured"] == ALL
    assert evidence["source"] == "payment" and evidence["test"] is False
    psvc.http.mode = "500"
    psvc.queue.send([receipt_delivery(sample_receipt(2))])
    psvc.queue.run(psvc, max_batches=3)
    assert len(psvc.step_events.events) == 1  # a failed delivery reaches nothing


def test_a_failing_step_event_never_fails_the_delivery():
    from chalicelib.provinces.domain.delivery import receipt_delivery
    from tests.fakes_provinces import make_province_services, sample_receipt

    class Broken:
        def record(self, *args):
            raise RuntimeError("onboarding store down")

    psvc = make_province_services(step_events=Broken())
    psvc.queue.send([receipt_delivery(sample_receipt())])
    psvc.queue.run(psvc)
    assert psvc.deliveries.counts("000.00.00.H35").get("DELIVERED") == 1
