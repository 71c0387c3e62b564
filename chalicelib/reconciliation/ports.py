"""What the reconciliation use cases need from a bank, whatever its protocol: a payment's status and a refund.

Both bank clients (the VNPay-style gateway's ``querydr``/``refund``, the Standard Webhooks banks'
``GET /transactions/{id}``/``POST /refunds``) answer these types, so a use case never branches on the protocol.
A client never raises for a bank that did not answer, answered unsigned, or answered nonsense: that is
``NO_ANSWER`` (try again later, alert if it lasts), because "the bank said no" and "we could not hear the bank"
must never be confused where money is concerned.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol

__all__ = ["BankGateway", "BankStatus", "BankStatusKind", "RefundKind", "RefundOrder", "RefundResult",
           "StatusQuery"]


class BankStatusKind(str, Enum):
    PAID = "PAID"  # the bank took the money: bank_txn_ref, amount_vnd and paid_at are set
    FAILED = "FAILED"  # the bank says the payment failed or was cancelled: no money moved
    PENDING = "PENDING"  # the bank knows the payment, not finished (or a state we do not act on; see detail)
    NOT_FOUND = "NOT_FOUND"  # the bank (verifiably) has no such payment
    NO_ANSWER = "NO_ANSWER"  # timeout, refused connection, non-2xx, bad signature, malformed or mismatched answer


@dataclass(frozen=True)
class StatusQuery:
    """The payment whose status we ask. ``created_at`` is the payment's creation time (the VNPay-style gateway
    looks a transaction up by reference *and* that date)."""

    payment_id: str
    bank_code: str
    amount_vnd: int
    created_at: datetime
    bank_txn_ref: str | None = None


@dataclass(frozen=True)
class BankStatus:
    kind: BankStatusKind
    bank_txn_ref: str | None = None
    amount_vnd: int | None = None
    paid_at: datetime | None = None
    detail: str = ""  # for logs and operators (the bank's code), never shown to citizens

    @classmethod
    def no_answer(cls, detail: str) -> BankStatus:
        return cls(BankStatusKind.NO_ANSWER, detail=detail)


class RefundKind(str, Enum):
    REFUNDED = "REFUNDED"  # the bank accepted and recorded the refund
    REFUSED = "REFUSED"  # the bank verifiably refused it (amount too high, unknown transaction...): see detail
    DUPLICATE = "DUPLICATE"  # the bank already has a request with this id: ask it, do not send a new one
    NO_ANSWER = "NO_ANSWER"  # we do not know whether it happened: retry with the SAME refund_id


@dataclass(frozen=True)
class RefundOrder:
    """An approved refund. ``refund_id`` is stable across retries: it is the bank's idempotency key."""

    refund_id: str
    payment_id: str
    bank_code: str
    amount_vnd: int
    full: bool
    bank_txn_ref: str | None
    payment_created_at: datetime
    requested_by: str  # the operator who started it (the gateway records who asked)
    reason: str = ""


@dataclass(frozen=True)
class RefundResult:
    kind: RefundKind
    bank_refund_ref: str | None = None
    detail: str = ""


class BankGateway(Protocol):
    """One bank's status and refund API (an HTTP client per bank, built once per container)."""

    def query_status(self, query: StatusQuery) -> BankStatus: ...

    def refund(self, order: RefundOrder) -> RefundResult: ...
