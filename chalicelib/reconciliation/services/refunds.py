"""Refunds (M14 §3): an operator requests one, a different operator approves it, the bank's refund API does it.

The refund id is the bank's idempotency key: every send of a refund, first or retried, carries the same one, so a
retry after a timeout can never refund twice (the VNPay-style gateway answers 94 to a repeated request id, the
Standard Webhooks banks the first answer again). One sender at a time (a lease on the refund item, taken by a
conditional write before the bank is called); an approved refund the bank did not answer is sent again by the
schedule (``send_due_refunds``) or by an operator. Every step is audited on the refund; the payment's summary of its
refunds moves in the same transaction, so the amount rule (never more than the bank took for the transaction) is
decided on the item that is written, and the citizen's history shows the refund.
"""
from __future__ import annotations

import logging
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from chalicelib.core import tallies
from chalicelib.core.clock import epoch
from chalicelib.core.errors import AppError, conflict, forbidden, not_found, rule_error
from chalicelib.core.parsing import parse
from chalicelib.outbox import domain as outbox
from chalicelib.payments.domain.payments import Payment, is_payment_id
from chalicelib.reconciliation.domain.refunds import (
    Refund,
    RefundState,
    moved,
    new_refund_id,
    noted,
    refundable_refs,
    refundable_vnd,
    with_summary,
)
from chalicelib.reconciliation.ports import (
    ReconciliationContext,
    RefundConflictError,
    RefundKind,
    RefundOrder,
    RefundResult,
    StatusQuery,
)

log = logging.getLogger(__name__)
BANK = "bank"  # the actor of the steps the bank's answer makes
RETRIER = "system:refund-retry"
_ATTEMPTS = 5


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    payment_id: str = Field(min_length=1, max_length=64, description="The payment whose bank transaction is refunded.")
    bank_txn_ref: str = Field(min_length=1, max_length=64, description="The bank transaction to refund (one that "
                              "took the money a second time).")
    amount_vnd: StrictInt = Field(gt=0, description="At most what the bank took for it, less its other refunds.")
    reason: str = Field(min_length=5, max_length=500, description="Why (kept in the audit trail).")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: str | None = Field(default=None, max_length=500, description="Kept in the audit trail.")


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: str = Field(min_length=5, max_length=500, description="Why it is rejected (kept in the audit trail).")


def request_refund(ctx: ReconciliationContext, payment_id: str, bank_txn_ref: str, amount: int, reason: str,
                   operator: str) -> Refund:
    """A new REFUND_REQUESTED refund of ``amount`` of the bank transaction ``bank_txn_ref`` of the payment (a
    double payment, or a DUPLICATE_AT_BANK settlement line once applied through the bank-result use case)."""
    for _ in range(_ATTEMPTS):
        payment = ctx.ledger.get_payment(payment_id) if is_payment_id(payment_id) else None
        if payment is None:
            raise not_found("PAYMENT_NOT_FOUND", "Không tìm thấy giao dịch thanh toán.")
        if bank_txn_ref not in refundable_refs(payment):
            raise conflict("REFUND_NOT_REQUIRED", "Giao dịch ngân hàng này không thuộc diện hoàn tiền (không phải "
                           "khoản thu trùng của giao dịch thanh toán).", refundable=refundable_refs(payment))
        available = refundable_vnd(payment, bank_txn_ref)
        if amount > available:
            raise AppError("REFUND_AMOUNT_EXCEEDS_TAKEN", "Số tiền hoàn vượt quá số tiền ngân hàng đã thu của giao "
                           "dịch này (trừ các khoản đã hoặc đang hoàn).", 422, "Dữ liệu không hợp lệ",
                           extra={"refundable_vnd": available})
        at = ctx.clock.now().isoformat()
        refund = Refund(
            refund_id=new_refund_id(ctx.new_id()), payment_id=payment.payment_id, bank_code=payment.bank_code,
            bank_txn_ref=bank_txn_ref, amount_vnd=amount, full=amount == payment.amount_vnd, reason=reason,
            state=RefundState.REQUESTED, collecting_unit=payment.collecting_unit,
            payment_created_at=payment.created_at, requested_by=operator, requested_at=at,
            audit=[{"action": RefundState.REQUESTED.value, "by": operator, "at": at, "note": reason}], rev=1)
        alert = outbox.ops_alert("REFUND_REQUESTED", "Yêu cầu hoàn tiền chờ phê duyệt", _alert_info(refund))
        try:
            ctx.refunds.save(refund, None, with_summary(payment, refund), payment, [alert])
        except RefundConflictError:
            continue  # the payment moved (another refund, a bank result): decide again on what it is now
        ctx.count("RefundsRequested")
        return refund
    raise _busy()


