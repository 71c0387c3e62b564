"""In-memory fakes of the reconciliation ports: the live-payment index, refund store and bank gateways (on top of the
payment fakes of tests/fakes.py: they share the ledger's lock and items, so their conditions are checked against the
same stored payments the bank-result use case writes, all or nothing, as the DynamoDB adapters do), and the
settlement runs' store, portal day and files."""
from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterator, Mapping

from chalicelib.core.banks import settlement_day
from chalicelib.payments.domain.payments import LIVE_STATES, Payment
from chalicelib.reconciliation.domain.matching import Category, PortalPayment
from chalicelib.reconciliation.domain.refunds import Refund, RefundState
from chalicelib.reconciliation.domain.runs import Discrepancy, DiscrepancyStatus, FileRef, Resolution, Run, RunStatus
from chalicelib.reconciliation.ports import (
    BankStatus,
    BankStatusKind,
    DiscrepancyResolvedError,
    LivePayment,
    Page,
    PortalLookup,
    RefundConflictError,
    RefundKind,
    RefundOrder,
    RefundResult,
    RunConflictError,
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
             expected_payment: Payment | None = None, intents=(), tallies=()) -> None:
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
            self._ledger.tallies.extend(tallies)  # one list of what was tallied, as the one ledger table holds
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


class InMemoryRunStore:
    def __init__(self, outbox) -> None:
        self.outbox = outbox
        self._lock = threading.Lock()
        self.runs: dict[str, str] = {}
        self.files: dict[tuple[str, date, str], str] = {}
        self.currents: dict[tuple[str, date], str] = {}
        self.discrepancies: dict[str, dict[str, str]] = {}
        self.audits: list[dict] = []
        self.alerts: set[tuple[str, str, date]] = set()

    def find_by_file(self, bank_code, day, sha256):
        run_id = self.files.get((bank_code, day, sha256))
        return self.get(run_id) if run_id else None

    def create(self, run: Run, replace_file_claim=False, intents=()):
        with self._lock:
            key = (run.bank_code, run.settlement_date, run.sha256)
            if (key in self.files and not replace_file_claim) or run.run_id in self.runs:
                raise RunConflictError(run.run_id)
            self.files[key] = run.run_id
            self.runs[run.run_id] = run.model_dump_json()
        self.outbox.accept(intents)

    def take_over(self, run, now_epoch, lease_until):
        with self._lock:
            stored = Run.model_validate_json(self.runs[run.run_id])
            free = stored.status is RunStatus.FAILED or (stored.status is RunStatus.RUNNING
                                                          and stored.lease_until < now_epoch)
            if stored.attempt != run.attempt or not free:
                return None
            taken = stored.model_copy(update={"status": RunStatus.RUNNING, "attempt": stored.attempt + 1,
                                              "lease_until": lease_until, "error": None})
            self.runs[run.run_id] = taken.model_dump_json()
            return taken

    def fail(self, run):
        with self._lock:
            stored = Run.model_validate_json(self.runs[run.run_id])
            if stored.attempt == run.attempt and stored.status is RunStatus.RUNNING:
                self.runs[run.run_id] = run.model_dump_json()

    def put_discrepancies(self, items):
        with self._lock:
            for d in items:
                self.discrepancies.setdefault(d.run_id, {})[d.key] = d.model_dump_json()

    def clear_discrepancies(self, run_id):
        with self._lock:
            self.discrepancies.pop(run_id, None)

    def complete(self, run, intents=()):
        with self._lock:
            stored = Run.model_validate_json(self.runs[run.run_id])
            day = (run.bank_code, run.settlement_date)
            if stored.attempt != run.attempt or stored.status is not RunStatus.RUNNING:
                raise RunConflictError(run.run_id)
            if self.currents.get(day) != run.supersedes:
                raise RunConflictError(run.run_id)
            self.runs[run.run_id] = run.model_copy(update={"lease_until": 0}).model_dump_json()
            self.currents[day] = run.run_id
            if run.supersedes:
                old = Run.model_validate_json(self.runs[run.supersedes])
                self.runs[old.run_id] = old.model_copy(update={"superseded_by": run.run_id}).model_dump_json()
        self.outbox.accept(intents)
        return run

    def get(self, run_id):
        raw = self.runs.get(run_id)
        return Run.model_validate_json(raw) if raw else None

    def current(self, bank_code, day):
        run_id = self.currents.get((bank_code, day))
        return self.get(run_id) if run_id else None

    def files_seen(self, bank_code, day):
        return sum(1 for (bank, d, _) in self.files if bank == bank_code and d == day)

    def pending_of(self, run_id):
        out = {}
        for d in self.all_discrepancies(run_id):
            if d.category is Category.PENDING_NEXT_DAY:
                out[d.payment_id] = PortalPayment(d.payment_id, d.portal_state or "PAID", d.portal_amount_vnd or 0,
                                                  d.bank_txn_ref, d.paid_at)
        return out

    def all_discrepancies(self, run_id) -> list[Discrepancy]:
        return [Discrepancy.model_validate_json(raw)
                for _, raw in sorted(self.discrepancies.get(run_id, {}).items())]

    def list_runs(self, filters: Mapping[str, Any], limit, cursor):
        runs = sorted((Run.model_validate_json(r) for r in self.runs.values()),
                      key=lambda r: (r.settlement_date, r.bank_code, r.run_id), reverse=True)
        keep = [r for r in runs if (not filters.get("bank_code") or r.bank_code == filters["bank_code"])
                and (not filters.get("status") or r.status.value == filters["status"])
                and (not filters.get("date_from") or r.settlement_date >= filters["date_from"])
                and (not filters.get("date_to") or r.settlement_date <= filters["date_to"])]
        return _page(keep, limit, cursor)

    def list_discrepancies(self, run_id, filters, limit, cursor):
        keep = [d for d in self.all_discrepancies(run_id)
                if (not filters.get("category") or d.category.value == filters["category"])
                and (not filters.get("status") or d.status.value == filters["status"])]
        return _page(keep, limit, cursor)

    def resolve(self, run_id, key, by, at, note):
        with self._lock:
            raw = self.discrepancies.get(run_id, {}).get(key)
            if raw is None:
                raise KeyError(key)
            found = Discrepancy.model_validate_json(raw)
            if found.status is DiscrepancyStatus.RESOLVED:
                raise DiscrepancyResolvedError(found)
            done = found.model_copy(update={"status": DiscrepancyStatus.RESOLVED,
                                            "resolution": Resolution(by=by, at=at, note=note)})
            self.discrepancies[run_id][key] = done.model_dump_json()
            self.audits.append({"run_id": run_id, "key": key, "by": by, "at": at.isoformat(), "note": note})
            return done

    def first_alert(self, kind, bank_code, day, intents):
        with self._lock:
            if (kind, bank_code, day) in self.alerts:
                return False
            self.alerts.add((kind, bank_code, day))
        self.outbox.accept(intents)
        return True


