"""Stale payments (M14 §1): ask the bank before giving up on a payment that is still waiting for it.

Two ways in, one rule for each answer:
- the schedule (``resolve_stale_payments``, every 5 minutes) takes the live payments whose due time has come (their
  expiry, then wherever an earlier unanswered check moved them) from the sparse index, oldest first, bounded;
- the citizen's return page (``refresh_on_return``, from ``GET /v1/payments/{id}``), with a short timeout.
Either claims the payment first (an atomic "last queried at", at most one query per payment per interval, also with
two runs at once), then asks the bank:

- PAID: the bank-result use case, as for a callback (origin ``status_query``): one receipt, and a late callback
  afterwards is a duplicate;
- FAILED or NOT_FOUND after the payment's expiry: EXPIRED, and the notice is released (payable again); FAILED before
  its expiry: the bank's failure, as a callback would report it; NOT_FOUND before expiry: the citizen may still pay;
- no answer (or PENDING) after expiry: back in the index for the next run; one alert to the operators (an outbox
  intent, written with the "alerted" mark) once it has been unresolved for ``alert_after_s`` past its expiry.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import datetime

from chalicelib.core.clock import VN_TZ, epoch
from chalicelib.core.errors import AppError
from chalicelib.outbox import domain as outbox
from chalicelib.payments.domain.payments import LIVE_STATES, Payment, PaymentState, check_transition
from chalicelib.payments.ports import ConcurrentUpdateError
from chalicelib.payments.services.bank_results import BankResult, apply_bank_result
from chalicelib.reconciliation.ports import BankStatus, BankStatusKind, LivePayment, ReconciliationContext, StatusQuery

log = logging.getLogger(__name__)
ORIGIN = "status_query"
REFUSED_RECHECK_S = 24 * 3600  # a "paid" the bank-result use case refused (amount...) is an anomaly: ask daily
CLAIM_CACHE_MAX = 10_000  # payments this container claimed recently (skips a doomed conditional write per poll)


def resolve_stale_payments(ctx: ReconciliationContext) -> dict:
    """One scheduled run: resolve what is due, at most ``batch_max`` payments and ``run_budget_s`` seconds. A bank
    that answered none of ``silent_bank_after`` queries in a row is left alone for the rest of the run, so that one
    silent bank does not spend the run's time that the other banks' payments need."""
    policy = ctx.settings.stale
    started = time.monotonic()
    due = ctx.live_payments.due(epoch(ctx.clock.now()), policy.batch_max)
    silence, units = _Silence(policy.silent_bank_after), _UnitLocks()

    def one(live: LivePayment) -> str:
        if time.monotonic() - started > policy.run_budget_s:
            return "deferred"  # still due: the next run takes it first
        if silence.is_silent(live.payment.bank_code):
            return "deferred_bank_silent"
        try:
            outcome = _resolve(ctx, live, units)
        except Exception:  # logged: one payment's failure must not stop the run; it stays due
            log.exception("stale payment not resolved", extra={"payment_id": live.payment.payment_id})
            return "error"
        silence.heard(live.payment.bank_code, outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, policy.workers)) as pool:
        outcomes = Counter(pool.map(one, due))
    for name, value in outcomes.items():
        ctx.count(f"StalePayments_{name}", value)
    return {"looked_at": sum(outcomes.values()), **dict(sorted(outcomes.items()))}


class _UnitLocks:
    """The banks are asked in parallel, but the receipts of one collecting unit are issued one at a time within a
    run: they all move the unit's gap-free counter, and parallel workers would only make each other retry."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def of(self, unit: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(unit, threading.Lock())


class _Silence:
    """Consecutive unanswered queries per bank within one run (thread-safe: the run's workers share it)."""

    def __init__(self, after: int) -> None:
        self._after, self._misses, self._lock = max(1, after), Counter(), threading.Lock()

    def is_silent(self, bank_code: str) -> bool:
        with self._lock:
            return self._misses[bank_code] >= self._after

    def heard(self, bank_code: str, outcome: str) -> None:
        with self._lock:
            if outcome == "no_answer":
                self._misses[bank_code] += 1
            elif outcome != "skipped":
                self._misses[bank_code] = 0


def refresh_on_return(ctx: ReconciliationContext, payment: Payment) -> Payment | None:
    """The return page's status query (``payments.ports.StatusRefresh``): the payment as it is now if the bank's
    answer changed it, else None. Asked at most once per interval per payment, with the quick client."""
    if payment.state != PaymentState.PENDING_BANK:
        return None
    now = epoch(ctx.clock.now())
    if _claimed_here_recently(ctx, payment.payment_id, now):
        return None
    if not ctx.live_payments.claim(payment, now, ctx.settings.stale.query_interval_s):
        return None
    status = ctx.bank_gateways.gateway(payment.bank_code, quick=True).query_status(_query_of(payment))
    outcome = _settle(ctx, payment, status, now)
    if outcome == "refused":
        ctx.live_payments.unresolved(payment, now + REFUSED_RECHECK_S)  # not one anomaly per poll
    if outcome in ("paid", "failed", "expired"):
        return ctx.ledger.get_payment(payment.payment_id)
    return None


