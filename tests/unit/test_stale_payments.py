"""Stale payments (M14 §1): the bank is asked before a payment is given up on, from the schedule and from the return
page; one receipt whatever arrives later; expired and payable again when the bank has nothing; one alert only."""
from __future__ import annotations

import threading
from datetime import datetime

import pytest

from chalicelib.core.clock import VN_TZ, FixedClock
from chalicelib.payments.domain.notices import NoticeStatus
from chalicelib.payments.services.bank_results import BankResult, Outcome, apply_bank_result
from chalicelib.payments.services.intake import ingest_notices
from chalicelib.payments.services.payment_requests import get_payment, initiate_payment
from chalicelib.reconciliation.ports import BankStatus, BankStatusKind, StalePolicy
from chalicelib.reconciliation.services.stale import resolve_stale_payments
from tests.fakes import AMOUNT, DOSSIER_CODE, NOTICE_NUMBER, START, payment_body, sample_batch, sample_notice, secret
from tests.fakes_reconciliation import FakeBank, FakeGateways, make_reconciliation

PAID_AT = datetime(2026, 5, 20, 9, 3, 0, tzinfo=VN_TZ)
TTL_S = 15 * 60


def paid(ref: str = "FT26140000001", amount: int = AMOUNT) -> BankStatus:
    return BankStatus(BankStatusKind.PAID, ref, amount, PAID_AT, "SUCCESS")


def services(bank: FakeBank | None = None, policy: StalePolicy | None = None, **overrides):
    gateways = FakeGateways(BIDV=bank or FakeBank())
    ctx = make_reconciliation(policy, clock=FixedClock(START), bank_gateways=gateways, **overrides)
    ingest_notices(ctx, sample_batch(sample_notice(), sample_notice("TB-2021-000124", amount=2_000_000)))
    return ctx


def start(ctx, notice_number: str = NOTICE_NUMBER) -> str:
    status, answer = initiate_payment(ctx, payment_body(notice_number, "BIDV"), None, None)
    assert status == 201
    return answer["payment_id"]


def past_expiry(ctx, seconds: int = 1) -> None:
    ctx.clock.advance(seconds=TTL_S + seconds)


def stored(ctx, pid: str):
    return ctx.ledger.get_payment(pid)


def notice_status(ctx) -> NoticeStatus:
    return ctx.dossiers.get(DOSSIER_CODE).notices[NOTICE_NUMBER].status(int(ctx.clock.now().timestamp()))


# --- the schedule --------------------------------------------------------------------------------------------------

def test_a_payment_not_yet_expired_is_not_asked_about():
    ctx = services(FakeBank(status=paid()))
    start(ctx)

    assert resolve_stale_payments(ctx)["looked_at"] == 0
    assert ctx.bank_gateways.banks["BIDV"].queries == []


def test_bank_says_paid_the_receipt_is_issued_once_and_the_late_callback_changes_nothing():
    ctx = services(FakeBank(status=paid()))
    pid = start(ctx)
    past_expiry(ctx)

    assert resolve_stale_payments(ctx) == {"looked_at": 1, "paid": 1}

    payment = stored(ctx, pid)
    assert payment.state.value == "PAID" and payment.bank_txn_ref == "FT26140000001"
    assert payment.history[-1]["origin"] == "status_query"
    assert len(ctx.ledger.receipts) == 1 and ctx.ledger.receipts[0].bank_txn_ref == "FT26140000001"
    late = BankResult("BIDV", pid, "FT26140000001", AMOUNT, "VND", True, PAID_AT.isoformat())
    assert apply_bank_result(ctx, late) == Outcome.DUPLICATE
    assert len(ctx.ledger.receipts) == 1 and len(ctx.forwarding.receipts) == 1
    assert resolve_stale_payments(ctx)["looked_at"] == 0  # out of the index


@pytest.mark.parametrize("kind", [BankStatusKind.FAILED, BankStatusKind.NOT_FOUND])
def test_bank_says_failed_or_unknown_expires_the_payment_and_the_notice_is_payable_again(kind):
    ctx = services(FakeBank(status=BankStatus(kind)))
    pid = start(ctx)
    assert notice_status(ctx) == NoticeStatus.IN_PAYMENT
    past_expiry(ctx)

    assert resolve_stale_payments(ctx)["expired"] == 1

    payment = stored(ctx, pid)
    assert payment.state.value == "EXPIRED" and payment.history[-1] == {
        "state": "EXPIRED", "at": ctx.clock.now().isoformat(), "origin": "status_query", "bank_status": kind.value}
    notice = ctx.dossiers.get(DOSSIER_CODE).notices[NOTICE_NUMBER]
    assert notice.live_payment_id is None and notice_status(ctx) == NoticeStatus.PAYABLE
    assert ctx.ledger.receipts == []
    assert start(ctx) != pid  # payable again: a new payment can be made


