"""The reconciliation adapters on DynamoDB (moto over HTTP): the sparse live-payment index (gsi2) and its conditional
claims, the one alert, and refunds written with their payment's summary, all or nothing."""
from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta

import boto3
import pytest

from chalicelib.core.clock import VN_TZ, FixedClock
from chalicelib.outbox import domain as outbox
from chalicelib.payments.services.bank_results import BankResult, apply_bank_result
from chalicelib.payments.services.payment_requests import initiate_payment
from chalicelib.reconciliation.domain.refunds import Refund, RefundState, with_summary
from chalicelib.reconciliation.ports import RefundConflictError

ID = "035095001234"


@pytest.fixture()
def ctx(stack):
    from chalicelib.bootstrap import context

    return context().replace(clock=FixedClock(datetime.now(VN_TZ).replace(microsecond=0)))


def new_payment(api, ctx) -> str:
    dossier, number, _ = api.new_notice()
    status, answer = initiate_payment(ctx, {"dossier_code": dossier, "id_number": ID, "notice_number": number,
                                            "bank_code": "BIDV"}, None, None)
    assert status == 201
    return answer["payment_id"]


def raw_item(stack, payment_id: str) -> dict:
    return boto3.client("dynamodb").get_item(TableName=stack.env["LEDGER_TABLE"], ConsistentRead=True,
                                             Key={"pk": {"S": f"PAY#{payment_id}"}, "sk": {"S": "PAYMENT"}})["Item"]


def due_ids(ctx, now: int) -> list[str]:
    return [live.payment.payment_id for live in ctx.live_payments.due(now, 10_000)]


def alert_intents(stack) -> int:
    page = boto3.client("dynamodb").scan(TableName=stack.env["LEDGER_TABLE"],
                                         FilterExpression="#r = :r AND begins_with(pk, :p)",
                                         ExpressionAttributeNames={"#r": "ref"},
                                         ExpressionAttributeValues={":r": {"S": "STALE_PAYMENT_UNRESOLVED"},
                                                                    ":p": {"S": "OUTBOX#"}})
    return len(page["Items"])


def test_a_live_payment_is_in_the_index_until_it_is_paid(api, stack, ctx):
    pid = new_payment(api, ctx)
    payment = ctx.ledger.get_payment(pid)
    item = raw_item(stack, pid)
    assert item["gsi2pk"]["S"].startswith("LIVE#") and item["gsi2sk"]["S"] == f"{payment.expires_at:010d}#{pid}"
    assert pid not in due_ids(ctx, payment.expires_at - 1)
    assert pid in due_ids(ctx, payment.expires_at)

    apply_bank_result(ctx, BankResult("BIDV", pid, "FT-IDX-1", payment.amount_vnd, "VND", True))

    assert "gsi2pk" not in raw_item(stack, pid) and "gsi2sk" not in raw_item(stack, pid)
    assert pid not in due_ids(ctx, payment.expires_at + 3600)


def test_one_claim_per_interval_also_under_concurrency_and_never_for_a_moved_payment(api, stack, ctx):
    pid = new_payment(api, ctx)
    payment, now = ctx.ledger.get_payment(pid), int(time.time())
    barrier, won = threading.Barrier(8, timeout=10), []

    def claim():
        barrier.wait()
        won.append(ctx.live_payments.claim(payment, now, 30))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert won.count(True) == 1
    assert ctx.live_payments.claim(payment, now + 29, 30) is False
    assert ctx.live_payments.claim(payment, now + 30, 30) is True
    stale = payment.model_copy(update={"rev": payment.rev - 1})
    assert ctx.live_payments.claim(stale, now + 3600, 30) is False
    # A claim before the expiry (the return page) never makes the payment due before it expires; after it, the
    # claim moves it to the next check.
    assert raw_item(stack, pid)["gsi2sk"]["S"] == f"{payment.expires_at:010d}#{pid}"
    assert ctx.live_payments.claim(payment, payment.expires_at + 100, 30) is True
    assert raw_item(stack, pid)["gsi2sk"]["S"] == f"{payment.expires_at + 130:010d}#{pid}"


