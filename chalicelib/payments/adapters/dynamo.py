"""DynamoDB implementations of the repositories: conditional writes and transactions live here, nowhere else."""
from __future__ import annotations

import json
import zlib
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.aws.clients import client
from chalicelib.aws.tables import CONDITION_FAILED, cancellation_reasons, failed_at, is_conditional, models, transient
from chalicelib.core.clock import new_ulid
from chalicelib.payments.domain.lookups import LookupAttempts
from chalicelib.payments.domain.notices import Dossier
from chalicelib.payments.domain.payments import LIVE_STATES, Payment
from chalicelib.payments.ports import (
    ConcurrentUpdateError,
    IdempotencyConflictError,
    IdempotencyRecord,
    LookupRead,
    NoticeAlreadyPaidError,
    NoticeBusyError,
)
from chalicelib.receipts.domain import Receipt

if TYPE_CHECKING:
    from chalicelib.config import Settings

PAYMENT_SK, RECEIPT_SK, COUNTER_SK, IDEM_SK = "PAYMENT", "RECEIPT", "COUNTER", "IDEM"
LIVE_PREFIX = "LIVE#"


def live_shard(payment_id: str, shards: int) -> str:
    """The gsi2 partition of a live payment: spread over ``shards`` so that no one index partition takes every new
    payment. Stable per payment; raising the shard count later is safe (the job reads every shard below it)."""
    return f"{LIVE_PREFIX}{zlib.crc32(payment_id.encode()) % max(1, shards)}"


def live_sort_key(due_epoch: int, payment_id: str) -> str:
    """gsi2 sort key: due time first (zero-padded epoch, so text order is time order), then the id."""
    return f"{due_epoch:010d}#{payment_id}"


def payment_item(item_model, p: Payment, shards: int):
    """The ledger item of a payment. A live payment carries the gsi2 keys (due at its expiry); any other state
    writes none, which takes it out of the sparse index in the same write that ends it."""
    live = p.state in LIVE_STATES
    return item_model(
        f"PAY#{p.payment_id}",
        PAYMENT_SK,
        kind="payment",
        state=p.state.value,
        rev=p.rev,
        doc=p.model_dump_json(),
        gsi1pk=f"CIT#{p.citizen_sub}" if p.citizen_sub else None,
        gsi1sk=p.created_at if p.citizen_sub else None,
        gsi2pk=live_shard(p.payment_id, shards) if live else None,
        gsi2sk=live_sort_key(p.expires_at, p.payment_id) if live else None,
    )


# pynamodb sends a transaction's items grouped by kind - condition checks, deletes, puts, then updates - whatever
# the order they were added in; cancellation reasons follow that order. The index maps below rely on it.


class _Retry(Exception):
    pass


def _dossier(item) -> Dossier:
    return Dossier(
        dossier_code=item.dossier_code,
        id_hash=item.id_hash,
        commune_code=item.commune_code,
        commune_code_system=item.commune_code_system,
        property=item.property.as_dict() if hasattr(item.property, "as_dict") else dict(item.property or {}),
        notices=item.notices.as_dict() if hasattr(item.notices, "as_dict") else dict(item.notices or {}),
        rev=int(item.rev or 0),
        updated_at=item.updated_at or "",
    )