def request_refund_from(ctx: ReconciliationContext, body: dict, operator: str) -> Refund:
    req = parse(RefundIn, body)
    return request_refund(ctx, req.payment_id, req.bank_txn_ref, req.amount_vnd, req.reason, operator)


def approve_refund(ctx: ReconciliationContext, refund_id: str, operator: str, body: dict | None = None) -> Refund:
    """The second operator's approval, then the first send to the bank (whatever the bank answers, the approval
    stands: an unanswered send is retried with the same refund id)."""
    note = parse(DecisionIn, body or {}).note or ""
    refund = get_refund(ctx, refund_id)
    if refund.state != RefundState.REQUESTED:
        raise conflict("REFUND_NOT_PENDING", "Yêu cầu hoàn tiền không ở trạng thái chờ phê duyệt.",
                       state=refund.state.value)
    if operator == refund.requested_by:
        raise forbidden("REFUND_SELF_APPROVAL", "Người đề nghị hoàn tiền không được tự phê duyệt; cần một cán bộ "
                        "vận hành khác phê duyệt.")
    at = ctx.clock.now().isoformat()
    approved = moved(refund, RefundState.APPROVED, operator, at, note, decided_by=operator, decided_at=at)
    _save_with_payment(ctx, approved, refund.rev)
    ctx.count("RefundsApproved")
    return _send(ctx, approved, operator)


def reject_refund(ctx: ReconciliationContext, refund_id: str, operator: str, body: dict) -> Refund:
    """Reject a pending request (any operator, its requester included: withdrawing a request is harmless)."""
    note = parse(RejectIn, body).note
    refund = get_refund(ctx, refund_id)
    if refund.state != RefundState.REQUESTED:
        raise conflict("REFUND_NOT_PENDING", "Yêu cầu hoàn tiền không ở trạng thái chờ phê duyệt.",
                       state=refund.state.value)
    at = ctx.clock.now().isoformat()
    rejected = moved(refund, RefundState.REJECTED, operator, at, note, decided_by=operator, decided_at=at)
    _save_with_payment(ctx, rejected, refund.rev)
    return rejected


def send_refund(ctx: ReconciliationContext, refund_id: str, operator: str) -> Refund:
    """Send an approved refund to the bank again (same refund id)."""
    refund = get_refund(ctx, refund_id)
    if refund.state != RefundState.APPROVED or refund.needs_review:
        raise conflict("REFUND_NOT_SENDABLE", "Chỉ gửi lại được khoản hoàn tiền đã phê duyệt, chưa có kết quả và "
                       "không chờ kiểm tra thủ công.", state=refund.state.value, needs_review=refund.needs_review)
    return _send(ctx, refund, operator)


def send_due_refunds(ctx: ReconciliationContext, limit: int = 50) -> dict:
    """The schedule's part: send again the approved refunds the bank has not answered (lease passed)."""
    now, lease, sent = epoch(ctx.clock.now()), ctx.settings.stale.refund_send_lease_s, 0
    for refund in ctx.refunds.approved(limit):
        if refund.needs_review or (refund.last_attempt_at and now - refund.last_attempt_at < lease):
            continue
        try:
            _send(ctx, refund, RETRIER)
            sent += 1
        except AppError:
            continue  # someone else is sending it, or it just moved
    return {"refunds_sent": sent}


