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
from typing import Any, Callable, Iterable, Protocol, Sequence

from chalicelib.core.clock import Clock
from chalicelib.outbox.domain import Intent
from chalicelib.payments.domain.payments import Payment
from chalicelib.payments.ports import Ledger
from chalicelib.reconciliation.domain.refunds import Refund, RefundState

__all__ = ["BankGateway", "BankGateways", "BankStatus", "BankStatusKind", "LivePayment", "LivePayments",
           "ReconciliationContext", "RefundConflictError", "RefundKind", "RefundOrder", "RefundResult", "RefundStore",
           "StalePolicy", "StatusQuery"]


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
    refunded: bool = False  # the bank reports the transaction (fully or partly) refunded (VNPay-style type 02/03)

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


class BankGateways(Protocol):
    """The status/refund client of each bank, built once per container. ``quick``: the return page's client, with
    a short timeout (a silent bank must not make the citizen's page slow)."""

    def gateway(self, bank_code: str, quick: bool = False) -> BankGateway: ...


@dataclass(frozen=True)
class StalePolicy:
    """A section of the one Settings (``settings.stale``); tests build their own."""

    query_interval_s: int = 30  # at most one status query per payment in this long (return page and job alike)
    quick_timeout_s: float = 1.0  # the return page's status query: read timeout (connect: a third of it)
    bank_timeout_s: float = 10.0  # the schedule's and the refunds' calls to a bank: read timeout (connect: a third)
    batch_max: int = 500  # payments one run looks at (the rest waits for the next run, oldest first)
    run_budget_s: float = 90.0  # a run starts no new status query after this (Lambda timeout 120 s, every 300 s)
    silent_bank_after: int = 3  # a bank that answered none of this many queries in a row is left for the next run
    workers: int = 4  # status queries in flight at once
    alert_after_s: int = 3600  # a payment unresolved this long after its expiry alerts the operators, once
    refund_send_lease_s: int = 60  # one sender per refund for this long (longer than a refund call can take)


@dataclass(frozen=True)
class LivePayment:
    """A payment the index holds as still waiting for the bank, with the index's bookkeeping."""

    payment: Payment
    alerted: bool  # operators were already told it is unresolved


class LivePayments(Protocol):
    """The sparse index of live payments by due time (gsi2) and its conditional bookkeeping on the payment item.
    Every write is conditional on the payment still being live at the rev read, so it can never re-index a payment
    that has just been paid, and two runs at once cannot both act on one payment."""

    def due(self, now_epoch: int, limit: int) -> Iterable[LivePayment]:
        """Live payments whose due time (their expiry, or the time a previous check moved it to) has come, oldest
        first per index partition, at most ``limit``; read page by page as the caller goes."""

    def claim(self, payment: Payment, now_epoch: int, interval_s: int) -> bool:
        """Take the right to query the bank now: only if no query was claimed for ``interval_s`` (the item's "next
        query after" has passed) and the payment is still live at the rev read; the next one waits ``interval_s``,
        and the payment is due again then (never before its expiry), behind those not asked yet. True if this
        caller may query the bank."""

    def unresolved(self, payment: Payment, next_due_epoch: int, alert: Intent | None = None) -> bool:
        """Due again (in the index) and queryable again at ``next_due_epoch``; with ``alert``, also mark it alerted
        and write the alert intent in the same transaction, unless it was alerted already. False if it moved."""


class RefundConflictError(Exception):
    """The refund or its payment changed between read and write: re-read and decide again."""


class RefundStore(Protocol):
    def save(self, refund: Refund, expected_rev: int | None, payment: Payment | None = None,
             expected_payment: Payment | None = None, intents: Sequence[Intent] = ()) -> None:
        """One transaction: the refund (new when ``expected_rev`` is None, else only if its rev is still that), the
        payment with the refund's summary when given (only if the stored payment is still ``expected_payment``) and
        the intents. RefundConflictError when a condition fails; nothing is written then."""

    def get(self, refund_id: str) -> Refund | None: ...

    def list(self, state: RefundState, bank_code: str | None, payment_id: str | None, limit: int,
             cursor: str | None) -> tuple[list[Refund], str | None]:
        """Refunds in ``state``, newest request first, optionally of one bank or one payment; an opaque cursor for
        the next page (ValueError for a cursor that is not one)."""

    def approved(self, limit: int) -> list[Refund]:
        """Approved refunds, oldest request first (those a retry may have to send again)."""


class ReconciliationContext(Protocol):
    """The part of the service context the stale-payment and refund use cases read (plus what the bank-result use
    case of payments reads: they hand the bank's "paid" to it)."""

    settings: Any
    clock: Clock
    ledger: Ledger
    live_payments: LivePayments
    bank_gateways: BankGateways
    refunds: RefundStore
    new_id: Callable[[], str]
    caches: dict

    def count(self, name: str, value: int = 1) -> None: ...