class DynamoDossiers:
    def __init__(self, settings: Settings, outbox=None) -> None:
        self._model, _ = models(settings)
        self._settings = settings
        self._outbox = outbox  # builds the intent items written with the dossier

    def get(self, dossier_code: str) -> Dossier | None:
        try:
            item = self._model.get(dossier_code, consistent_read=True)
        except DoesNotExist:
            return None
        return _dossier(item)

    def get_for_lookup(self, dossier_code: str) -> LookupRead:
        """One BatchGetItem: the dossier and the code's failure counter (ledger LKF#<code> / LOOKUP). The dossier is
        parsed only if the caller's hash matched: an unknown code and a wrong ID number cost the same."""
        s = self._settings
        keys = {s.dossiers_table: {"Keys": [{"dossier_code": {"S": dossier_code}}], "ConsistentRead": True,
                                   "ProjectionExpression": "dossier_code, id_hash, commune_code, commune_code_system, "
                                   "#p, notices, rev, updated_at", "ExpressionAttributeNames": {"#p": "property"}},
                s.ledger_table: {"Keys": [{"pk": {"S": f"LKF#{dossier_code}"}, "sk": {"S": "LOOKUP"}}],
                                 "ConsistentRead": True}}
        got = client("dynamodb", s.region).batch_get_item(RequestItems=keys)["Responses"]
        dossier_raw = next(iter(got.get(s.dossiers_table, [])), None)
        counter = next(iter(got.get(s.ledger_table, [])), {})
        attempts = LookupAttempts(int(counter.get("failures", {}).get("N", "0")),
                                  int(counter.get("last_failure_at", {}).get("N", "0")))
        if dossier_raw is None:
            return LookupRead(None, attempts, lambda: None)
        return LookupRead(dossier_raw["id_hash"]["S"], attempts,
                          lambda: _dossier(self._model.from_raw_data(dossier_raw)))

    def record_lookup_failure(self, dossier_code: str, now_epoch: int, reset: bool) -> None:
        count = "failures = :one" if reset else "failures = if_not_exists(failures, :zero) + :one"
        client("dynamodb", self._settings.region).update_item(
            TableName=self._settings.ledger_table, Key={"pk": {"S": f"LKF#{dossier_code}"}, "sk": {"S": "LOOKUP"}},
            UpdateExpression=f"SET {count}, last_failure_at = :now, kind = :kind, #ttl = :ttl",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":zero": {"N": "0"}, ":now": {"N": str(now_epoch)},
                                       ":kind": {"S": "lookup_failures"}, ":ttl": {"N": str(now_epoch + 2 * 86_400)}})

    def save(self, dossier: Dossier, expected_rev: int | None, intents=()) -> None:
        m = self._model
        item = m(
            dossier.dossier_code,
            id_hash=dossier.id_hash,
            commune_code=dossier.commune_code,
            commune_code_system=dossier.commune_code_system,
            property=dossier.property,
            notices={k: v.model_dump(exclude_none=True) for k, v in dossier.notices.items()},
            rev=dossier.rev,
            updated_at=dossier.updated_at,
        )
        condition = m.dossier_code.does_not_exist() if expected_rev is None else (m.rev == expected_rev)
        try:
            with TransactWrite(connection=m._get_connection().connection) as tx:
                tx.save(item, condition=condition)
                for intent_item in self._outbox.items(intents) if intents else ():
                    tx.save(intent_item)
        except TransactWriteError as exc:
            reasons = cancellation_reasons(exc)  # puts: the dossier, then the intents
            if failed_at(reasons, 0) or transient(reasons):
                raise ConcurrentUpdateError(dossier.dossier_code) from None
            raise


