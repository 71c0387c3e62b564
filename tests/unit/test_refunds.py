"""Refunds (M14 §3): four eyes, never more than the bank took, one refund per refund id whatever the retries,
every step audited, and the citizen sees the refund on the payment."""
from __future__ import annotations

import threading

import pytest

from chalicelib.core.clock import FixedClock
from chalicelib.core.errors import AppError
from chalicelib.payments.services.bank_results import BankResult, apply_bank_result
from chalicelib.payments.services.intake import ingest_notices
from chalicelib.payments.services.payment_requests import get_payment, initiate_payment
from chalicelib.reconciliation.domain.refunds import RefundState
from chalicelib.reconciliation.ports import BankStatus, BankStatusKind, RefundKind, RefundResult, StalePolicy
from chalicelib.reconciliation.services import refunds
from tests.fakes import AMOUNT, NOTICE_NUMBER, START, payment_body, sample_batch, sample_notice, secret
from tests.fakes_reconciliation import FakeBank, FakeGateways, make_reconciliation

ALICE, BOB = "operator-alice", "operator-bob"
REASON = "Thu trùng: giao dịch thứ hai cho cùng thông báo"


def services(bank: FakeBank | None = None, policy: StalePolicy | None = None):
    ctx = make_reconciliation(policy or StalePolicy(workers=1, refund_send_lease_s=60), clock=FixedClock(START),
                              bank_gateways=FakeGateways(BIDV=bank or FakeBank()))
    ingest_notices(ctx, sample_batch(sample_notice()))
    return ctx


def bank_result(pid: str, ref: str) -> BankResult:
    return BankResult("BIDV", pid, ref, AMOUNT, "VND", True, "2026-05-20T09:05:00+07:00")


def start(ctx) -> str:
    status, answer = initiate_payment(ctx, payment_body(NOTICE_NUMBER, "BIDV"), None, None)
    assert status == 201
    return answer["payment_id"]


def double_paid(ctx) -> str:
    """A payment paid twice at the bank (FT-FIRST, with the receipt, then FT-SECOND): FT-SECOND is refundable."""
    pid = start(ctx)
    apply_bank_result(ctx, bank_result(pid, "FT-FIRST"))
    apply_bank_result(ctx, bank_result(pid, "FT-SECOND"))
    return pid


def refused(fn, *args) -> AppError:
    with pytest.raises(AppError) as exc:
        fn(*args)
    return exc.value


def request(ctx, pid: str, ref: str = "FT-SECOND", amount: int = AMOUNT, who: str = ALICE):
    return refunds.request_refund(ctx, pid, ref, amount, REASON, who)


# --- requesting ----------------------------------------------------------------------------------------------------

def test_an_operator_requests_a_refund_of_the_second_bank_transaction():
    ctx = services()
    pid = double_paid(ctx)

    refund = request(ctx, pid)

    assert refund.state == RefundState.REQUESTED and refund.full is True and refund.refund_id.startswith("RFD")
    assert refund.audit == [{"action": "REFUND_REQUESTED", "by": ALICE, "at": START.isoformat(), "note": REASON}]
    assert "REFUND_REQUESTED" in ctx.alerts.kinds  # the other operators are told it awaits approval
    summary = get_payment(ctx, pid, secret(ctx, pid))["refunds"]
    assert summary == [{"refund_id": refund.refund_id, "bank_txn_ref": "FT-SECOND", "amount_vnd": AMOUNT,
                        "state": "REFUND_REQUESTED", "requested_at": START.isoformat()}]


def test_the_receipted_transaction_and_a_payment_paid_once_cannot_be_refunded():
    ctx = services()
    pid = double_paid(ctx)
    assert refused(request, ctx, pid, "FT-FIRST").code == "REFUND_NOT_REQUIRED"
    ctx2 = services()
    once = start(ctx2)
    apply_bank_result(ctx2, bank_result(once, "FT-ONLY"))
    assert refused(request, ctx2, once, "FT-ONLY").code == "REFUND_NOT_REQUIRED"
    assert refused(request, ctx2, "PAYH35NOTAPAYMENT", "FT-ONLY").code == "PAYMENT_NOT_FOUND"


