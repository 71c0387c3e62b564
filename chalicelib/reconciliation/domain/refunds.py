"""Refunds of money the bank took twice (RECONCILIATION.md "Refunds"): states, the four-eyes rule, the amount rule.

REFUND_REQUESTED -> REFUND_APPROVED -> REFUNDED | REFUND_FAILED, and REFUND_REQUESTED -> REFUND_REJECTED. One operator
requests, a different one approves; every step is appended to the refund's audit trail (who, when, what, a note).
A refund is against one bank transaction of a payment, and the refunds of that transaction that are not over in
failure or rejection never add up to more than the bank took for it. The payment carries a summary of its refunds
(``Payment.refunds``) so that the citizen's history shows them and so that the amount rule is checked against the
same item a refund's transaction writes (conditional on its rev): two concurrent requests cannot both pass.
"""
from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.payments.domain.payments import Payment, PaymentState


class RefundState(str, Enum):
    REQUESTED = "REFUND_REQUESTED"
    APPROVED = "REFUND_APPROVED"
    REFUNDED = "REFUNDED"
    FAILED = "REFUND_FAILED"
    REJECTED = "REFUND_REJECTED"


R = RefundState
TRANSITIONS: dict[RefundState, frozenset[RefundState]] = {
    R.REQUESTED: frozenset({R.APPROVED, R.REJECTED}),
    R.APPROVED: frozenset({R.REFUNDED, R.FAILED}),
    R.REFUNDED: frozenset(),
    R.FAILED: frozenset(),
    R.REJECTED: frozenset(),
}
# Refunds that hold part of what the bank took: pending, under way or done. A failed or rejected one frees it.
HOLDING = frozenset({R.REQUESTED, R.APPROVED, R.REFUNDED})
REFUND_ID_PREFIX = "RFD"  # + a ULID: 29 characters, within the VNPay-style gateway's 32 for vnp_RequestId


class IllegalRefundTransitionError(Exception):
    def __init__(self, current: RefundState, target: RefundState) -> None:
        super().__init__(f"{current.value} -> {target.value} is not a legal transition")
        self.current, self.target = current, target


class Refund(BaseModel):
    """One refund of (part of) one bank transaction of a payment. ``refund_id`` is the bank's idempotency key."""

    model_config = ConfigDict(extra="ignore")

    refund_id: str
    payment_id: str
    bank_code: str
    bank_txn_ref: str
    amount_vnd: int
    full: bool  # the whole transaction (VNPay-style type 02) or a part of it (03)
    reason: str
    state: RefundState
    collecting_unit: str
    payment_created_at: str  # the gateway looks the transaction up by it
    requested_by: str
    requested_at: str
    decided_by: str | None = None  # who approved or rejected
    decided_at: str | None = None
    refunded_at: str | None = None
    bank_refund_ref: str | None = None
    attempts: int = 0  # sends to the bank (all with the same refund_id)
    last_attempt_at: int | None = None  # epoch seconds: also the send lease (one sender at a time)
    last_result: str | None = None  # the bank's code or why there was no answer (for operators)
    needs_review: bool = False  # the bank's answer cannot settle it: an operator must look (no automatic resend)
    alerted: bool = False
    audit: list[dict[str, Any]] = Field(default_factory=list)
    rev: int = 0


def new_refund_id(ulid: str) -> str:
    return f"{REFUND_ID_PREFIX}{ulid}"


def refundable_refs(payment: Payment) -> list[str]:
    """The bank transactions of ``payment`` that may be refunded: every transaction that took the money a second
    time, and the payment's own one when no receipt covers it (it was paid after another payment of its notice)."""
    if payment.state != PaymentState.PAID or not payment.refund_required:
        return []
    refs = list(payment.extra_bank_txn_refs)
    if payment.receipt_id is None and payment.bank_txn_ref:
        refs.insert(0, payment.bank_txn_ref)
    return refs


def held_vnd(payment: Payment, bank_txn_ref: str, except_refund: str | None = None) -> int:
    """What the refunds of this transaction already hold (pending, under way or done)."""
    return sum(int(r["amount_vnd"]) for r in payment.refunds
               if r.get("bank_txn_ref") == bank_txn_ref and r.get("refund_id") != except_refund
               and r.get("state") in {s.value for s in HOLDING})


def refundable_vnd(payment: Payment, bank_txn_ref: str) -> int:
    """What may still be refunded of this transaction: what the bank took for it (the payment's amount: a bank
    result with any other amount is refused) less what its refunds hold."""
    if bank_txn_ref not in refundable_refs(payment):
        return 0
    return max(0, payment.amount_vnd - held_vnd(payment, bank_txn_ref))


def moved(refund: Refund, target: RefundState, actor: str, at: str, note: str = "", **changes: Any) -> Refund:
    """``refund`` in state ``target``, the step appended to its audit trail."""
    if target not in TRANSITIONS[refund.state]:
        raise IllegalRefundTransitionError(refund.state, target)
    return noted(refund.model_copy(update={"state": target, **changes}), target.value, actor, at, note)


def noted(refund: Refund, action: str, actor: str, at: str, note: str = "", **changes: Any) -> Refund:
    """``refund`` with one more audit entry (and ``changes``), its rev moved on."""
    entry = {"action": action, "by": actor, "at": at}
    if note:
        entry["note"] = note
    return refund.model_copy(update={"audit": [*refund.audit, entry], "rev": refund.rev + 1, **changes})


def summary(refund: Refund) -> dict[str, Any]:
    """What the payment keeps of a refund (and the citizen sees): no operator names, no internal notes."""
    out: dict[str, Any] = {"refund_id": refund.refund_id, "bank_txn_ref": refund.bank_txn_ref,
                           "amount_vnd": refund.amount_vnd, "state": refund.state.value,
                           "requested_at": refund.requested_at}
    if refund.refunded_at:
        out["refunded_at"] = refund.refunded_at
    return out


def with_summary(payment: Payment, refund: Refund) -> Payment:
    """``payment`` with ``refund``'s summary in place (added the first time), its rev moved on."""
    entries = [e for e in payment.refunds if e.get("refund_id") != refund.refund_id]
    entries.append(summary(refund))
    entries.sort(key=lambda e: (e["requested_at"], e["refund_id"]))
    return payment.model_copy(update={"refunds": entries, "rev": payment.rev + 1})
