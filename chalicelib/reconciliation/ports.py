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
from chalicelib.outbox.domain import Intent
from chalicelib.payments.ports import PaymentsContext
from chalicelib.reconciliation.domain.matching import PortalPayment
from chalicelib.reconciliation.domain.runs import Discrepancy, FileRef, Run
from chalicelib.reconciliation.domain.settlement import SettlementFormat

__all__ = ["BankGateway", "BankStatus", "BankStatusKind", "DiscrepancyResolvedError", "Page", "PortalDay",
           "PortalLookup", "ReconcileContext", "RefundKind", "RefundOrder", "RefundResult", "RunConflictError",
           "RunStore", "SettlementFiles", "SettlementFormats", "StatusQuery"]


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
