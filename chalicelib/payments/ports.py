"""What the use cases need from the outside world. Adapters (DynamoDB, SNS, SQS...) and in-memory fakes implement these."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from chalicelib.core.admin_units import ResolvedCommune
from chalicelib.core.clock import Clock
from chalicelib.core.ports import Sealer
from chalicelib.core.tallies import Tally
from chalicelib.outbox.domain import Intent
from chalicelib.payments.domain.lookups import LookupAttempts
from chalicelib.payments.domain.notices import Dossier
from chalicelib.payments.domain.payments import Payment
from chalicelib.receipts.domain import Issue, Receipt
from chalicelib.receipts.ports import ReceiptSigning


class ConcurrentUpdateError(Exception):
    """Someone else changed the item between our read and our conditional write: re-read and retry."""


class NoticeBusyError(Exception):
    """The notice was claimed by another payment, paid, or changed version between read and write."""


class IdempotencyConflictError(Exception):
    """The idempotency key is already stored (by an earlier or concurrent request)."""


class NoticeAlreadyPaidError(Exception):
    """The notice (or tax debt) was paid by another payment: this success is a double payment."""


class ReferenceTakenError(Exception):
    """The reference number drawn for a new payment is already another payment's."""


@dataclass(frozen=True)
class IdempotencyRecord:
    key_hash: str
    request_hash: str
    status: int
    body: dict[str, Any]
    expires_at: int


@dataclass(frozen=True)
class LookupRead:
    """What a lookup reads in one round trip: the stored ID-number hash (None: no such dossier), the wrong guesses
    counted against the code, and the dossier itself, parsed only when asked (after the hash matched)."""

    id_hash: str | None
    attempts: LookupAttempts
    load: Callable[[], Dossier]


class DossierRepository(Protocol):
    def get(self, dossier_code: str) -> Dossier | None: ...

    def get_for_lookup(self, dossier_code: str) -> LookupRead:
        """One read (the dossier and its failure counter together)."""

    def record_lookup_failure(self, dossier_code: str, now_epoch: int, reset: bool) -> None:
        """Count a wrong guess (``reset``: start counting again at one), for a known or unknown code alike."""

    def save(self, dossier: Dossier, expected_rev: int | None, intents: Sequence[Intent] = (),
             reminders: Sequence[Any] = ()) -> None:
        """Write the whole dossier, with its intents and its notices' reminders (reminders.domain.NoticeReminders,
        replacing any earlier ones of the same notice), if its stored rev still equals expected_rev (None: must
        not exist)."""


class Ledger(Protocol):
    """Payments, their claims (a notice or a tax debt), reference numbers, receipts as issued, receipt counters,
    idempotency records and anomalies."""

    def create_payment(self, payment: Payment, idempotency: IdempotencyRecord | None, now_epoch: int) -> None:
        """Atomically: store the payment, claim its notice (no live unexpired payment, unpaid, same version) and
        store the idempotency record. Raises NoticeBusyError or IdempotencyConflictError; nothing is written then."""

    def get_idempotency(self, key_hash: str) -> IdempotencyRecord | None: ...

    def get_payment(self, payment_id: str) -> Payment | None: ...

    def get_payment_and_counter(self, payment_id: str, counter_key: str) -> tuple[Payment | None, int]:
        """One round trip: the payment and the last number of the series counter ``counter_key``."""

    def record_paid(self, payment: Payment, expected: Payment, issue: Issue, intents: Sequence[Intent] = (),
                    reminders_of: tuple[str, str] | None = None, tallies: Sequence[Tally] = ()) -> None:
        """One transaction: payment -> PAID with receipt id, its notice or tax-debt claim marked paid, the receipt
        issued (``issue``: receipt, counter move, signed XML, verification key, summary row), the intents written,
        the report tallies added, and the notice's reminders (``reminders_of`` = (dossier, notice)) deleted.
        ConcurrentUpdateError if payment or counter moved, NoticeAlreadyPaidError if another payment paid the notice
        or debt. Nothing is written on failure."""

    def find_payment_by_reference(self, reference_number: str) -> str | None:
        """The payment id carrying a reference number (settlement files and banks quote it)."""

    def record_double_payment(self, payment: Payment, expected: Payment, intents: Sequence[Intent] = (),
                              tallies: Sequence[Tally] = ()) -> None:
        """The payment (refund_required) and a DOUBLE_PAYMENT anomaly, with the intents and tallies, in one
        transaction."""

    def record_failed(self, payment: Payment, expected: Payment) -> None:
        """Payment -> FAILED/CANCELLED, releasing the notice if this payment still holds it."""

    def record_anomaly(self, kind: str, payment_id: str, details: dict[str, Any],
                       intents: Sequence[Intent] = ()) -> None: ...

    def get_receipt(self, receipt_id: str) -> Receipt | None: ...


class PaymentPages(Protocol):
    """Where the citizen is sent to pay: each bank's payment page, in the form its protocol wants (the VNPay-style
    gateway takes only a signed payment URL)."""

    def redirect_url(self, payment: Payment, direct: bool, client_ip: str | None) -> str: ...


class StatusRefresh(Protocol):
    """Ask the payment's bank for its status now, at most once per interval (reconciliation implements it): the
    payment as it stands afterwards, or None when nothing was asked or nothing changed. Raises nothing the caller
    must show: a failed refresh is invisible to the citizen."""

    def __call__(self, payment: Payment) -> Payment | None: ...


class BankLinks(Protocol):
    """Is this signed-in citizen linked to an internet-banking account at this bank? (M7 plugs in here.)"""

    def is_linked(self, citizen_sub: str, bank_code: str) -> bool: ...


class IdHasher(Protocol):
    def hash_id(self, normalised_id_number: str) -> str: ...


class PayerKeys(Protocol):
    """The accounts' keyed hash of an ID number (an account's ``id_hash``): what files an anonymous payment under
    the history of the citizen with that number (a different key from the dossier's ``IdHasher``)."""

    def id_hash(self, id_number: str) -> str: ...


class CommuneCodes(Protocol):
    """M10: the current statistics commune a notice's commune code stands for (the confirmed tax-code map of the
    province, or today's list, or the pre-2025 list with its successors). Raises ``core.errors.AppError`` (422
    COMMUNE_CODE_UNKNOWN, COMMUNE_CODE_AMBIGUOUS) naming the code and the province when it cannot say."""

    def resolve(self, *, province_agency: str, code: str, system: str, version: str | None,
                address: str) -> ResolvedCommune: ...


class PaymentsContext(Protocol):
    """The part of the service context the intake, lookup, payment and bank-result use cases read."""

    settings: Any
    clock: Clock
    dossiers: DossierRepository
    ledger: Ledger
    hasher: IdHasher
    keys: PayerKeys
    bank_links: BankLinks
    pay_pages: PaymentPages
    status_refresh: StatusRefresh
    commune_codes: CommuneCodes
    sealer: Sealer  # personal data kept encrypted at rest (payer phone, ID number for the province)
    receipt_signing: ReceiptSigning  # the collecting organisation's key: receipts are signed as they are issued
    new_id: Callable[[], str]

    def count(self, name: str, value: int = 1) -> None: ...