def test_no_answer_waits_for_the_next_run_and_alerts_the_operators_once_after_an_hour():
    ctx = services(FakeBank(status=BankStatus.no_answer("UNREACHABLE:ConnectTimeout")))
    pid = start(ctx)
    past_expiry(ctx)

    runs = []
    for _ in range(16):  # more than an hour of runs, 5 minutes apart
        runs.append(resolve_stale_payments(ctx))
        ctx.clock.advance(minutes=5)

    assert all(r == {"looked_at": 1, "no_answer": 1} for r in runs)
    assert stored(ctx, pid).state.value == "PENDING_BANK"  # never given up on without the bank's word
    alerts = [d for k, _, d in ctx.alerts.published if k == "STALE_PAYMENT_UNRESOLVED"]
    assert len(alerts) == 1 and alerts[0]["payment_id"] == pid and alerts[0]["bank_answer"] == "NO_ANSWER"
    assert "UNREACHABLE" in alerts[0]["detail"]


def test_no_alert_before_the_payment_has_been_unresolved_for_an_hour():
    ctx = services(FakeBank(status=BankStatus.no_answer("HTTP_503")))
    start(ctx)
    past_expiry(ctx)
    for _ in range(11):  # 55 minutes
        resolve_stale_payments(ctx)
        ctx.clock.advance(minutes=5)
    assert "STALE_PAYMENT_UNRESOLVED" not in ctx.alerts.kinds


def test_a_pending_answer_after_expiry_is_left_for_the_next_run():
    ctx = services(FakeBank(status=BankStatus(BankStatusKind.PENDING, detail="00/01")))
    pid = start(ctx)
    past_expiry(ctx)

    assert resolve_stale_payments(ctx) == {"looked_at": 1, "still_pending": 1}
    assert stored(ctx, pid).state.value == "PENDING_BANK"
    assert ctx.live_payments.due_at(pid) == int(ctx.clock.now().timestamp()) + 30


def test_unanswered_payments_go_behind_those_not_asked_yet():
    bank = FakeBank(status=BankStatus.no_answer("HTTP_503"))
    ctx = services(bank, StalePolicy(workers=1, batch_max=1))
    first = start(ctx)
    ctx.clock.advance(seconds=1)
    second = start(ctx, "TB-2021-000124")
    past_expiry(ctx, 2)

    resolve_stale_payments(ctx)
    ctx.clock.advance(minutes=5)
    resolve_stale_payments(ctx)

    assert [q.payment_id for q in bank.queries] == [first, second]


def test_a_paid_answer_with_another_amount_is_refused_recorded_and_not_asked_again_every_run():
    ctx = services(FakeBank(status=paid(amount=AMOUNT - 1)))
    pid = start(ctx)
    past_expiry(ctx)

    assert resolve_stale_payments(ctx) == {"looked_at": 1, "refused": 1}
    ctx.clock.advance(minutes=5)
    assert resolve_stale_payments(ctx)["looked_at"] == 0  # due again tomorrow

    assert stored(ctx, pid).state.value == "PENDING_BANK" and ctx.ledger.receipts == []
    assert [a["kind"] for a in ctx.ledger.anomalies] == ["AMOUNT_MISMATCH"]
    assert ctx.ledger.anomalies[0]["origin"] == "status_query"


def test_a_callback_that_arrives_while_the_bank_is_asked_wins_and_nothing_is_applied_twice():
    ctx = services()
    pid = start(ctx)
    past_expiry(ctx)

    def answer_after_the_callback(query):
        apply_bank_result(ctx, BankResult("BIDV", pid, "FT26140000001", AMOUNT, "VND", True, PAID_AT.isoformat()))
        return paid()

    ctx.bank_gateways.banks["BIDV"].status = answer_after_the_callback
    assert resolve_stale_payments(ctx) == {"looked_at": 1, "paid": 1}  # the use case saw a duplicate
    assert len(ctx.ledger.receipts) == 1
    assert [h["origin"] for h in stored(ctx, pid).history if h["state"] == "PAID"] == ["callback"]


