"""In-memory fakes of the reconciliation ports (live-payment index, refund store, bank gateways), on top of the
payment fakes of tests/fakes.py: they share the ledger's lock and items, so their conditions are checked against the
same stored payments the bank-result use case writes, all or nothing, as the DynamoDB adapters do."""
from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from chalicelib.payments.domain.payments import LIVE_STATES, Payment
from chalicelib.reconciliation.domain.refunds import Refund, RefundState
from chalicelib.reconciliation.ports import (
    BankStatus,
    BankStatusKind,
    LivePayment,
    RefundConflictError,
    RefundKind,
    RefundOrder,
    RefundResult,
    StalePolicy,
    StatusQuery,
)
from tests.fakes import InMemoryLedger, make_services


class InMemoryLivePayments:
    """LivePayments over the ledger fake: a payment is indexed while its stored state is live; due at its expiry
    unless an unanswered check moved it."""

    def __init__(self, ledger: InMemoryLedger) -> None:
        self._ledger = ledger
        self._due: dict[str, int] = {}
        self._query_after: dict[str, int] = {}
        self._alerted: set[str] = set()
        self.claims = 0
        self.refused_claims = 0

    def _stored_locked(self, payment_id: str) -> Payment | None:
        raw = self._ledger._payments.get(payment_id)
        return Payment.model_validate_json(raw) if raw is not None else None

    def _live_locked(self, payment: Payment) -> bool:
        stored = self._stored_locked(payment.payment_id)
        return stored is not None and stored.rev == payment.rev and stored.state in LIVE_STATES

    def due(self, now_epoch: int, limit: int):
        with self._ledger._lock:
            live = [Payment.model_validate_json(raw) for raw in self._ledger._payments.values()]
            live = [p for p in live if p.state in LIVE_STATES]
            keyed = sorted((self._due.get(p.payment_id, p.expires_at), p.payment_id, p) for p in live)
            due = [LivePayment(p, p.payment_id in self._alerted) for when, _, p in keyed if when <= now_epoch]
        return due[:limit]

    def claim(self, payment: Payment, now_epoch: int, interval_s: int) -> bool:
        with self._ledger._lock:
            if not self._live_locked(payment) or self._query_after.get(payment.payment_id, 0) > now_epoch:
                self.refused_claims += 1
                return False
            self._query_after[payment.payment_id] = now_epoch + interval_s
            self._due[payment.payment_id] = max(payment.expires_at, now_epoch + interval_s)
            self.claims += 1
            return True

    def unresolved(self, payment: Payment, next_due_epoch: int, alert=None) -> bool:
        with self._ledger._lock:
            if not self._live_locked(payment):
                return False
            self._due[payment.payment_id] = next_due_epoch
            self._query_after[payment.payment_id] = next_due_epoch
            send = alert is not None and payment.payment_id not in self._alerted
            if send:
                self._alerted.add(payment.payment_id)
        if send:
            self._ledger.outbox.accept([alert])
        return True

    def due_at(self, payment_id: str) -> int | None:
        return self._due.get(payment_id)


class InMemoryRefunds:
    """RefundStore over the ledger fake: the refund and the payment's summary in one all-or-nothing step."""

    def __init__(self, ledger: InMemoryLedger) -> None:
        self._ledger = ledger
        self._items: dict[str, str] = {}
        self.saves = 0

    def save(self, refund: Refund, expected_rev: int | None, payment: Payment | None = None,
             expected_payment: Payment | None = None, intents=()) -> None:
        with self._ledger._lock:
            current = self._items.get(refund.refund_id)
            ok = current is None if expected_rev is None else (
                current is not None and Refund.model_validate_json(current).rev == expected_rev)
            if payment is not None and expected_payment is not None:
                ok = ok and self._ledger._payment_unchanged(expected_payment)
            if not ok:
                raise RefundConflictError(refund.refund_id)
            self._items[refund.refund_id] = refund.model_dump_json()
            if payment is not None:
                self._ledger._payments[payment.payment_id] = payment.model_dump_json()
            self.saves += 1
        if intents:
            self._ledger.outbox.accept(intents)

    def get(self, refund_id: str) -> Refund | None:
        with self._ledger._lock:
            raw = self._items.get(refund_id)
        return Refund.model_validate_json(raw) if raw is not None else None

    def list(self, state: RefundState, bank_code, payment_id, limit: int, cursor):
        if cursor not in (None, "") and not cursor.isdigit():
            raise ValueError("cursor")
        start = int(cursor or 0)
        with self._ledger._lock:
            refunds = [Refund.model_validate_json(r) for r in self._items.values()]
        chosen = sorted((r for r in refunds if r.state == state and bank_code in (None, r.bank_code)
                         and payment_id in (None, r.payment_id)), key=lambda r: r.requested_at, reverse=True)
        page = chosen[start:start + limit]
        return page, (str(start + limit) if start + limit < len(chosen) else None)

    def approved(self, limit: int):
        with self._ledger._lock:
            refunds = [Refund.model_validate_json(r) for r in self._items.values()]
        return sorted((r for r in refunds if r.state == RefundState.APPROVED), key=lambda r: r.requested_at)[:limit]


@dataclass
class FakeBank:
    """One bank's status and refund API. ``status`` answers every query (a BankStatus, or a function of the
    query); ``refund_results`` is the list of answers to give in turn (the last one repeats), and ``books``
    records which refund ids the bank actually booked (a timed-out send may have booked one)."""

    status: BankStatus | Callable[[StatusQuery], BankStatus] = field(
        default_factory=lambda: BankStatus(BankStatusKind.NOT_FOUND))
    refund_results: list[RefundResult] = field(default_factory=lambda: [RefundResult(RefundKind.REFUNDED, "RF1")])
    queries: list[StatusQuery] = field(default_factory=list)
    orders: list[RefundOrder] = field(default_factory=list)
    booked: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def query_status(self, query: StatusQuery) -> BankStatus:
        with self.lock:
            self.queries.append(query)
        status = self.status(query) if callable(self.status) else self.status
        return status

    def refund(self, order: RefundOrder) -> RefundResult:
        with self.lock:
            self.orders.append(order)
            result = self.refund_results.pop(0) if len(self.refund_results) > 1 else self.refund_results[0]
            if result.kind is RefundKind.REFUNDED or result.detail == "BOOKED_BUT_LOST":
                self.booked[order.refund_id] += 1
        return result


class FakeGateways:
    def __init__(self, **banks: FakeBank) -> None:
        self.banks = banks
        self.asked: list[tuple[str, bool]] = []

    def gateway(self, bank_code: str, quick: bool = False) -> FakeBank:
        self.asked.append((bank_code, quick))
        return self.banks.setdefault(bank_code, FakeBank())


def make_reconciliation(policy: StalePolicy | None = None, **overrides: Any):
    """make_services plus the reconciliation fakes (and the return page's refresh wired to the real use case)."""
    from functools import partial

    from chalicelib.config import Settings
    from chalicelib.reconciliation.services.stale import refresh_on_return

    settings = overrides.pop("settings", None) or Settings(return_url_hosts=("dichvucong.gov.vn",),
                                                          stale=policy or StalePolicy(workers=1))
    ctx = make_services(settings=settings, **overrides)
    ctx.live_payments = InMemoryLivePayments(ctx.ledger)
    ctx.refunds = InMemoryRefunds(ctx.ledger)
    if "bank_gateways" not in overrides:
        ctx.bank_gateways = FakeGateways()
    ctx.status_refresh = partial(refresh_on_return, ctx)
    return ctx
