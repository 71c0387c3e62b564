"""The pure rules of support requests: the transition table, the 8-working-hour clock read from a status history
(weekends, public holidays, paused while waiting), the alert points, the search keys and the cursor."""
from __future__ import annotations

from datetime import date, datetime
from itertools import product

import pytest

from chalicelib.core.clock import VN_TZ
from chalicelib.core.errors import AppError
from chalicelib.core.parsing import parse
from chalicelib.core.validation import InvalidValueError
from chalicelib.onboarding.domain.deadlines import crossed, handled_in_time, next_alert_at, sla_view
from chalicelib.onboarding.domain.requests import (
    HistoryEntry,
    Party,
    Status,
    SupportRequest,
    SupportRequestIn,
    TransitionError,
    check_transition,
)
from chalicelib.onboarding.domain.search import ListQuery, decode_cursor, encode_cursor, sort_key

OP, REQ = Party.OPERATOR, Party.REQUESTER
S = Status
# The specification, written out: (from, to) -> who may. Every other pair must be refused.
EXPECTED = {
    (S.NEW, S.IN_PROGRESS): {OP}, (S.NEW, S.WAITING): {OP}, (S.NEW, S.DONE): {OP}, (S.NEW, S.REJECTED): {OP},
    (S.NEW, S.CANCELLED): {REQ},
    (S.IN_PROGRESS, S.WAITING): {OP}, (S.IN_PROGRESS, S.DONE): {OP}, (S.IN_PROGRESS, S.REJECTED): {OP},
    (S.IN_PROGRESS, S.CANCELLED): {REQ},
    (S.WAITING, S.IN_PROGRESS): {OP, REQ}, (S.WAITING, S.DONE): {OP}, (S.WAITING, S.REJECTED): {OP},
    (S.WAITING, S.CANCELLED): {REQ},
}


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


@pytest.mark.parametrize(("current", "target", "party"), list(product(Status, Status, Party)))
def test_every_move_follows_the_table(current, target, party):
    allowed = EXPECTED.get((current, target), set())
    if party in allowed:
        check_transition(current, target, party)
        return
    with pytest.raises(TransitionError) as exc:
        check_transition(current, target, party)
    expected_code = "STATUS_TRANSITION_FORBIDDEN" if allowed else "STATUS_TRANSITION_NOT_ALLOWED"
    assert exc.value.code == expected_code and exc.value.forbidden == bool(allowed)
    assert "trạng thái" in exc.value.message


def test_closed_requests_never_move_again():
    for closed, target, party in product((S.DONE, S.CANCELLED, S.REJECTED), Status, Party):
        with pytest.raises(TransitionError):
            check_transition(closed, target, party)


def _request(history: list[tuple[Status, datetime]], **over) -> SupportRequest:
    entries = [HistoryEntry(status=s, at=at.isoformat(), by="x", party=OP) for s, at in history]
    base = dict(request_id="YC" + "0" * 26, request_type="other", unit_code="000.00.00.H49", unit_name="Tỉnh Quảng Ninh",
                service_group={"code": "dvcqg_integration", "name": "Tích hợp Cổng Dịch vụ công quốc gia"},
                service=None, requester_name="Trần Thị Hoa", requester_phone="+84912345678", contact=None,
                feedback_email="hoa@quangninh.gov.vn", title="Hỗ trợ cấu hình", description="...",
                status=history[-1][0], history=entries, created_at=history[0][1].isoformat(), created_by="x",
                updated_at=history[-1][1].isoformat())
    return SupportRequest(**{**base, **over})


def test_the_clock_skips_the_weekend_and_the_hung_kings_day_off():
    # Friday 24/04/2026 15:00; Saturday and Sunday off; Monday 27/04/2026 is the Hùng Kings' compensating day off.
    request = _request([(S.NEW, vn(2026, 4, 24, 15, 0))])
    view = sla_view(request, vn(2026, 4, 27, 10, 0))
    assert view["elapsed_seconds"] == 2 * 3600 and view["running"]
    assert view["due_at"] == vn(2026, 4, 28, 15, 0).isoformat()  # Fri 2 h + Tue 08-12 and 13-15
    assert next_alert_at(request, vn(2026, 4, 24, 15, 0)) == vn(2026, 4, 28, 12, 0)  # 6 h = 75 %
    assert view["time_left"] == "Còn 6 giờ làm việc"


def test_the_clock_stops_while_waiting_for_the_requester_and_restarts_on_their_answer():
    filed, asked, answered = vn(2026, 4, 28, 8, 0), vn(2026, 4, 28, 11, 0), vn(2026, 4, 29, 10, 0)
    waiting = _request([(S.NEW, filed), (S.WAITING, asked)])
    view = sla_view(waiting, vn(2026, 4, 29, 9, 0))
    assert view["elapsed_seconds"] == 3 * 3600 and not view["running"] and view["due_at"] is None
    assert view["time_left"].startswith("Tạm dừng tính giờ")
    assert next_alert_at(waiting, vn(2026, 4, 29, 9, 0)) is None  # no alert while stopped
    resumed = _request([(S.NEW, filed), (S.WAITING, asked), (S.IN_PROGRESS, answered)])
    assert sla_view(resumed, answered)["due_at"] == vn(2026, 4, 29, 16, 0).isoformat()  # 5 h left from Wed 10:00