def test_two_runs_at_once_ask_the_bank_once_per_payment():
    barrier = threading.Barrier(2, timeout=5)
    bank = FakeBank(status=lambda query: paid(f"FT{query.payment_id[-8:]}", query.amount_vnd))
    ctx = services(bank)
    pids = [start(ctx), start(ctx, "TB-2021-000124")]
    past_expiry(ctx)

    results = []

    def run():
        barrier.wait()
        results.append(resolve_stale_payments(ctx))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(q.payment_id for q in bank.queries) == sorted(pids)
    assert sum(r.get("paid", 0) for r in results) == 2 and len(ctx.ledger.receipts) == 2


def test_the_run_is_bounded_and_a_silent_bank_does_not_hold_up_the_others():
    silent = FakeBank(status=BankStatus.no_answer("UNREACHABLE:ReadTimeout"))
    ctx = services(silent, StalePolicy(workers=1, batch_max=2, silent_bank_after=1))
    start(ctx)
    start(ctx, "TB-2021-000124")
    past_expiry(ctx)

    assert resolve_stale_payments(ctx) == {"looked_at": 2, "deferred_bank_silent": 1, "no_answer": 1}
    assert len(silent.queries) == 1


# --- the return page -----------------------------------------------------------------------------------------------

def test_the_return_page_asks_the_bank_and_shows_the_payment_paid():
    ctx = services(FakeBank(status=paid()))
    pid = start(ctx)

    view = get_payment(ctx, pid, secret(ctx, pid))

    assert view["state"] == "PAID" and view["receipt_id"]
    assert ctx.bank_gateways.asked == [("BIDV", True)]  # the quick client (short timeout)


def test_the_return_page_asks_at_most_once_per_30_seconds_per_payment():
    bank = FakeBank(status=BankStatus(BankStatusKind.PENDING))
    ctx = services(bank)
    pid = start(ctx)
    for _ in range(10):
        assert get_payment(ctx, pid, secret(ctx, pid))["state"] == "PENDING_BANK"
        ctx.clock.advance(seconds=2)  # a polling page: 20 s in all
    assert len(bank.queries) == 1
    ctx.clock.advance(seconds=10)
    get_payment(ctx, pid, secret(ctx, pid))
    assert len(bank.queries) == 2


def test_the_30_second_rule_holds_across_containers_and_concurrent_polls():
    bank = FakeBank(status=BankStatus(BankStatusKind.PENDING))
    ctx = services(bank)
    pid = start(ctx)
    barrier = threading.Barrier(8, timeout=5)

    def poll():
        container = ctx.replace(caches={})  # another Lambda container: its own cache, the same table
        barrier.wait()
        get_payment(container, pid, secret(ctx, pid))

    threads = [threading.Thread(target=poll) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(bank.queries) == 1 and ctx.live_payments.claims == 1


def test_a_failing_bank_is_invisible_to_the_citizen():
    def broken(query):
        raise RuntimeError("connection reset")

    ctx = services(FakeBank(status=broken))
    pid = start(ctx)

    assert get_payment(ctx, pid, secret(ctx, pid))["state"] == "PENDING_BANK"


def test_the_bank_failure_before_expiry_fails_the_payment_as_a_callback_would():
    ctx = services(FakeBank(status=BankStatus(BankStatusKind.FAILED, "FT1", None, None, "FAILED")))
    pid = start(ctx)

    assert get_payment(ctx, pid, secret(ctx, pid))["state"] == "FAILED"
    assert notice_status(ctx) == NoticeStatus.PAYABLE


def test_not_found_before_expiry_changes_nothing_the_citizen_may_still_pay():
    ctx = services(FakeBank(status=BankStatus(BankStatusKind.NOT_FOUND)))
    pid = start(ctx)
    assert get_payment(ctx, pid, secret(ctx, pid))["state"] == "PENDING_BANK"
    assert stored(ctx, pid).state.value == "PENDING_BANK"


def test_a_final_payment_is_never_asked_about():
    ctx = services(FakeBank(status=paid()))
    pid = start(ctx)
    apply_bank_result(ctx, BankResult("BIDV", pid, "FT9", AMOUNT, "VND", True, PAID_AT.isoformat()))
    get_payment(ctx, pid, secret(ctx, pid))
    past_expiry(ctx)
    resolve_stale_payments(ctx)
    assert ctx.bank_gateways.banks["BIDV"].queries == []


def test_the_status_query_carries_what_the_bank_looks_the_payment_up_by():
    bank = FakeBank(status=BankStatus(BankStatusKind.PENDING))
    ctx = services(bank)
    pid = start(ctx)
    get_payment(ctx, pid, secret(ctx, pid))
    (query,) = bank.queries
    assert (query.payment_id, query.bank_code, query.amount_vnd) == (pid, "BIDV", AMOUNT)
    assert query.created_at == START and query.bank_txn_ref is None