class DynamoLedger:
    def __init__(self, settings: Settings, outbox=None) -> None:
        self._dossier, self._item = models(settings)
        self._outbox = outbox  # builds the intent items written in the same transactions
        self._shards = settings.live_index_shards

    def _intents(self, tx: TransactWrite, intents) -> None:
        for item in self._outbox.items(intents) if intents else ():
            tx.save(item)

    # -- helpers -------------------------------------------------------------------------------------------
    def _payment_item(self, p: Payment):
        return payment_item(self._item, p, self._shards)

    def _notice(self, notice_number: str):
        return self._dossier.notices[notice_number]

    def _dossier_key(self, payment: Payment):
        return self._dossier(payment.dossier_code)

    # -- payments ------------------------------------------------------------------------------------------
    def create_payment(self, payment: Payment, idempotency: IdempotencyRecord | None, now_epoch: int) -> None:
        d, n = self._dossier, self._notice(payment.notice_number)
        claim = (
            n.exists()
            & (n["version"] == payment.notice_version)
            & n["paid_payment_id"].does_not_exist()
            & (n["live_payment_id"].does_not_exist() | (n["live_payment_expires_at"] <= now_epoch))
        )
        for _ in range(5):
            try:
                self._create_payment_once(payment, idempotency, claim, n, d)
                return
            except _Retry:
                continue
        raise NoticeBusyError()

    def _create_payment_once(self, payment, idempotency, claim, n, d) -> None:
        try:
            with TransactWrite(connection=self._item._get_connection().connection) as tx:
                tx.save(self._payment_item(payment), condition=self._item.pk.does_not_exist())
                tx.update(
                    self._dossier_key(payment),
                    actions=[
                        n["live_payment_id"].set(payment.payment_id),
                        n["live_payment_expires_at"].set(payment.expires_at),
                        d.rev.set(d.rev + 1),
                    ],
                    condition=claim,
                )
                if idempotency is not None:
                    tx.save(
                        self._item(
                            f"IDEM#{idempotency.key_hash}",
                            IDEM_SK,
                            kind="idempotency",
                            doc=json.dumps(
                                {"request_hash": idempotency.request_hash, "status": idempotency.status,
                                 "body": idempotency.body},
                                ensure_ascii=False,
                            ),
                            ttl=idempotency.expires_at,
                        ),
                        condition=self._item.pk.does_not_exist(),
                    )
        except TransactWriteError as exc:
            reasons = cancellation_reasons(exc)  # puts: payment, [idempotency]; then the dossier update
            if idempotency is not None and failed_at(reasons, 1):
                raise IdempotencyConflictError() from None
            if failed_at(reasons, 2 if idempotency is not None else 1):
                raise NoticeBusyError() from None
            if transient(reasons):
                raise _Retry() from None
            raise

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

    def get_payment_and_counter(self, payment_id: str, unit: str, year: int) -> tuple[Payment | None, int]:
        payment, counter = None, 0
        keys = [(f"PAY#{payment_id}", PAYMENT_SK), (f"CTR#{unit}#{year}", COUNTER_SK)]
        for item in self._item.batch_get(keys, consistent_read=True):
            if item.kind == "payment":
                payment = Payment.model_validate_json(item.doc)
            elif item.kind == "counter":
                counter = int(item.seq or 0)
        return payment, counter

    def record_paid(self, payment: Payment, expected: Payment, receipt: Receipt, counter_was: int, year: int,
                    intents=()) -> None:
        d, n, it = self._dossier, self._notice(payment.notice_number), self._item
        counter_key = f"CTR#{receipt.collecting_unit_code}#{year}"
        try:
            with TransactWrite(connection=it._get_connection().connection) as tx:
                tx.save(self._payment_item(payment), condition=(it.rev == expected.rev) & (it.state == expected.state.value))
                tx.update(
                    self._dossier_key(payment),
                    actions=[
                        n["paid_payment_id"].set(payment.payment_id),
                        n["live_payment_id"].remove(),
                        n["live_payment_expires_at"].remove(),
                        d.rev.set(d.rev + 1),
                    ],
                    condition=(
                        n.exists()
                        & (n["version"] == payment.notice_version)
                        & (n["paid_payment_id"].does_not_exist() | (n["paid_payment_id"] == payment.payment_id))
                    ),
                )
                tx.save(
                    # Delivery to the province starts PENDING, in the same transaction: the sweeper finds it
                    # (gsi1 DELIVERY#PENDING, <province>#<since>) if the queue send after this never happens.
                    it(f"RCPT#{receipt.receipt_id}", RECEIPT_SK, kind="receipt", doc=receipt.model_dump_json(),
                       state=receipt.delivery_state, gsi1pk=f"DELIVERY#{receipt.delivery_state}",
                       gsi1sk=f"{receipt.collecting_unit_code}#{receipt.issued_at}"),
                    condition=it.pk.does_not_exist(),
                )
                counter = it(counter_key, COUNTER_SK, kind="counter", seq=receipt.sequence)
                tx.save(counter, condition=it.pk.does_not_exist() if counter_was == 0 else (it.seq == counter_was))
                self._intents(tx, intents)
        except TransactWriteError as exc:
            # puts: payment, receipt, counter, the intents; then the dossier update
            reasons, dossier_at = cancellation_reasons(exc), 3 + len(intents)
            if failed_at(reasons, dossier_at) and not any(failed_at(reasons, i) for i in (0, 1, 2)):
                raise NoticeAlreadyPaidError() from None
            if CONDITION_FAILED in reasons or transient(reasons):
                raise ConcurrentUpdateError(payment.payment_id) from None
            raise

    def record_double_payment(self, payment: Payment, expected: Payment, intents=()) -> None:
        it = self._item
        try:
            with TransactWrite(connection=it._get_connection().connection) as tx:
                tx.save(self._payment_item(payment), condition=(it.rev == expected.rev) & (it.state == expected.state.value))
                tx.save(self._anomaly("DOUBLE_PAYMENT", payment.payment_id, {
                    "dossier_code": payment.dossier_code, "notice_number": payment.notice_number,
                    "amount_vnd": payment.amount_vnd,
                    "bank_txn_ref": (payment.extra_bank_txn_refs or [payment.bank_txn_ref])[-1]}))
                self._intents(tx, intents)
        except TransactWriteError as exc:
            reasons = cancellation_reasons(exc)
            if CONDITION_FAILED in reasons or transient(reasons):
                raise ConcurrentUpdateError(payment.payment_id) from None
            raise

    def record_failed(self, payment: Payment, expected: Payment) -> None:
        d, n, it = self._dossier, self._notice(payment.notice_number), self._item
        try:
            with TransactWrite(connection=it._get_connection().connection) as tx:
                tx.save(self._payment_item(payment), condition=(it.rev == expected.rev) & (it.state == expected.state.value))
                tx.update(
                    self._dossier_key(payment),
                    actions=[n["live_payment_id"].remove(), n["live_payment_expires_at"].remove(), d.rev.set(d.rev + 1)],
                    condition=n["live_payment_id"] == payment.payment_id,
                )
            return
        except TransactWriteError as exc:
            reasons = cancellation_reasons(exc)
            if failed_at(reasons, 0) or transient(reasons):
                raise ConcurrentUpdateError(payment.payment_id) from None
            if not failed_at(reasons, 1):
                raise
        # The notice is no longer held by this payment (claimed anew after expiry): only the payment moves.
        try:
            self._payment_item(payment).save(condition=(it.rev == expected.rev) & (it.state == expected.state.value))
        except PutError as exc:
            if is_conditional(exc):
                raise ConcurrentUpdateError(payment.payment_id) from None
            raise

    def _anomaly(self, kind: str, payment_id: str, details: dict[str, Any]):
        return self._item(f"ANOM#{payment_id or 'UNKNOWN'}", new_ulid(), kind="anomaly", state=kind,
                          doc=json.dumps(details, ensure_ascii=False, default=str),
                          gsi1pk=f"ANOMALY#{kind}", gsi1sk=new_ulid())

    def record_anomaly(self, kind: str, payment_id: str, details: dict[str, Any], intents=()) -> None:
        if not intents:
            self._anomaly(kind, payment_id[:80], details).save()
            return
        with TransactWrite(connection=self._item._get_connection().connection) as tx:
            tx.save(self._anomaly(kind, payment_id[:80], details))
            self._intents(tx, intents)

    def list_anomalies(self, payment_id: str) -> list[dict[str, Any]]:
        return [{"kind": i.state, **json.loads(i.doc)} for i in self._item.query(f"ANOM#{payment_id}")]

    # -- receipts ------------------------------------------------------------------------------------------
    def get_receipt(self, receipt_id: str) -> Receipt | None:
        try:
            item = self._item.get(f"RCPT#{receipt_id}", RECEIPT_SK)
        except DoesNotExist:
            return None
        receipt = Receipt.model_validate_json(item.doc)
        if item.state:
            receipt.delivery_state = item.state  # moved by the forwarding consumer (DynamoDeliveries)
        return receipt