def test_a_late_payment_of_a_notice_paid_by_another_is_refundable_in_full():
    ctx = services()
    late = start(ctx)
    ctx.clock.advance(minutes=16)
    winner = start(ctx)
    apply_bank_result(ctx, bank_result(winner, "FT-WINNER"))
    apply_bank_result(ctx, bank_result(late, "FT-LATE"))  # no receipt: refund_required

    assert request(ctx, late, "FT-LATE").state == RefundState.REQUESTED
    assert refused(request, ctx, winner, "FT-WINNER").code == "REFUND_NOT_REQUIRED"


def test_never_more_than_the_bank_took_counting_the_other_refunds_of_the_transaction():
    ctx = services()
    pid = double_paid(ctx)

    err = refused(request, ctx, pid, "FT-SECOND", AMOUNT + 1)
    assert (err.status, err.code, err.extra) == (422, "REFUND_AMOUNT_EXCEEDS_TAKEN", {"refundable_vnd": AMOUNT})
    first = request(ctx, pid, amount=AMOUNT - 500)
    assert first.full is False
    err = refused(request, ctx, pid, "FT-SECOND", 501)
    assert err.extra == {"refundable_vnd": 500}
    request(ctx, pid, amount=500)
    assert refused(request, ctx, pid, "FT-SECOND", 1).extra == {"refundable_vnd": 0}


def test_a_rejected_request_frees_its_amount():
    ctx = services()
    pid = double_paid(ctx)
    refund = request(ctx, pid)
    refunds.reject_refund(ctx, refund.refund_id, BOB, {"note": "Trùng với yêu cầu khác"})
    assert request(ctx, pid).state == RefundState.REQUESTED