def get_refund(ctx: ReconciliationContext, refund_id: str) -> Refund:
    refund = ctx.refunds.get(refund_id) if refund_id.startswith("RFD") and len(refund_id) <= 40 else None
    if refund is None:
        raise not_found("REFUND_NOT_FOUND", "Không tìm thấy yêu cầu hoàn tiền.")
    return refund


def list_refunds(ctx: ReconciliationContext, state: str, bank_code: str | None, payment_id: str | None, limit: int,
                 cursor: str | None) -> dict:
    wanted = RefundState(state)  # the route's query model admits only the states
    try:
        items, next_cursor = ctx.refunds.list(wanted, bank_code, payment_id, limit, cursor)
    except ValueError:
        # An opaque cursor's content is beyond any schema: its own code (declared by the route).
        raise rule_error("cursor", "CURSOR_INVALID", "Con trỏ phân trang không hợp lệ.") from None
    return {"items": [view(r) for r in items], "next_cursor": next_cursor}


def view(refund: Refund) -> dict:
    return refund.model_dump(mode="json")


# --- sending ---------------------------------------------------------------------------------------------------

def _send(ctx: ReconciliationContext, refund: Refund, actor: str) -> Refund:
    now = ctx.clock.now()
    if refund.last_attempt_at and epoch(now) - refund.last_attempt_at < ctx.settings.stale.refund_send_lease_s:
        raise conflict("REFUND_SEND_IN_PROGRESS", "Khoản hoàn tiền đang được gửi tới ngân hàng; vui lòng thử lại "
                       "sau ít phút.")
    claimed = noted(refund, "SENT_TO_BANK", actor, now.isoformat(), attempts=refund.attempts + 1,
                    last_attempt_at=epoch(now))
    try:
        ctx.refunds.save(claimed, refund.rev)  # the lease: only one sender gets past this write
    except RefundConflictError:
        raise conflict("REFUND_SEND_IN_PROGRESS", "Khoản hoàn tiền vừa được gửi hoặc thay đổi; vui lòng tải "
                       "lại.") from None
    gateway = ctx.bank_gateways.gateway(refund.bank_code)
    result = gateway.refund(_order(refund))
    ctx.count(f"RefundSends_{result.kind.value}")
    if result.kind is RefundKind.DUPLICATE:
        result = _ask_whether_refunded(ctx, refund)
    return _record(ctx, claimed, result)


def _order(refund: Refund) -> RefundOrder:
    return RefundOrder(refund_id=refund.refund_id, payment_id=refund.payment_id, bank_code=refund.bank_code,
                       amount_vnd=refund.amount_vnd, full=refund.full, bank_txn_ref=refund.bank_txn_ref,
                       payment_created_at=datetime.fromisoformat(refund.payment_created_at),
                       requested_by=refund.requested_by, reason=refund.reason)


def _ask_whether_refunded(ctx: ReconciliationContext, refund: Refund) -> RefundResult:
    """The bank already has this refund id (an earlier send whose answer was lost): its status says whether it
    refunded. If it cannot tell, no automatic resend (it would be refused as a duplicate again): a person looks."""
    status = ctx.bank_gateways.gateway(refund.bank_code).query_status(StatusQuery(
        payment_id=refund.payment_id, bank_code=refund.bank_code, amount_vnd=refund.amount_vnd,
        created_at=datetime.fromisoformat(refund.payment_created_at), bank_txn_ref=refund.bank_txn_ref))
    if status.refunded:
        return RefundResult(RefundKind.REFUNDED, None, "DUPLICATE_REQUEST_ALREADY_REFUNDED")
    return RefundResult(RefundKind.DUPLICATE, None, f"DUPLICATE_REQUEST/{status.kind.value}")


