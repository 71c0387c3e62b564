"""The DynamoDB ledger: payments, what they claim, their reference numbers, receipts as issued, idempotency records
and anomalies. Conditional writes and transactions live here, nowhere else.

A payment claims what it pays, in the transaction that creates it: a land payment its dossier's notice (an update of
the dossier item), a tax payment its debt's claim item ``TAXCLAIM#<claim key> / CLAIM`` (state LIVE with the payment
id in ``ref`` and its expiry in ``seq``; PAID once paid). Either way a second live payment, or any payment of a paid
one, is refused by the condition. Every payment also takes its reference number, ``REF#<number> / REFERENCE``
(refused if taken: unique in the portal; banks and settlement files quote it).

pynamodb sends a transaction's items grouped by kind - condition checks, deletes, puts, then updates - whatever the
order they were added in; cancellation reasons follow that order. The index maps below rely on it.
"""
from __future__ import annotations

import json
import zlib
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.aws.tables import CONDITION_FAILED, cancellation_reasons, failed_at, is_conditional, models, transient
from chalicelib.aws.tallies import add_to_transaction
from chalicelib.core.banks import settlement_day
from chalicelib.core.clock import new_ulid
from chalicelib.payments.domain.payments import LIVE_STATES, Payment, PaymentState
from chalicelib.payments.ports import (
    ConcurrentUpdateError,
    IdempotencyConflictError,
    IdempotencyRecord,
    NoticeAlreadyPaidError,
    NoticeBusyError,
    ReferenceTakenError,
)
from chalicelib.receipts.adapters.dynamo import RECEIPT_SK, add_issue
from chalicelib.receipts.domain import Issue, Receipt

if TYPE_CHECKING:
    from chalicelib.config import Settings

PAYMENT_SK, COUNTER_SK, IDEM_SK, CLAIM_SK, REF_SK = "PAYMENT", "COUNTER", "IDEM", "CLAIM", "REFERENCE"


LIVE_PREFIX = "LIVE#"


class _Retry(Exception):
    pass


def live_shard(payment_id: str, shards: int) -> str:
    """The gsi2 partition of a live payment: spread over ``shards`` so that no one index partition takes every new
    payment. Stable per payment; raising the shard count later is safe (the job reads every shard below it)."""
    return f"{LIVE_PREFIX}{zlib.crc32(payment_id.encode()) % max(1, shards)}"


def live_sort_key(due_epoch: int, payment_id: str) -> str:
    """gsi2 sort key: due time first (zero-padded epoch, so text order is time order), then the id."""
    return f"{due_epoch:010d}#{payment_id}"


def _day_index(p: Payment) -> dict[str, Any]:
    """A PAID payment (not a test) is filed under the day whose settlement file should list it (gsi3), with the
    few attributes matching reads: reconciliation reads a bank's day by index pages, never payment by payment."""
    if p.state != PaymentState.PAID or p.test or not p.paid_at:
        return {}
    try:
        day = settlement_day(p.bank_code, p.paid_at)
    except ValueError:  # a bank time we could not read: the payment's own day, rather than no index at all
        day = settlement_day(p.bank_code, p.created_at)
    return {"gsi3pk": f"DAY#{p.bank_code}#{day.isoformat()}", "gsi3sk": p.payment_id, "amount_vnd": p.amount_vnd,
            "bank_txn_ref": p.bank_txn_ref, "paid_at": p.paid_at}


def history_partition(p: Payment) -> str | None:
    """Where a payment is found in a citizen's history (gsi1): under the account that paid it (``CIT#<sub>``), or,
    paid anonymously, under the keyed hash of the payer's ID number (``PAYER#<hash>``); never both."""
    if p.citizen_sub:
        return f"CIT#{p.citizen_sub}"
    return f"PAYER#{p.payer_id_hash}" if p.payer_id_hash else None