def test_concurrent_requests_cannot_together_exceed_what_the_bank_took():
    ctx = services()
    pid = double_paid(ctx)
    barrier = threading.Barrier(6, timeout=5)
    made, errors = [], []

    def ask():
        barrier.wait()
        try:
            made.append(request(ctx, pid, amount=AMOUNT // 2))
        except AppError as e:
            errors.append(e.code)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 2 and sum(r.amount_vnd for r in made) <= AMOUNT
    assert set(errors) <= {"REFUND_AMOUNT_EXCEEDS_TAKEN", "CONCURRENT_UPDATE"}


# --- approving -----------------------------------------------------------------------------------------------------

def test_the_requester_cannot_approve_their_own_refund():
    ctx = services()
    refund = request(ctx, double_paid(ctx))

    err = refused(refunds.approve_refund, ctx, refund.refund_id, ALICE)

    assert (err.status, err.code) == (403, "REFUND_SELF_APPROVAL")
    assert refunds.get_refund(ctx, refund.refund_id).state == RefundState.REQUESTED
    assert ctx.bank_gateways.banks["BIDV"].orders == []


def test_a_second_operator_approves_and_the_bank_refunds():
    bank = FakeBank(refund_results=[RefundResult(RefundKind.REFUNDED, "RF-77", "REFUNDED")])
    ctx = services(bank)
    pid = double_paid(ctx)
    refund = request(ctx, pid)

    done = refunds.approve_refund(ctx, refund.refund_id, BOB, {"note": "Đã đối chiếu sao kê"})

    assert done.state == RefundState.REFUNDED and done.bank_refund_ref == "RF-77" and done.decided_by == BOB
    assert [(a["action"], a["by"]) for a in done.audit] == [
        ("REFUND_REQUESTED", ALICE), ("REFUND_APPROVED", BOB), ("SENT_TO_BANK", BOB), ("REFUNDED", "bank")]
    (order,) = bank.orders
    assert (order.refund_id, order.bank_txn_ref, order.amount_vnd, order.full, order.requested_by) == (
        refund.refund_id, "FT-SECOND", AMOUNT, True, ALICE)
    assert get_payment(ctx, pid, secret(ctx, pid))["refunds"][0]["state"] == "REFUNDED"


def test_approving_twice_is_refused():
    ctx = services()
    refund = request(ctx, double_paid(ctx))
    refunds.approve_refund(ctx, refund.refund_id, BOB)
    assert refused(refunds.approve_refund, ctx, refund.refund_id, "operator-carol").code == "REFUND_NOT_PENDING"
    assert len(ctx.bank_gateways.banks["BIDV"].orders) == 1


def test_the_bank_refusing_fails_the_refund_alerts_and_frees_the_amount():
    bank = FakeBank(refund_results=[RefundResult(RefundKind.REFUSED, detail="AMOUNT_EXCEEDS_PAID")])
    ctx = services(bank)
    pid = double_paid(ctx)
    refund = request(ctx, pid)

    failed = refunds.approve_refund(ctx, refund.refund_id, BOB)

    assert failed.state == RefundState.FAILED and failed.last_result == "AMOUNT_EXCEEDS_PAID"
    assert "REFUND_FAILED" in ctx.alerts.kinds
    assert request(ctx, pid).state == RefundState.REQUESTED


# --- retries: refunded once ----------------------------------------------------------------------------------------

def test_a_timed_out_send_is_retried_with_the_same_id_and_refunds_once():
    lost = RefundResult(RefundKind.NO_ANSWER, detail="BOOKED_BUT_LOST")  # the bank booked it, the answer was lost
    bank = FakeBank(refund_results=[lost, RefundResult(RefundKind.REFUNDED, "RF-1", "REFUNDED")])
    ctx = services(bank)
    refund = request(ctx, double_paid(ctx))

    waiting = refunds.approve_refund(ctx, refund.refund_id, BOB)
    assert waiting.state == RefundState.APPROVED and waiting.attempts == 1 and waiting.last_result == "BOOKED_BUT_LOST"
    assert refused(refunds.send_refund, ctx, refund.refund_id, BOB).code == "REFUND_SEND_IN_PROGRESS"  # lease
    ctx.clock.advance(seconds=61)

    assert refunds.send_due_refunds(ctx) == {"refunds_sent": 1}

    done = refunds.get_refund(ctx, refund.refund_id)
    assert done.state == RefundState.REFUNDED and done.attempts == 2
    assert {o.refund_id for o in bank.orders} == {refund.refund_id}  # one id for both sends
    assert refunds.send_due_refunds(ctx) == {"refunds_sent": 0}


def test_a_duplicate_request_id_is_settled_by_the_banks_status():
    bank = FakeBank(status=BankStatus(BankStatusKind.PAID, "FT-SECOND", AMOUNT, None, "00/00", refunded=True),
                    refund_results=[RefundResult(RefundKind.NO_ANSWER, detail="UNREACHABLE:ReadTimeout"),
                                    RefundResult(RefundKind.DUPLICATE, detail="94")])
    ctx = services(bank)
    refund = request(ctx, double_paid(ctx))
    refunds.approve_refund(ctx, refund.refund_id, BOB)
    ctx.clock.advance(seconds=61)

    done = refunds.send_refund(ctx, refund.refund_id, BOB)

    assert done.state == RefundState.REFUNDED and done.last_result == "DUPLICATE_REQUEST_ALREADY_REFUNDED"


def test_a_duplicate_the_bank_status_cannot_settle_is_left_to_a_person():
    bank = FakeBank(status=BankStatus(BankStatusKind.PAID, "FT-SECOND", AMOUNT, None, "00/00"),
                    refund_results=[RefundResult(RefundKind.DUPLICATE, detail="94")])
    ctx = services(bank)
    refund = request(ctx, double_paid(ctx))

    review = refunds.approve_refund(ctx, refund.refund_id, BOB)

    assert review.state == RefundState.APPROVED and review.needs_review is True
    assert "REFUND_NEEDS_REVIEW" in ctx.alerts.kinds
    ctx.clock.advance(hours=1)
    assert refunds.send_due_refunds(ctx) == {"refunds_sent": 0}
    assert refused(refunds.send_refund, ctx, refund.refund_id, BOB).code == "REFUND_NOT_SENDABLE"


def test_an_unanswered_refund_alerts_once_after_an_hour():
    bank = FakeBank(refund_results=[RefundResult(RefundKind.NO_ANSWER, detail="HTTP_503")])
    ctx = services(bank)
    refund = request(ctx, double_paid(ctx))
    refunds.approve_refund(ctx, refund.refund_id, BOB)
    for _ in range(20):
        ctx.clock.advance(minutes=5)
        refunds.send_due_refunds(ctx)
    assert ctx.alerts.kinds.count("REFUND_UNANSWERED") == 1
    assert refunds.get_refund(ctx, refund.refund_id).attempts == 21


def test_concurrent_sends_call_the_bank_once():
    bank = FakeBank(refund_results=[RefundResult(RefundKind.NO_ANSWER, detail="HTTP_503"),
                                    RefundResult(RefundKind.REFUNDED, "RF-1", "REFUNDED")])
    ctx = services(bank)
    refund = request(ctx, double_paid(ctx))
    refunds.approve_refund(ctx, refund.refund_id, BOB)
    ctx.clock.advance(seconds=61)
    barrier = threading.Barrier(4, timeout=5)
    codes = []

    def send():
        barrier.wait()
        try:
            refunds.send_refund(ctx, refund.refund_id, BOB)
        except AppError as e:
            codes.append(e.code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # One more call to the bank; the others found it being sent (the lease) or already refunded.
    assert len(bank.orders) == 2 and len(codes) == 3
    assert set(codes) <= {"REFUND_SEND_IN_PROGRESS", "REFUND_NOT_SENDABLE"}
    assert refunds.get_refund(ctx, refund.refund_id).state == RefundState.REFUNDED


# --- reject, list --------------------------------------------------------------------------------------------------

def test_reject_needs_a_note_and_is_audited():
    ctx = services()
    refund = request(ctx, double_paid(ctx))
    assert refused(refunds.reject_refund, ctx, refund.refund_id, BOB, {}).code == "VALIDATION_FAILED"
    rejected = refunds.reject_refund(ctx, refund.refund_id, ALICE, {"note": "Rút lại yêu cầu"})
    assert rejected.state == RefundState.REJECTED and rejected.audit[-1]["note"] == "Rút lại yêu cầu"
    assert refused(refunds.approve_refund, ctx, refund.refund_id, BOB).code == "REFUND_NOT_PENDING"


def test_lists_by_state_and_payment():
    ctx = services()
    pid = double_paid(ctx)
    first = request(ctx, pid, amount=1000)
    ctx.clock.advance(seconds=1)
    second = request(ctx, pid, amount=2000)
    page = refunds.list_refunds(ctx, "REFUND_REQUESTED", None, pid, 1, None)
    assert [r["refund_id"] for r in page["items"]] == [second.refund_id] and page["next_cursor"]
    page2 = refunds.list_refunds(ctx, "REFUND_REQUESTED", "BIDV", None, 1, page["next_cursor"])
    assert [r["refund_id"] for r in page2["items"]] == [first.refund_id]
    assert refunds.list_refunds(ctx, "REFUNDED", None, None, 10, None)["items"] == []
    assert refused(refunds.list_refunds, ctx, "REFUNDED", None, None, 10, "bad!").code == "CURSOR_INVALID"
    assert refused(refunds.get_refund, ctx, "RFD0000").code == "REFUND_NOT_FOUND"


# --- report figures ------------------------------------------------------------------------------------------------

def _refund_tallies(ctx) -> list:
    return [t for t in ctx.ledger.tallies if any(name.startswith("ref|") for name in t.as_dict())]


def test_a_refund_of_money_counted_as_collected_is_counted_as_refunded_once_with_the_refund():
    bank = FakeBank(refund_results=[RefundResult(RefundKind.REFUNDED, "RF-9", "REFUNDED")])
    ctx = services(bank)
    late = start(ctx)
    ctx.clock.advance(minutes=16)
    apply_bank_result(ctx, bank_result(start(ctx), "FT-WINNER"))
    apply_bank_result(ctx, bank_result(late, "FT-LATE"))  # collected (tallied), to be refunded in full
    refund = request(ctx, late, "FT-LATE")
    assert _refund_tallies(ctx) == []  # requested is not refunded

    refunds.approve_refund(ctx, refund.refund_id, BOB)

    (tally,) = _refund_tallies(ctx)
    figures = tally.as_dict()
    assert figures["ref|c"] == 1 and figures["ref|v"] == AMOUNT
    assert any(name.startswith("ri|") for name in figures)  # in full: its sub-items too
    assert refunds.send_due_refunds(ctx) == {"refunds_sent": 0} and len(_refund_tallies(ctx)) == 1


def test_a_refund_of_a_second_bank_transaction_is_not_a_refund_of_a_collection():
    bank = FakeBank(refund_results=[RefundResult(RefundKind.REFUNDED, "RF-2", "REFUNDED")])
    ctx = services(bank)
    refund = request(ctx, double_paid(ctx))  # FT-SECOND was never counted as collected

    assert refunds.approve_refund(ctx, refund.refund_id, BOB).state == RefundState.REFUNDED
    assert _refund_tallies(ctx) == []