def test_unresolved_moves_the_due_time_and_alerts_once(api, stack, ctx):
    pid = new_payment(api, ctx)
    payment = ctx.ledger.get_payment(pid)
    later = payment.expires_at + 600
    alert = outbox.ops_alert("STALE_PAYMENT_UNRESOLVED", "test", {"payment_id": pid})
    before = alert_intents(stack)

    assert ctx.live_payments.unresolved(payment, later, alert) is True
    assert ctx.live_payments.unresolved(payment, later + 300, alert) is True  # moved again, not alerted again

    item = raw_item(stack, pid)
    assert item["gsi2sk"]["S"] == f"{later + 300:010d}#{pid}" and "alerted_at" in item
    assert alert_intents(stack) - before == 1
    assert pid not in due_ids(ctx, later + 299) and pid in due_ids(ctx, later + 300)
    assert [x.alerted for x in ctx.live_payments.due(later + 300, 10_000) if x.payment.payment_id == pid] == [True]
    assert ctx.live_payments.claim(payment, later + 299, 30) is False  # not queryable before its due time


def test_index_writes_never_touch_a_payment_that_has_moved(api, stack, ctx):
    pid = new_payment(api, ctx)
    payment = ctx.ledger.get_payment(pid)
    apply_bank_result(ctx, BankResult("BIDV", pid, "FT-IDX-2", payment.amount_vnd, "VND", True))

    assert ctx.live_payments.unresolved(payment, payment.expires_at + 60) is False
    assert "gsi2pk" not in raw_item(stack, pid)  # not put back in the index


def _refund(payment, **changes) -> Refund:
    now = datetime.now(VN_TZ).isoformat()
    fields = {"refund_id": f"RFD{uuid.uuid4().hex[:26].upper()}", "payment_id": payment.payment_id,
              "bank_code": payment.bank_code, "bank_txn_ref": "FT-R", "amount_vnd": 1000, "full": False,
              "reason": "integration", "state": RefundState.REQUESTED, "collecting_unit": payment.collecting_unit,
              "payment_created_at": payment.created_at, "requested_by": "op-a", "requested_at": now, "rev": 1}
    return Refund(**{**fields, **changes})


def test_a_refund_and_its_payment_summary_are_written_together_or_not_at_all(api, stack, ctx):
    pid = new_payment(api, ctx)
    payment = ctx.ledger.get_payment(pid)
    refund = _refund(payment)

    ctx.refunds.save(refund, None, with_summary(payment, refund), payment)
    assert ctx.refunds.get(refund.refund_id) == refund
    assert ctx.ledger.get_payment(pid).refunds[0]["refund_id"] == refund.refund_id

    approved = refund.model_copy(update={"state": RefundState.APPROVED, "rev": 2})
    with pytest.raises(RefundConflictError):  # the payment moved since `payment` was read
        ctx.refunds.save(approved, 1, with_summary(payment, approved), payment)
    assert ctx.refunds.get(refund.refund_id).state == RefundState.REQUESTED
    with pytest.raises(RefundConflictError):  # a stale refund rev
        ctx.refunds.save(approved, 7)
    current = ctx.ledger.get_payment(pid)
    ctx.refunds.save(approved, 1, with_summary(current, approved), current)
    assert ctx.ledger.get_payment(pid).refunds[0]["state"] == "REFUND_APPROVED"
    assert refund.refund_id in [r.refund_id for r in ctx.refunds.approved(100)]


def test_refund_lists_filter_and_page(api, stack, ctx):
    pid = new_payment(api, ctx)
    payment = ctx.ledger.get_payment(pid)
    start = datetime.now(VN_TZ)
    made = []
    for i in range(3):
        refund = _refund(payment, requested_at=(start + timedelta(seconds=i)).isoformat())
        ctx.refunds.save(refund, None)
        made.append(refund.refund_id)

    first, cursor = ctx.refunds.list(RefundState.REQUESTED, "BIDV", pid, 2, None)
    rest, _ = ctx.refunds.list(RefundState.REQUESTED, "BIDV", pid, 2, cursor)
    assert [r.refund_id for r in first + rest] == made[::-1]
    assert ctx.refunds.list(RefundState.REQUESTED, "VCB", pid, 10, None)[0] == []
    with pytest.raises(ValueError):
        ctx.refunds.list(RefundState.REFUNDED, None, None, 10, cursor)  # a cursor of another list