def payment_item(item_model, p: Payment, shards: int):
    """The ledger item of a payment. A live payment carries the gsi2 keys (due at its expiry); any other state
    writes none, which takes it out of the sparse index in the same write that ends it; a PAID one carries the
    settlement-day keys (gsi3)."""
    live = p.state in LIVE_STATES
    return item_model(
        f"PAY#{p.payment_id}",
        PAYMENT_SK,
        kind="payment",
        state=p.state.value,
        rev=p.rev,
        doc=p.model_dump_json(),
        gsi1pk=history_partition(p),
        gsi1sk=p.created_at if history_partition(p) else None,
        gsi2pk=live_shard(p.payment_id, shards) if live else None,
        gsi2sk=live_sort_key(p.expires_at, p.payment_id) if live else None,
        test=True if p.test else None,  # a self-test payment: reports and reconciliation skip it
        **_day_index(p),
    )


class DynamoLedger:
    def __init__(self, settings: Settings, outbox=None) -> None:
        self._dossier, self._item = models(settings)
        self._outbox = outbox  # builds the intent items written in the same transactions
        self._shards = settings.live_index_shards

    def _intents(self, tx: TransactWrite, intents, tallies=()) -> None:
        """The intents (puts) and the report tallies (updates: pynamodb sends them after the puts and after any
        update added before, so the index maps of the cancellation reasons below hold)."""
        for item in self._outbox.items(intents) if intents else ():
            tx.save(item)
        add_to_transaction(tx, self._item, tallies)

    def _tx(self) -> TransactWrite:
        return TransactWrite(connection=self._item._get_connection().connection)

    # -- helpers -------------------------------------------------------------------------------------------
    def _payment_item(self, p: Payment):
        return payment_item(self._item, p, self._shards)

    def _unchanged(self, expected: Payment):
        it = self._item
        return (it.rev == expected.rev) & (it.state == expected.state.value)

    def _notice(self, notice_number: str):
        return self._dossier.notices[notice_number]

    def _claim(self, payment: Payment, state: str):
        return self._item(f"TAXCLAIM#{payment.claim_key}", CLAIM_SK, kind="tax_claim", state=state,
                          ref=payment.payment_id, seq=payment.expires_at)

    # -- payments ------------------------------------------------------------------------------------------
    def create_payment(self, payment: Payment, idempotency: IdempotencyRecord | None, now_epoch: int) -> None:
        for _ in range(5):
            try:
                self._create_payment_once(payment, idempotency, now_epoch)
                return
            except _Retry:
                continue
        raise NoticeBusyError()

    def _create_payment_once(self, payment: Payment, idempotency, now_epoch: int) -> None:
        it = self._item
        try:
            with self._tx() as tx:
                tx.save(self._payment_item(payment), condition=it.pk.does_not_exist())
                if idempotency is not None:
                    tx.save(self._idempotency_item(idempotency), condition=it.pk.does_not_exist())
                tx.save(it(f"REF#{payment.reference_number}", REF_SK, kind="reference", ref=payment.payment_id),
                        condition=it.pk.does_not_exist())
                self._claim_subject(tx, payment, now_epoch)
        except TransactWriteError as exc:
            reasons = cancellation_reasons(exc)  # puts: payment, [idempotency], reference, [claim]; [dossier update]
            at = 1 if idempotency is not None else 0
            if idempotency is not None and failed_at(reasons, 1):
                raise IdempotencyConflictError() from None
            if failed_at(reasons, at + 1):
                raise ReferenceTakenError(payment.reference_number) from None
            if failed_at(reasons, at + 2):
                raise NoticeBusyError() from None
            if transient(reasons):
                raise _Retry() from None
            raise

    def _claim_subject(self, tx: TransactWrite, payment: Payment, now_epoch: int) -> None:
        it, d = self._item, self._dossier
        if payment.kind != "land":
            free = it.pk.does_not_exist() | (it.state == "FREE") | ((it.state == "LIVE") & (it.seq <= now_epoch))
            tx.save(self._claim(payment, "LIVE"), condition=free)
            return
        n = self._notice(payment.notice_number)
        claim = (n.exists() & (n["version"] == payment.notice_version) & n["paid_payment_id"].does_not_exist()
                 & (n["live_payment_id"].does_not_exist() | (n["live_payment_expires_at"] <= now_epoch)))
        tx.update(d(payment.dossier_code), actions=[
            n["live_payment_id"].set(payment.payment_id), n["live_payment_expires_at"].set(payment.expires_at),
            d.rev.set(d.rev + 1)], condition=claim)

    def _idempotency_item(self, idempotency: IdempotencyRecord):
        doc = json.dumps({"request_hash": idempotency.request_hash, "status": idempotency.status,
                          "body": idempotency.body}, ensure_ascii=False)
        return self._item(f"IDEM#{idempotency.key_hash}", IDEM_SK, kind="idempotency", doc=doc,
                          ttl=idempotency.expires_at)

    def get_idempotency(self, key_hash: str) -> IdempotencyRecord | None:
        try:
            item = self._item.get(f"IDEM#{key_hash}", IDEM_SK, consistent_read=True)
        except DoesNotExist:
            return None
        doc = json.loads(item.doc)
        return IdempotencyRecord(key_hash, doc["request_hash"], doc["status"], doc["body"], int(item.ttl or 0))

    def get_payment(self, payment_id: str) -> Payment | None:
        try:
            item = self._item.get(f"PAY#{payment_id}", PAYMENT_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return Payment.model_validate_json(item.doc)

    def find_payment_by_reference(self, reference_number: str) -> str | None:
        try:
            return self._item.get(f"REF#{reference_number}", REF_SK, consistent_read=True).ref
        except DoesNotExist:
            return None

    def get_payment_and_counter(self, payment_id: str, counter_key: str) -> tuple[Payment | None, int]:
        payment, counter = None, 0
        for item in self._item.batch_get([(f"PAY#{payment_id}", PAYMENT_SK), (counter_key, COUNTER_SK)],
                                         consistent_read=True):
            if item.kind == "payment":
                payment = Payment.model_validate_json(item.doc)
            elif item.kind == "counter":
                counter = int(item.seq or 0)
        return payment, counter

    def record_paid(self, payment: Payment, expected: Payment, issue: Issue, intents=(),
                    reminders_of: tuple[str, str] | None = None, tallies=()) -> None:
        it = self._item
        try:
            with self._tx() as tx:
                if reminders_of:  # paid: no reminder of this notice may go out any more
                    tx.delete(it(f"RMD#{reminders_of[0]}#{reminders_of[1]}", "REMINDER"))
                tx.save(self._payment_item(payment), condition=self._unchanged(expected))
                tax = payment.kind != "land"
                if tax:
                    tx.save(self._claim(payment, "PAID"),
                            condition=it.pk.exists() & ((it.state != "PAID") | (it.ref == payment.payment_id)))
                else:
                    self._mark_notice_paid(tx, payment)
                puts = add_issue(tx, it, issue)
                self._intents(tx, intents, tallies)  # the tallies are updates: after the dossier's
        except TransactWriteError as exc:
            reasons = cancellation_reasons(exc)
            first = 1 if reminders_of else 0  # deletes come first
            claim_at = first + 1 if tax else first + 1 + puts + len(intents)  # the claim put, or the dossier update
            receipt_at = first + (2 if tax else 1)
            mine = (first, receipt_at, receipt_at + 1)  # payment, receipt, counter
            if failed_at(reasons, claim_at) and not any(failed_at(reasons, i) for i in mine):
                raise NoticeAlreadyPaidError() from None
            if CONDITION_FAILED in reasons or transient(reasons):
                raise ConcurrentUpdateError(payment.payment_id) from None
            raise

    def _mark_notice_paid(self, tx: TransactWrite, payment: Payment) -> None:
        d, n = self._dossier, self._notice(payment.notice_number)
        tx.update(d(payment.dossier_code), actions=[
            n["paid_payment_id"].set(payment.payment_id), n["live_payment_id"].remove(),
            n["live_payment_expires_at"].remove(), d.rev.set(d.rev + 1)],
            condition=(n.exists() & (n["version"] == payment.notice_version)
                       & (n["paid_payment_id"].does_not_exist() | (n["paid_payment_id"] == payment.payment_id))))

    def record_double_payment(self, payment: Payment, expected: Payment, intents=(), tallies=()) -> None:
        try:
            with self._tx() as tx:
                tx.save(self._payment_item(payment), condition=self._unchanged(expected))
                tx.save(self._anomaly("DOUBLE_PAYMENT", payment.payment_id, {
                    "dossier_code": payment.dossier_code, "notice_number": payment.notice_number,
                    "amount_vnd": payment.amount_vnd,
                    "bank_txn_ref": (payment.extra_bank_txn_refs or [payment.bank_txn_ref])[-1]}))
                self._intents(tx, intents, tallies)
        except TransactWriteError as exc:
            reasons = cancellation_reasons(exc)
            if CONDITION_FAILED in reasons or transient(reasons):
                raise ConcurrentUpdateError(payment.payment_id) from None
            raise

    def record_failed(self, payment: Payment, expected: Payment) -> None:
        try:
            with self._tx() as tx:
                tx.save(self._payment_item(payment), condition=self._unchanged(expected))
                self._release(tx, payment)
            return
        except TransactWriteError as exc:
            reasons = cancellation_reasons(exc)  # puts: payment, [claim]; [dossier update]
            if failed_at(reasons, 0) or transient(reasons):
                raise ConcurrentUpdateError(payment.payment_id) from None
            if not failed_at(reasons, 1):
                raise
        # The notice or debt is no longer held by this payment (claimed anew after expiry): only the payment moves.
        try:
            self._payment_item(payment).save(condition=self._unchanged(expected))
        except PutError as exc:
            if is_conditional(exc):
                raise ConcurrentUpdateError(payment.payment_id) from None
            raise

    def _release(self, tx: TransactWrite, payment: Payment) -> None:
        it, d = self._item, self._dossier
        if payment.kind != "land":
            tx.save(self._claim(payment, "FREE"), condition=(it.ref == payment.payment_id) & (it.state == "LIVE"))
            return
        n = self._notice(payment.notice_number)
        tx.update(d(payment.dossier_code), condition=n["live_payment_id"] == payment.payment_id,
                  actions=[n["live_payment_id"].remove(), n["live_payment_expires_at"].remove(), d.rev.set(d.rev + 1)])

    def paid_claims(self, claim_keys: list[str]) -> set[str]:
        """Which of these tax-debt claims are paid (the taxes lookup hides them at once)."""
        if not claim_keys:
            return set()
        items = self._item.batch_get([(f"TAXCLAIM#{k}", CLAIM_SK) for k in claim_keys], consistent_read=True)
        return {i.pk[len("TAXCLAIM#"):] for i in items if i.state == "PAID"}

    def _anomaly(self, kind: str, payment_id: str, details: dict[str, Any]):
        return self._item(f"ANOM#{payment_id or 'UNKNOWN'}", new_ulid(), kind="anomaly", state=kind,
                          doc=json.dumps(details, ensure_ascii=False, default=str),
                          gsi1pk=f"ANOMALY#{kind}", gsi1sk=new_ulid())

    def record_anomaly(self, kind: str, payment_id: str, details: dict[str, Any], intents=()) -> None:
        if not intents:
            self._anomaly(kind, payment_id[:80], details).save()
            return
        with self._tx() as tx:
            tx.save(self._anomaly(kind, payment_id[:80], details))
            self._intents(tx, intents)

    def list_anomalies(self, payment_id: str) -> list[dict[str, Any]]:
        return [{"kind": i.state, **json.loads(i.doc)} for i in self._item.query(f"ANOM#{payment_id}")]

    def get_receipt(self, receipt_id: str) -> Receipt | None:
        try:
            item = self._item.get(f"RCPT#{receipt_id}", RECEIPT_SK)
        except DoesNotExist:
            return None
        receipt = Receipt.model_validate_json(item.doc)
        if item.state:
            receipt.delivery_state = item.state
        return receipt