def test_alerts_come_due_at_75_percent_and_at_the_breach_each_once():
    request = _request([(S.NEW, vn(2026, 5, 18, 8, 0))])  # Monday: 75 % at 15:00, due at 17:00
    assert crossed(request, vn(2026, 5, 18, 14, 59)) == []
    assert [a.name for a in crossed(request, vn(2026, 5, 18, 15, 0))] == ["75"]
    assert [a.name for a in crossed(request, vn(2026, 5, 18, 17, 0))] == ["75", "breach"]
    sent = request.model_copy(update={"alerts": {"75": "x"}})
    assert [a.name for a in crossed(sent, vn(2026, 5, 19, 9, 0))] == ["breach"]
    assert next_alert_at(sent, vn(2026, 5, 18, 15, 30)) == vn(2026, 5, 18, 17, 0)
    assert next_alert_at(sent.model_copy(update={"alerts": {"75": "x", "breach": "y"}}), vn(2026, 5, 19, 9)) is None


def test_handled_within_the_clock_is_measured_at_closing():
    filed = vn(2026, 5, 18, 8, 0)
    done_late = _request([(S.NEW, filed), (S.DONE, vn(2026, 5, 19, 9, 0))])
    assert handled_in_time(done_late, vn(2026, 5, 19, 9, 0)) == (False, 9 * 3600)
    done = _request([(S.NEW, filed), (S.DONE, vn(2026, 5, 18, 16, 0))])
    assert handled_in_time(done, vn(2026, 5, 18, 16, 0)) == (True, 7 * 3600)
    assert sla_view(done, vn(2026, 5, 20, 9, 0))["time_left"] == "Đã xử lý trong hạn"


def _form(**over) -> dict:
    return {"request_type": "api_configuration", "service_group": "dvcqg_integration",
            "requester_name": "Trần Thị Hoa", "requester_phone": "0912 345 678", "feedback_email": "Hoa@QuangNinh.gov.vn",
            "title": "Tỉnh Quảng Ninh- hỗ trợ cấu hình URL API", "description": "Các API như sau",
            "apis": [{"api_type": "payment_result", "session_url": "https://motcua.qn.gov.vn/session",
                      "data_url": "https://motcua.qn.gov.vn/tt"}], **over}


def test_the_form_checks_what_each_request_type_carries():
    ok = SupportRequestIn.model_validate(_form())
    assert ok.requester_phone == "+84912345678" and ok.feedback_email == "Hoa@quangninh.gov.vn"
    assert SupportRequestIn.model_validate(_form(requester_phone="0203 3123 456")).requester_phone == "+842033123456"
    for bad, code in ((_form(apis=[]), "APIS_REQUIRED"),
                      (_form(apis=[_form()["apis"][0]] * 2), "API_TYPE_DUPLICATE"),
                      (_form(request_type="other"), "APIS_NOT_ALLOWED"),
                      (_form(request_type="integration_confirmation", apis=[]), "EVIDENCE_REQUIRED"),
                      (_form(request_type="integration_confirmation", apis=[],
                             evidence={"attachment_ids": ["01J0000000000000000000000A"]}),
                       "EVIDENCE_ATTACHMENT_UNKNOWN"),
                      (_form(requester_phone="12345"), "PHONE_INVALID")):
        with pytest.raises(AppError) as exc:
            parse(SupportRequestIn, bad)
        assert exc.value.status == 422 and code in [e.code for e in exc.value.errors], exc.value.errors


def test_search_keys_cover_whole_vietnamese_days_and_fold_words():
    query = ListQuery(from_date=date(2026, 5, 18), to_date=date(2026, 5, 18), title="Cấu Hình", requester="trần",
                      status="new,in_progress")
    low, high = query.key_range()
    inside = sort_key(vn(2026, 5, 18, 0, 0).isoformat(), "YC" + "1" * 26)
    late = sort_key(vn(2026, 5, 18, 23, 59, 59).isoformat(), "YC" + "1" * 26)
    next_day = sort_key(vn(2026, 5, 19, 0, 0).isoformat(), "YC" + "1" * 26)
    assert low <= inside <= high and low <= late <= high and not next_day <= high
    assert query.filters() == {"st": ["new", "in_progress"], "q_title": "cau hinh", "q_req": "tran"}
    with pytest.raises(ValueError):
        ListQuery(status="open")
    with pytest.raises(ValueError):
        ListQuery(from_date=date(2026, 5, 19), to_date=date(2026, 5, 18))


def test_a_cursor_is_only_ever_a_sort_key():
    key = sort_key(vn(2026, 5, 18, 9, 0).isoformat(), "YC01J9Z3X4Q5R6S7T8V9W0XYZAB1")
    assert decode_cursor(encode_cursor(key)) == key
    for forged in (encode_cursor("SUPPORT#U#000.00.00.H26"), "!!", encode_cursor(key + "#x")):
        with pytest.raises(InvalidValueError) as exc:
            decode_cursor(forged)
        assert exc.value.code == "CURSOR_INVALID"