def _record(ctx: ReconciliationContext, claimed: Refund, result: RefundResult) -> Refund:
    at = ctx.clock.now().isoformat()
    if result.kind is RefundKind.REFUNDED:
        done = moved(claimed, RefundState.REFUNDED, BANK, at, result.detail, refunded_at=at,
                     bank_refund_ref=result.bank_refund_ref, last_result=result.detail)
        _save_with_payment(ctx, done, claimed.rev, tally=True)
        ctx.count("RefundsDone")
        return done
    if result.kind is RefundKind.REFUSED:
        failed = moved(claimed, RefundState.FAILED, BANK, at, result.detail, last_result=result.detail)
        _save_with_payment(ctx, failed, claimed.rev, [_alert("REFUND_FAILED", "Ngân hàng từ chối hoàn tiền", failed)])
        return failed
    if result.kind is RefundKind.DUPLICATE:
        review = noted(claimed, "NEEDS_REVIEW", BANK, at, result.detail, needs_review=True, alerted=True,
                       last_result=result.detail)
        ctx.refunds.save(review, claimed.rev, intents=[_alert("REFUND_NEEDS_REVIEW", "Hoàn tiền cần kiểm tra thủ "
                                                              "công với ngân hàng", review)])
        return review
    return _no_answer(ctx, claimed, result, at)


def _no_answer(ctx: ReconciliationContext, claimed: Refund, result: RefundResult, at: str) -> Refund:
    """Still approved: sent again later with the same id. Operators hear of it once it has lasted an hour."""
    approved_at = datetime.fromisoformat(claimed.decided_at or claimed.requested_at)
    late = (ctx.clock.now() - approved_at).total_seconds() >= ctx.settings.stale.alert_after_s
    alert = late and not claimed.alerted
    waiting = noted(claimed, "BANK_NO_ANSWER", BANK, at, result.detail, last_result=result.detail,
                    alerted=claimed.alerted or alert)
    intents = [_alert("REFUND_UNANSWERED", "Ngân hàng chưa trả lời yêu cầu hoàn tiền", waiting)] if alert else []
    ctx.refunds.save(waiting, claimed.rev, intents=intents)
    return waiting


def _save_with_payment(ctx: ReconciliationContext, refund: Refund, expected_rev: int, intents=(),
                       tally: bool = False) -> None:
    """The refund and the payment's summary of it (with ``tally``: and its report figure), retried while only the
    payment moved."""
    for _ in range(_ATTEMPTS):
        payment = ctx.ledger.get_payment(refund.payment_id)
        try:
            ctx.refunds.save(refund, expected_rev, with_summary(payment, refund), payment, intents,
                             _refunded(refund, payment) if tally else ())
            return
        except RefundConflictError:
            current = ctx.refunds.get(refund.refund_id)
            if current is None or current.rev != expected_rev:
                raise conflict("REFUND_STATE_CHANGED", "Yêu cầu hoàn tiền vừa thay đổi; vui lòng tải lại.",
                               state=current.state.value if current else None) from None
    raise _busy()


def _refunded(refund: Refund, payment: Payment) -> list[tallies.Tally]:
    """The report tally of a refund done, on its day. Only money the reports counted as collected is counted as
    refunded: the payment's own bank transaction (tallied when it became PAID), not a second transaction of a
    payment already paid (never a collection), and never a test payment. A refund is never refused for the sake
    of a report figure."""
    if payment.test or refund.bank_txn_ref != payment.bank_txn_ref:
        return []
    items = [(str(i.get("sub_item_code", "")), int(i.get("amount_vnd", 0))) for i in payment.items]
    try:
        return [tallies.refunded(refund.collecting_unit, refund.bank_code, items, refund.amount_vnd,
                                 refund.refunded_at or refund.requested_at, refund.amount_vnd == payment.amount_vnd)]
    except ValueError:
        log.error("refund not tallied for reports", extra={"refund_id": refund.refund_id})
        return []


def _alert(kind: str, subject: str, refund: Refund):
    return outbox.ops_alert(kind, subject, _alert_info(refund))


def _alert_info(refund: Refund) -> dict:
    return {"refund_id": refund.refund_id, "payment_id": refund.payment_id, "bank_code": refund.bank_code,
            "bank_txn_ref": refund.bank_txn_ref, "amount_vnd": refund.amount_vnd, "state": refund.state.value,
            "last_result": refund.last_result}


def _busy() -> AppError:
    return AppError("CONCURRENT_UPDATE", "Giao dịch đang được xử lý đồng thời, vui lòng thử lại.", 409, "Xung đột")