def _resolve(ctx: ReconciliationContext, live: LivePayment, units: _UnitLocks) -> str:
    payment, now = live.payment, epoch(ctx.clock.now())
    if payment.state not in LIVE_STATES:
        return "skipped"
    if not ctx.live_payments.claim(payment, now, ctx.settings.stale.query_interval_s):
        return "skipped"  # another run, or the return page, asked a moment ago; or the payment just moved
    status = ctx.bank_gateways.gateway(payment.bank_code).query_status(_query_of(payment))
    with units.of(payment.collecting_unit) if status.kind is BankStatusKind.PAID else nullcontext():
        outcome = _settle(ctx, payment, status, now)
    if outcome == "unresolved":
        _keep_waiting(ctx, live, now, status)
        return "no_answer" if status.kind is BankStatusKind.NO_ANSWER else "still_pending"
    if outcome == "refused":
        ctx.live_payments.unresolved(payment, now + REFUSED_RECHECK_S)
    return outcome


def _settle(ctx: ReconciliationContext, payment: Payment, status: BankStatus, now: int) -> str:
    """Act on the bank's answer: "paid", "failed", "expired", "refused", "pending" (before expiry: nothing to do)
    or "unresolved" (after expiry, no usable answer)."""
    expired = now >= payment.expires_at
    kind = status.kind
    if kind is BankStatusKind.PAID:
        return _apply(ctx, payment, status, success=True)
    if kind in (BankStatusKind.FAILED, BankStatusKind.NOT_FOUND) and expired:
        return _expire(ctx, payment, status)
    if kind is BankStatusKind.FAILED:
        return _apply(ctx, payment, status, success=False)
    return "unresolved" if expired else "pending"


def _apply(ctx: ReconciliationContext, payment: Payment, status: BankStatus, success: bool) -> str:
    result = BankResult(
        bank_code=payment.bank_code, payment_id=payment.payment_id, bank_txn_ref=status.bank_txn_ref or "",
        amount_vnd=status.amount_vnd if status.amount_vnd is not None else payment.amount_vnd, currency="VND",
        success=success, paid_at=status.paid_at.isoformat() if status.paid_at else None, origin=ORIGIN)
    try:
        apply_bank_result(ctx, result)
    except AppError as error:
        # Recorded and alerted by the use case (amount mismatch...); a final payment means someone got there first.
        return "settled_elsewhere" if error.code == "PAYMENT_ALREADY_FINAL" else "refused"
    return "paid" if success else "failed"


def _expire(ctx: ReconciliationContext, payment: Payment, status: BankStatus) -> str:
    """EXPIRED, releasing the notice, after the bank said it has no successful payment for it."""
    for _ in range(3):
        now = ctx.clock.now()
        check_transition(payment.state, PaymentState.EXPIRED)
        expired = payment.model_copy(update={
            "state": PaymentState.EXPIRED, "rev": payment.rev + 1, "failure_reason": f"BANK_{status.kind.value}",
            "history": [*payment.history, {"state": "EXPIRED", "at": now.isoformat(), "origin": ORIGIN,
                                           "bank_status": status.kind.value}]})
        try:
            ctx.ledger.record_failed(expired, payment)
        except ConcurrentUpdateError:
            current = ctx.ledger.get_payment(payment.payment_id)
            if current is None or current.state not in LIVE_STATES:
                return "settled_elsewhere"  # a callback (or the other run) got there first
            payment = current
            continue
        ctx.count("PaymentsExpired")
        return "expired"
    return "settled_elsewhere"


def _keep_waiting(ctx: ReconciliationContext, live: LivePayment, now: int, status: BankStatus) -> None:
    """The claim already made it due again at the next run (behind the payments nobody has looked at yet): only
    the one alert, once past the threshold, needs a write."""
    payment, policy = live.payment, ctx.settings.stale
    if live.alerted or now - payment.expires_at < policy.alert_after_s:
        return
    alert = outbox.ops_alert("STALE_PAYMENT_UNRESOLVED", "Giao dịch quá hạn chưa xác định được kết quả từ ngân hàng",
                             {"payment_id": payment.payment_id, "bank_code": payment.bank_code,
                              "amount_vnd": payment.amount_vnd, "expired_at": _iso(payment.expires_at),
                              "bank_answer": status.kind.value, "detail": status.detail})
    ctx.live_payments.unresolved(payment, now + policy.query_interval_s, alert)


def _query_of(payment: Payment) -> StatusQuery:
    return StatusQuery(payment_id=payment.payment_id, bank_code=payment.bank_code, amount_vnd=payment.amount_vnd,
                       created_at=datetime.fromisoformat(payment.created_at), bank_txn_ref=payment.bank_txn_ref)


def _claimed_here_recently(ctx: ReconciliationContext, payment_id: str, now: int) -> bool:
    """Per container, best effort: a return page polling every few seconds costs one conditional write per
    interval, not one per poll. The conditional write stays the rule across containers."""
    claims: dict = ctx.caches.setdefault("status_claims", {})
    last = claims.get(payment_id)
    if last is not None and now - last < ctx.settings.stale.query_interval_s:
        return True
    if len(claims) >= CLAIM_CACHE_MAX:
        claims.clear()
    claims[payment_id] = now
    return False


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, VN_TZ).isoformat()
