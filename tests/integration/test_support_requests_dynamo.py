"""The support-request repository against DynamoDB (moto over HTTP): listings page through every request exactly
once, newest first, in one query per unfiltered page and at most three per filtered page; a change is conditional
on the revision and writes the request and its listing entry together; the clock's timers are found when due."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from chalicelib.core.clock import VN_TZ
from chalicelib.onboarding.adapters.dynamo import MAX_QUERIES_PER_PAGE
from chalicelib.onboarding.domain.requests import HistoryEntry, Party, Status, SupportRequest
from chalicelib.onboarding.domain.search import ListQuery
from chalicelib.onboarding.ports import ConcurrentChangeError

UNIT = "000.00.00.H05"  # Bắc Ninh: no other test files requests for it
START = datetime(2026, 3, 2, 8, 0, tzinfo=VN_TZ)
N = 45


@pytest.fixture(scope="module")
def store(stack):
    from chalicelib.bootstrap import context

    return context().support_requests


def _request(i: int, token: str, status: Status = Status.NEW) -> SupportRequest:
    at = (START + timedelta(minutes=i)).isoformat()
    return SupportRequest(
        request_id="YC" + uuid.uuid4().hex[:26].upper(), request_type="other", unit_code=UNIT, unit_name="Tỉnh Bắc Ninh",
        service_group={"code": "dvcqg_integration", "name": "Tích hợp Cổng Dịch vụ công quốc gia"}, service=None,
        requester_name="Lê Văn Minh", requester_phone="+84912345678", contact=None, feedback_email="a@b.vn",
        title=f"Yêu cầu {token} số {i}", description="...", status=status,
        history=[HistoryEntry(status=status, at=at, by="x", party=Party.REQUESTER)], created_at=at, created_by="x",
        updated_at=at)


@pytest.fixture(scope="module")
def filed(store):
    token = uuid.uuid4().hex[:8]
    requests = [_request(i, token, Status.IN_PROGRESS if i % 7 == 0 else Status.NEW) for i in range(N)]
    for r in requests:
        store.create(r, {"action": "filed", "by": "x", "party": "requester", "at": r.created_at}, [], None)
    return token, requests


def _all_pages(store, unit, query: ListQuery) -> tuple[list[str], list[int]]:
    seen, calls, after = [], [], None
    while True:
        page = store.list(unit, query.key_range(), query.filters(), query.limit, after)
        seen += [r["request_id"] for r in page.rows]
        calls.append(page.queries)
        after = page.next_key
        if after is None:
            return seen, calls


def test_a_province_listing_pages_through_everything_once_newest_first(store, filed):
    _, requests = filed
    seen, calls = _all_pages(store, UNIT, ListQuery(limit=10))
    assert seen == [r.request_id for r in reversed(requests)]
    assert set(calls) == {1}  # unfiltered: one query per page


def test_filtered_listings_find_exactly_the_matches_in_bounded_reads(store, filed):
    token, requests = filed
    wanted = [r.request_id for r in reversed(requests) if r.status is Status.IN_PROGRESS]
    seen, calls = _all_pages(store, UNIT, ListQuery(limit=3, status="in_progress"))
    assert seen == wanted and max(calls) <= MAX_QUERIES_PER_PAGE
    # Every province, folded words of the title (the token makes the set this test's own).
    seen, _ = _all_pages(store, None, ListQuery(limit=4, title=f"YEU CAU {token}", status="in_progress"))
    assert seen == wanted
    day = ListQuery(limit=50, from_date=START.date(), to_date=START.date(), title=token)
    assert len(_all_pages(store, None, day)[0]) == N


def test_a_change_is_conditional_on_the_revision_and_updates_the_listing(store, filed):
    _, requests = filed
    request = store.get(requests[1].request_id)
    moved = request.model_copy(update={"status": Status.DONE, "rev": request.rev + 1})
    store.update(moved, request.rev, {"action": "status_changed", "by": "op", "party": "operator",
                                      "at": request.created_at}, timer_at=None)
    with pytest.raises(ConcurrentChangeError):
        store.update(moved, request.rev, None)
    got, _, audit = store.detail(request.request_id)
    assert got.status is Status.DONE and [a["action"] for a in audit] == ["filed", "status_changed"]
    seen, _ = _all_pages(store, UNIT, ListQuery(limit=50, status="done"))
    assert seen == [request.request_id]


def test_due_timers_are_found_and_removed(store, filed):
    _, requests = filed
    request = store.get(requests[2].request_id)
    due = int(START.timestamp()) + 3600
    store.update(request.model_copy(update={"rev": request.rev + 1}), request.rev, None, timer_at=due)
    assert request.request_id not in store.due_timers(due - 1)
    assert request.request_id in store.due_timers(due)
    again = store.get(request.request_id)
    store.update(again.model_copy(update={"rev": again.rev + 1}), again.rev, None, timer_at=None)
    assert request.request_id not in store.due_timers(due + 10)
