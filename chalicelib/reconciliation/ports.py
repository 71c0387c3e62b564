"""What the reconciliation use cases need: from a bank, whatever its protocol, a payment's status and a refund;
for settlement runs, the stored files, the portal's side of a bank's day, and the store of runs.

Both bank clients (the VNPay-style gateway's ``querydr``/``refund``, the Standard Webhooks banks'
``GET /transactions/{id}``/``POST /refunds``) answer these types, so a use case never branches on the protocol.
A client never raises for a bank that did not answer, answered unsigned, or answered nonsense: that is
``NO_ANSWER`` (try again later, alert if it lasts), because "the bank said no" and "we could not hear the bank"
must never be confused where money is concerned.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence

from chalicelib.core.clock import Clock
from chalicelib.core.tallies import Tally
from chalicelib.outbox.domain import Intent
from chalicelib.payments.domain.payments import Payment
from chalicelib.payments.ports import Ledger, PaymentsContext
from chalicelib.reconciliation.domain.matching import PortalPayment
from chalicelib.reconciliation.domain.refunds import Refund, RefundState
from chalicelib.reconciliation.domain.runs import Discrepancy, FileRef, Run
from chalicelib.reconciliation.domain.settlement import SettlementFormat

__all__ = ["BankGateway", "BankGateways", "BankStatus", "BankStatusKind", "DiscrepancyResolvedError", "LivePayment",
           "LivePayments", "Page", "PortalDay", "PortalLookup", "ReconcileContext", "ReconciliationContext",
           "RefundConflictError", "RefundKind", "RefundOrder", "RefundResult", "RefundStore", "RunConflictError",
           "RunStore", "SettlementFiles", "SettlementFormats", "StalePolicy", "StatusQuery"]


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
             expected_payment: Payment | None = None, intents: Sequence[Intent] = (),
             tallies: Sequence[Tally] = ()) -> None:
        """One transaction: the refund (new when ``expected_rev`` is None, else only if its rev is still that), the
        payment with the refund's summary when given (only if the stored payment is still ``expected_payment``), the
        intents and the report tallies. RefundConflictError when a condition fails; nothing is written then."""

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


# --- settlement runs -----------------------------------------------------------------------------------------------

class RunConflictError(Exception):
    """Another worker created or moved the run between our read and our conditional write."""


class DiscrepancyResolvedError(Exception):
    """The discrepancy was resolved already (by whom and when: ``resolution``)."""

    def __init__(self, discrepancy: Discrepancy) -> None:
        super().__init__(discrepancy.key)
        self.discrepancy = discrepancy


@dataclass(frozen=True)
class Page:
    items: list[Any]
    cursor: str | None  # opaque: pass it back for the next page; None at the end


@dataclass(frozen=True)
class PortalLookup:
    """A payment outside the day index (not paid, paid another day, a test), with the bank it was made at."""

    payment: PortalPayment
    bank_code: str


class SettlementFiles(Protocol):
    """The documents bucket's settlement files (``settlements/<BANK>/<BANK>_<YYYYMMDD>.<ext>``)."""

    def chunks(self, ref: FileRef) -> Iterator[bytes]:
        """The file's bytes, streamed (FileNotFoundError when there is no such object or version)."""

    def latest(self, key: str) -> FileRef | None:
        """The current version of ``key``, or None."""

    def size(self, ref: FileRef) -> int: ...


class SettlementFormats(Protocol):
    def format_for_bank(self, bank_code: str) -> SettlementFormat:
        """KeyError for a bank without settlement files."""


class PortalDay(Protocol):
    """The portal's side of a bank's day: read by pages of the day index, never payment by payment."""

    def paid_on(self, bank_code: str, day: date) -> dict[str, PortalPayment]:
        """Every PAID, non-test payment of ``bank_code`` whose settlement day is ``day``."""

    def lookup(self, payment_id: str) -> PortalLookup | None:
        """One payment by id (for the rare line outside the day index)."""


class RunStore(Protocol):
    def find_by_file(self, bank_code: str, day: date, sha256: str) -> Run | None: ...

    def create(self, run: Run, replace_file_claim: bool = False, intents: Sequence[Intent] = ()) -> None:
        """Store a new run and claim its file (bank, day, sha256) for it, with the intents, in one transaction.
        RunConflictError when the file is claimed already (unless ``replace_file_claim``: a re-run takes the claim
        over)."""

    def take_over(self, run: Run, now_epoch: int, lease_until: int) -> Run | None:
        """Hold a FAILED run, or a RUNNING one whose lease ran out, for another attempt; None if someone holds it."""

    def put_discrepancies(self, items: Sequence[Discrepancy]) -> None: ...

    def clear_discrepancies(self, run_id: str) -> None:
        """Remove a run's discrepancies (before another attempt writes them anew)."""

    def complete(self, run: Run, intents: Sequence[Intent] = ()) -> Run:
        """The run COMPLETED, made its day's current run (superseding the previous one, ``run.supersedes``), with
        the intents, in one transaction. RunConflictError if the run or the day's current run moved."""

    def fail(self, run: Run) -> None:
        """The attempt stopped (status FAILED, ``run.error``): the next delivery of the file takes it over."""

    def files_seen(self, bank_code: str, day: date) -> int:
        """How many distinct files of the bank and day were run (refused ones included)."""

    def get(self, run_id: str) -> Run | None: ...

    def current(self, bank_code: str, day: date) -> Run | None:
        """The day's current run: the last COMPLETED one."""

    def pending_of(self, run_id: str) -> dict[str, PortalPayment]:
        """The payments the run held as PENDING_NEXT_DAY."""

    def list_runs(self, filters: Mapping[str, Any], limit: int, cursor: str | None) -> Page: ...

    def list_discrepancies(self, run_id: str, filters: Mapping[str, Any], limit: int, cursor: str | None) -> Page: ...

    def resolve(self, run_id: str, key: str, by: str, at: datetime, note: str) -> Discrepancy:
        """Mark one discrepancy RESOLVED with an audit record, once (DiscrepancyResolvedError the second time;
        KeyError when there is no such discrepancy)."""

    def first_alert(self, kind: str, bank_code: str, day: date, intents: Sequence[Intent]) -> bool:
        """Write the intents unless an alert of this kind was raised already for the bank and day."""


class ReconcileContext(PaymentsContext, Protocol):
    """The part of the service context the settlement runs read, with what the bank-result use case reads."""

    settings: Any
    clock: Clock
    runs: RunStore
    portal: PortalDay
    settlement_files: SettlementFiles
    settlement_formats: SettlementFormats
    new_id: Callable[[], str]

    def count(self, name: str, value: int = 1) -> None: ...


ProgressCallback = Callable[[int, int], None]  # lines classified so far, of how many (the CLI's progress bar)
Chunks = Iterable[bytes]
