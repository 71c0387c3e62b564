"""What the receipt use cases need: the store of receipts (the payments ledger writes them in the paying transaction;
corrections write here), the collecting organisation's signing keys, the signed documents, the daily report store
and the tax authority's reporting endpoint."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

from chalicelib.core.clock import Clock
from chalicelib.outbox.domain import Intent
from chalicelib.receipts.domain import Issue, Receipt
from chalicelib.receipts.reporting import DayReport


class AlreadyCorrectedError(Exception):
    """Another receipt already replaces, adjusts or cancels this one."""


class ReceiptWriteConflictError(Exception):
    """The series counter moved between read and write: read it again and retry."""


class SigningUnavailableError(Exception):
    """The signing key cannot be had now (secret store down, key missing): nothing can be issued."""


class TaxAuthorityError(Exception):
    """A call to the tax authority failed. ``unavailable``: no usable answer (timeout, 5xx, bad signature) - retry
    later; otherwise it answered and refused."""

    def __init__(self, code: str, detail: str = "", unavailable: bool = True) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code, self.detail, self.unavailable = code, detail, unavailable


@dataclass(frozen=True)
class TaxAuthoritySettings:
    """The tax authority's gateway (its real address and protocol are configuration; locally, the simulator)."""

    base_url: str = ""
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 5.0
    attempts: int = 2  # per lookup on a request path (a second try after a timeout or 5xx, then 503)


@dataclass(frozen=True)
class ReportAck:
    accepted: bool
    ack_id: str = ""
    errors: tuple[str, ...] = ()


class ReceiptStore(Protocol):
    def get_receipt(self, receipt_id: str) -> Receipt | None: ...

    def get_signed_xml(self, receipt_id: str) -> bytes | None: ...

    def find_by_verification(self, key: str) -> str | None:
        """The receipt id behind a verification key (series, number, secret), or None."""

    def correction_of(self, receipt_id: str) -> str | None:
        """The id of the receipt that replaces, adjusts or cancels this one, if any."""

    def counter(self, key: str) -> int: ...

    def record_correction(self, issue: Issue, old_receipt_id: str) -> None:
        """One transaction: the new receipt with its counter move, verification key and summary row, and the mark
        that ``old_receipt_id`` is corrected. AlreadyCorrectedError / ReceiptWriteConflictError; nothing written."""


class ReceiptSigning(Protocol):
    """The collecting organisation's keys: one signer per container, built from the secret store."""

    signer_name: str

    def sign_xml(self, receipt: Receipt) -> bytes: ...

    def verify_xml(self, document: bytes) -> Any:
        """receipts.signing.VerifiedReceipt, or ReceiptSignatureError."""

    def sign_pdf(self, pdf: bytes) -> bytes: ...

    def sign_detached(self, data: bytes) -> dict[str, str]:
        """{"alg", "signature", "x509_certificate"}: the organisation's signature over a document it sends."""

    def verify_pdf(self, pdf: bytes) -> Any:
        """receipts.pades.VerifiedPdf, or ReceiptPdfSignatureError."""


class ReceiptDocuments(Protocol):
    def pdf(self, receipt: Receipt) -> bytes:
        """The receipt's PDF (rendered with its QR code and PAdES-signed on first need, then kept)."""


class ReportStore(Protocol):
    def open_days(self, limit: int) -> list[DayReport]: ...

    def get_day(self, unit: str, day: str) -> DayReport | None: ...

    def days(self, unit: str, first_day: str, last_day: str) -> list[DayReport]: ...

    def rows(self, unit: str, day: str) -> list[dict[str, Any]]: ...

    def save_outcome(self, report: DayReport, close_if_rows: int | None, intents: Sequence[Intent] = ()) -> bool:
        """Store the report's new state (with the intents, in one write); with ``close_if_rows``, take the day out of
        the open list only if it still has that many rows (a receipt written meanwhile keeps it open). False when
        the day moved meanwhile."""


class TaxAuthorityReports(Protocol):
    def send_report(self, document: dict[str, Any]) -> ReportAck:
        """Sign and send a day's table. TaxAuthorityError(unavailable=True) when no usable answer came back."""


class ReceiptsContext(Protocol):
    settings: Any
    clock: Clock
    ledger: Any  # payments' ledger: get_payment (who may read a receipt)
    receipts: ReceiptStore
    hasher: Any  # the IdHasher: payments' access secrets are HMACs of their ids
    receipt_signing: ReceiptSigning
    receipt_documents: ReceiptDocuments
    reports: ReportStore
    tax_reports: TaxAuthorityReports
    new_id: Callable[[], str]

    def count(self, name: str, value: int = 1) -> None: ...