def _page(items: list, limit: int, cursor: str | None) -> Page:
    start = int(base64.b64decode(cursor)) if cursor else 0
    end = start + limit
    return Page(items[start:end], base64.b64encode(str(end).encode()).decode() if end < len(items) else None)


class LedgerPortalDay:
    """The day index computed from the fake ledger's payments (PAID, not test, by the bank's settlement day)."""

    def __init__(self, ledger) -> None:
        self._ledger = ledger
        self.index_reads = 0
        self.lookups = 0

    def paid_on(self, bank_code: str, day: date) -> dict[str, PortalPayment]:
        self.index_reads += 1
        return {p.payment_id: _portal(p) for p in self._ledger.payments
                if p.bank_code == bank_code and p.state.value == "PAID" and not p.test and p.paid_at
                and settlement_day(p.bank_code, p.paid_at) == day}

    def lookup(self, payment_id: str) -> PortalLookup | None:
        self.lookups += 1
        p = self._ledger.get_payment(payment_id)
        return PortalLookup(_portal(p), p.bank_code) if p is not None else None


def _portal(p) -> PortalPayment:
    return PortalPayment(p.payment_id, p.state.value, p.amount_vnd, p.bank_txn_ref,
                         datetime.fromisoformat(p.paid_at) if p.paid_at else None, p.test)


class MemoryFiles:
    """Settlement files by key, every version kept (as the versioned bucket does)."""

    def __init__(self) -> None:
        self.versions: dict[str, list[bytes]] = {}

    def put(self, key: str, content: bytes) -> FileRef:
        self.versions.setdefault(key, []).append(content)
        return FileRef(key=key, version_id=str(len(self.versions[key])))

    def chunks(self, ref: FileRef) -> Iterator[bytes]:
        versions = self.versions.get(ref.key)
        if not versions:
            raise FileNotFoundError(ref.key)
        content = versions[int(ref.version_id) - 1] if ref.version_id else versions[-1]
        return iter([content[i:i + 1000] for i in range(0, len(content), 1000)] or [b""])

    def latest(self, key: str) -> FileRef | None:
        return FileRef(key=key, version_id=str(len(self.versions[key]))) if self.versions.get(key) else None

    def size(self, ref: FileRef) -> int:
        return len(b"".join(self.chunks(ref)))


def as_json(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))
