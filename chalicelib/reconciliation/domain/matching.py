"""Settlement matching: every line of a bank's day classified against the portal, and every paid payment the day
lacks reported (RECONCILIATION.md, "Classification").

Inputs: the bank's validated lines for day D (a stream, read once), the portal's payments of day D for that bank
(``payment_id -> PortalPayment``: those paid on D and those created on D that are not paid), a ``lookup`` for the
lines about payments outside that mapping (a payment paid at 23:59:58 on D-1 that the bank settles on D, or a
payment the portal expired after the citizen paid), and the ``previous_pending`` payments that D-1's run held as
``PENDING_NEXT_DAY``.

Per line, in file order:
- unknown payment -> MISSING_AT_PORTAL (``known`` False: an anomaly, nothing to apply);
- REVERSED -> STATUS_MISMATCH (the reason says whether the portal shows it paid);
- the payment's own transaction (the portal's bank reference; without one, the first SUCCESS line) ->
  AMOUNT_MISMATCH if the amounts differ, else MATCHED when the portal shows PAID, else MISSING_AT_PORTAL
  (``known`` True: apply the success through the bank-result use case);
- any other SUCCESS line for the payment -> DUPLICATE_AT_BANK, ``refund_required`` (not when it repeats the
  reference of the payment's own transaction: one transaction listed twice is the bank's to explain);
- a SUCCESS whose reference the same file also REVERSED -> STATUS_MISMATCH, never applied nor refunded.
Then each portal PAID payment (test payments excluded) whose own transaction the file lacks: PENDING_NEXT_DAY, or
MISSING_AT_BANK when it was already pending from D-1 (the cut-off allowance is one day).

Memory: the portal mapping (one day's payments) plus the reference of each payment's transaction seen, plus the
few lines that may only be decided at the end (MISSING_AT_PORTAL known, DUPLICATE_AT_BANK: a later REVERSED line
must be able to stop them); never the whole file. Findings are yielded as they are decided: store them, count them
(``Totals``), and act on MISSING_AT_PORTAL / DUPLICATE_AT_BANK only after the iteration has ended.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Callable, Iterable, Iterator, Mapping

from chalicelib.reconciliation.domain.settlement import REVERSED, SettlementLine

__all__ = ["Category", "Finding", "PortalPayment", "Totals", "classify"]

PAID = "PAID"


class Category(str, Enum):
    MATCHED = "MATCHED"
    MISSING_AT_PORTAL = "MISSING_AT_PORTAL"
    MISSING_AT_BANK = "MISSING_AT_BANK"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    DUPLICATE_AT_BANK = "DUPLICATE_AT_BANK"
    STATUS_MISMATCH = "STATUS_MISMATCH"
    PENDING_NEXT_DAY = "PENDING_NEXT_DAY"


@dataclass(frozen=True)
class PortalPayment:
    """What matching needs of a portal payment."""

    payment_id: str
    state: str  # PaymentState value: PAID, PENDING_BANK, EXPIRED...
    amount_vnd: int
    bank_txn_ref: str | None = None
    paid_at: datetime | None = None
    test: bool = False
    reference_number: str | None = None  # số tham chiếu (Circular 89/2026 art. 36): must be the line's when both have one


@dataclass(frozen=True)
class Finding:
    category: Category
    payment_id: str
    line_no: int | None = None  # None for a payment the file lacks
    bank_txn_ref: str | None = None
    bank_amount_vnd: int | None = None
    portal_amount_vnd: int | None = None
    portal_state: str | None = None  # None: the portal does not know the payment
    paid_at: datetime | None = None  # the bank's, or the portal's when the file lacks the payment
    refund_required: bool = False
    reason: str = ""

    @property
    def known(self) -> bool:
        return self.portal_state is not None

    @property
    def amount_vnd(self) -> int:
        """The amount this finding counts for: what the bank moved, or what the portal holds when the bank did not."""
        return self.bank_amount_vnd if self.bank_amount_vnd is not None else (self.portal_amount_vnd or 0)


@dataclass
class Totals:
    """Count and VND per category (add every finding)."""

    counts: dict[Category, int] = field(default_factory=lambda: dict.fromkeys(Category, 0))
    vnd: dict[Category, int] = field(default_factory=lambda: dict.fromkeys(Category, 0))

    def add(self, finding: Finding) -> Finding:
        self.counts[finding.category] += 1
        self.vnd[finding.category] += finding.amount_vnd
        return finding

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> Totals:
        totals = cls()
        for finding in findings:
            totals.add(finding)
        return totals

    @property
    def anomalies(self) -> int:
        """Findings someone must look at (PENDING_NEXT_DAY waits for tomorrow's file first)."""
        return sum(n for c, n in self.counts.items() if c not in (Category.MATCHED, Category.PENDING_NEXT_DAY))


class _Day:
    """The matching state of one run (see the module docstring for why each piece is kept)."""

    def __init__(self, portal: Mapping[str, PortalPayment], lookup: Callable[[str], PortalPayment | None],
                 previous_pending: Mapping[str, PortalPayment]) -> None:
        self.portal, self.lookup, self.previous = portal, lookup, previous_pending
        self.others: dict[str, PortalPayment] = {}  # payments of other days the file mentions
        self.own: dict[str, str] = {}  # payment -> reference of its own transaction, once the file had it
        self.reversed: dict[str, set[str]] = defaultdict(set)  # payment -> references the file reversed
        self.held: list[tuple[SettlementLine, PortalPayment, Category, str]] = []

    def record_of(self, payment_id: str) -> PortalPayment | None:
        record = self.portal.get(payment_id) or self.others.get(payment_id)
        if record is None:
            record = self.previous.get(payment_id) or self.lookup(payment_id)
            if record is not None:
                self.others[payment_id] = record
        return record


def classify(
    lines: Iterable[SettlementLine],
    portal: Mapping[str, PortalPayment],
    lookup: Callable[[str], PortalPayment | None],
    previous_pending: Mapping[str, PortalPayment] | None = None,
) -> Iterator[Finding]:
    """Yield one finding per bank line, then one per portal PAID payment the file lacks (see the module doc).

    ``lookup`` is called for a line whose payment is neither in ``portal`` nor in ``previous_pending``; what it
    finds is remembered for the rest of the file, a miss is not (that would keep every unknown id in memory)."""
    day = _Day(portal, lookup, previous_pending or {})
    for line in lines:
        record = day.record_of(line.payment_id)
        if record is None:
            yield _finding(Category.MISSING_AT_PORTAL, line, None, "unknown_payment")
            continue
        finding = _line_finding(day, line, record)
        if finding is not None:
            yield finding
    for line, record, category, reason in day.held:
        yield _held_finding(day, line, record, category, reason)
    yield from _missing(day)


def _line_finding(day: _Day, line: SettlementLine, record: PortalPayment) -> Finding | None:
    """The finding of a line about a known payment, or None when it must wait for the end of the file."""
    key = record.payment_id  # the portal's own string: the state below keeps no copy of the file's
    if line.status == REVERSED:
        day.reversed[key].add(line.bank_txn_ref)
        if record.state == PAID and line.bank_txn_ref == record.bank_txn_ref:
            # The paying transaction is in the bank's day, reversed: reported here, not also "missing".
            day.own.setdefault(key, record.bank_txn_ref)
        return _finding(Category.STATUS_MISMATCH, line, record,
                        "reversed_paid" if record.state == PAID else "reversed_unpaid")
    own = day.own.get(key)
    if own is not None:
        # The same reference twice is the bank listing one transaction twice; another one is a second charge.
        reason = "repeated_reference" if line.bank_txn_ref == own else "second_bank_transaction"
        day.held.append((line, record, Category.DUPLICATE_AT_BANK, reason))
        return None
    if record.state == PAID and record.bank_txn_ref and line.bank_txn_ref != record.bank_txn_ref:
        day.held.append((line, record, Category.DUPLICATE_AT_BANK, "second_bank_transaction"))
        return None
    # Not paid at the portal, or paid without a reference: the first SUCCESS line is the payment's own.
    day.own[key] = record.bank_txn_ref if line.bank_txn_ref == record.bank_txn_ref else line.bank_txn_ref
    if line.bank_txn_ref in day.reversed.get(key, ()):
        return _finding(Category.STATUS_MISMATCH, line, record, "reversed_in_file")
    if line.reference_number and record.reference_number and line.reference_number != record.reference_number:
        # The reference number travels unchanged through every hand-off: another one is not this payment's money.
        return _finding(Category.STATUS_MISMATCH, line, record, "reference_mismatch")
    if line.amount_vnd != record.amount_vnd:
        return _finding(Category.AMOUNT_MISMATCH, line, record)
    if record.state == PAID:
        return _finding(Category.MATCHED, line, record)
    day.held.append((line, record, Category.MISSING_AT_PORTAL, f"portal_state_{record.state.lower()}"))
    return None


def _held_finding(day: _Day, line: SettlementLine, record: PortalPayment, category: Category,
                  reason: str) -> Finding:
    if line.bank_txn_ref in day.reversed.get(record.payment_id, ()):
        # Settled and reversed in the same day: neither apply it as a success nor refund it again.
        return _finding(Category.STATUS_MISMATCH, line, record, "reversed_in_file")
    return _finding(category, line, record, reason, refund_required=reason == "second_bank_transaction")


def _missing(day: _Day) -> Iterator[Finding]:
    for payment_id, record in day.portal.items():
        if record.state == PAID and not record.test and payment_id not in day.own:
            category = Category.MISSING_AT_BANK if payment_id in day.previous else Category.PENDING_NEXT_DAY
            yield _absent(category, record)
    for payment_id, record in day.previous.items():
        if payment_id not in day.portal and payment_id not in day.own and not record.test:
            yield _absent(Category.MISSING_AT_BANK, record)


def _finding(category: Category, line: SettlementLine, record: PortalPayment | None, reason: str = "",
             refund_required: bool = False) -> Finding:
    return Finding(
        category=category, payment_id=line.payment_id, line_no=line.line_no, bank_txn_ref=line.bank_txn_ref,
        bank_amount_vnd=line.amount_vnd, portal_amount_vnd=record.amount_vnd if record else None,
        portal_state=record.state if record else None, paid_at=line.paid_at, refund_required=refund_required,
        reason=reason,
    )


def _absent(category: Category, record: PortalPayment) -> Finding:
    reason = "missing_two_days" if category is Category.MISSING_AT_BANK else "not_in_file_yet"
    return Finding(category=category, payment_id=record.payment_id, bank_txn_ref=record.bank_txn_ref,
                   portal_amount_vnd=record.amount_vnd, portal_state=record.state, paid_at=record.paid_at,
                   reason=reason)
