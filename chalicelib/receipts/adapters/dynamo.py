"""Receipts on the ledger table: what issuing one writes (in the payer's or the corrector's transaction), and reads.

Items written with a receipt, all in one transaction with the counter move (so a receipt, its number, its
verification key and its summary row exist together or not at all):

- ``RCPT#<id> / RECEIPT``: the receipt (doc) and its signed XML (xml), the legal record;
- ``CTR#... / COUNTER``: the series counter, moved from ``counter_was`` to the receipt's sequence;
- ``RVRF#<hash of series, number, secret> / VERIFY``: the public verification's key (receipts under the current
  rules), pointing at the receipt;
- ``RDAY#<unit>#<day> / <form>#<series>#<number>``: the receipt's row of the day's summary table (01/TH-BLĐT);
- ``TAXRPT#<unit> / DAY#<day>``: the day's report record: one more row (ADD), back in the open list (gsi1
  ``TAXRPT#OPEN``) until a report covering every row is acknowledged;
- for a correction, ``RREL#<old id> / RELATED``: at most one receipt corrects another.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.aws.tables import CONDITION_FAILED, cancellation_reasons, failed_at, models, transient
from chalicelib.receipts.domain import Issue, Receipt, verification_key
from chalicelib.receipts.ports import AlreadyCorrectedError, ReceiptWriteConflictError
from chalicelib.receipts.reporting import report_day, row_key, summary_row

if TYPE_CHECKING:
    from chalicelib.config import Settings

RECEIPT_SK, COUNTER_SK = "RECEIPT", "COUNTER"
OPEN_REPORTS = "TAXRPT#OPEN"


def issue_puts(M, issue: Issue) -> list[tuple[Any, Any]]:
    """(item, condition) of every put of an issued receipt, in the order the transaction sends them."""
    r = issue.receipt
    # Delivery to the province starts PENDING, in the same transaction: the sweeper finds it (gsi1
    # DELIVERY#PENDING, <province>#<since>) if the queue send never happens. Tax receipts go to no province; a
    # self-test receipt is delivered by the self-test itself (no delivery index), and is in no report to the tax
    # authority (no summary row).
    delivered = r.province_code is not None and not r.test
    test = True if r.test else None
    puts = [
        (M(f"RCPT#{r.receipt_id}", RECEIPT_SK, kind="receipt", doc=r.model_dump_json(), state=r.delivery_state,
           xml=issue.signed_xml.decode("utf-8") if issue.signed_xml else None,
           gsi1pk=f"DELIVERY#{r.delivery_state}" if delivered else None,
           gsi1sk=f"{r.province_code}#{r.issued_at}" if delivered else None, test=test),
         M.pk.does_not_exist()),
        (M(issue.counter_key, COUNTER_SK, kind="counter", seq=r.sequence, test=test),
         M.pk.does_not_exist() if issue.counter_was == 0 else (M.seq == issue.counter_was)),
    ]
    if r.test:
        return puts
    puts += [
        (M(f"RDAY#{r.collecting_unit_code}#{report_day(r.issued_at)}", row_key(r), kind="receipt_row",
           ref=r.receipt_id, doc=json.dumps(summary_row(r), ensure_ascii=False)), None),
    ]
    if r.verification_secret:
        puts.append((M(f"RVRF#{verification_key(r.series, r.receipt_number, r.verification_secret)}", "VERIFY",
                       kind="receipt_lookup", ref=r.receipt_id), M.pk.does_not_exist()))
    return puts


def issue_update(M, issue: Issue) -> tuple[Any, list, None]:
    """The day's report record: one more row, and (back) in the list of days to report."""
    r = issue.receipt
    day = report_day(r.issued_at)
    item = M(f"TAXRPT#{r.collecting_unit_code}", f"DAY#{day}")
    return item, [M.seq.add(1), M.kind.set("tax_report"), M.gsi1pk.set(OPEN_REPORTS),
                  M.gsi1sk.set(f"{day}#{r.collecting_unit_code}"), M.state.set(M.state | "OPEN")], None


def add_issue(tx: TransactWrite, M, issue: Issue) -> int:
    """Add an issued receipt's writes to ``tx``; returns how many puts it added (for reading cancellation reasons:
    the receipt is the first, the counter the second)."""
    puts = issue_puts(M, issue)
    for item, condition in puts:
        tx.save(item, condition=condition)
    if not issue.receipt.test:  # a self-test receipt is in no day's report
        item, actions, _ = issue_update(M, issue)
        tx.update(item, actions=actions)
    return len(puts)


class DynamoReceipts:
    def __init__(self, settings: Settings) -> None:
        _, self.M = models(settings)

    def _get(self, pk: str, sk: str):
        try:
            return self.M.get(pk, sk, consistent_read=True)
        except DoesNotExist:
            return None

    def get_receipt(self, receipt_id: str) -> Receipt | None:
        item = self._get(f"RCPT#{receipt_id}", RECEIPT_SK)
        if item is None:
            return None
        receipt = Receipt.model_validate_json(item.doc)
        if item.state:
            receipt.delivery_state = item.state  # moved by the forwarding consumer (DynamoDeliveries)
        return receipt

    def get_signed_xml(self, receipt_id: str) -> bytes | None:
        item = self._get(f"RCPT#{receipt_id}", RECEIPT_SK)
        return item.xml.encode("utf-8") if item is not None and item.xml else None

    def find_by_verification(self, key: str) -> str | None:
        item = self._get(f"RVRF#{key}", "VERIFY")
        return item.ref if item is not None else None

    def correction_of(self, receipt_id: str) -> str | None:
        item = self._get(f"RREL#{receipt_id}", "RELATED")
        return item.ref if item is not None else None

    def counter(self, key: str) -> int:
        item = self._get(key, COUNTER_SK)
        return int(item.seq or 0) if item is not None else 0

    def record_correction(self, issue: Issue, old_receipt_id: str) -> None:
        M = self.M
        try:
            with TransactWrite(connection=M._get_connection().connection) as tx:
                tx.save(M(f"RREL#{old_receipt_id}", "RELATED", kind="receipt_relation", ref=issue.receipt.receipt_id),
                        condition=M.pk.does_not_exist())
                add_issue(tx, M, issue)
        except TransactWriteError as exc:
            reasons = cancellation_reasons(exc)  # puts: relation, receipt, counter, row, [lookup]; the day update
            if failed_at(reasons, 0):
                raise AlreadyCorrectedError(old_receipt_id) from None
            if CONDITION_FAILED in reasons or transient(reasons):
                raise ReceiptWriteConflictError(issue.receipt.receipt_id) from None
            raise
