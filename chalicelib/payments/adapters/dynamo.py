"""DynamoDB implementations of the repositories: conditional writes and transactions live here, nowhere else."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.config import Settings
from chalicelib.core.clock import new_ulid
from chalicelib.payments.domain.notices import Dossier
from chalicelib.payments.domain.payments import Payment
from chalicelib.receipts.domain import Receipt
from chalicelib.payments.ports import (
    ConcurrentUpdateError,
    IdempotencyConflictError,
    IdempotencyRecord,
    NoticeAlreadyPaidError,
    NoticeBusyError,
)
from chalicelib.payments.adapters.models import models

PAYMENT_SK, RECEIPT_SK, COUNTER_SK, IDEM_SK = "PAYMENT", "RECEIPT", "COUNTER", "IDEM"


# pynamodb sends a transaction's items grouped by kind - condition checks, deletes, puts, then updates - whatever
# the order they were added in; cancellation reasons follow that order. The index maps below rely on it.


def _reasons(exc: TransactWriteError) -> list[str | None]:
    return [getattr(r, "code", None) if r is not None else None for r in (exc.cancellation_reasons or [])]


# Reasons that say "someone else was writing the same items", not "your condition is false": retry.
# (moto, which is not thread-safe, may report an internal error under concurrency; real DynamoDB reports
# TransactionConflict.)
_CONDITION = "ConditionalCheckFailed"


def _transient(reasons: list[str | None]) -> bool:
    return any(r not in (None, "None", _CONDITION) for r in reasons)


def _failed(reasons: list[str | None], index: int) -> bool:
    return index < len(reasons) and reasons[index] == "ConditionalCheckFailed"


def _conditional(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class _Retry(Exception):
    pass


class DynamoDossiers:
    def __init__(self, settings: Settings) -> None:
        self._model, _ = models(settings)

    def get(self, dossier_code: str) -> Dossier | None:
        try:
            item = self._model.get(dossier_code, consistent_read=True)
        except DoesNotExist:
            return None
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

    def save(self, dossier: Dossier, expected_rev: int | None) -> None:
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
            item.save(condition=condition)
        except PutError as exc:
            if _conditional(exc):
                raise ConcurrentUpdateError(dossier.dossier_code) from None
            raise


class DynamoLedger:
    def __init__(self, settings: Settings) -> None:
        self._dossier, self._item = models(settings)

    # -- helpers -------------------------------------------------------------------------------------------
    def _payment_item(self, p: Payment):
        return self._item(
            f"PAY#{p.payment_id}",
            PAYMENT_SK,
            kind="payment",
            state=p.state.value,
            rev=p.rev,
            doc=p.model_dump_json(),
            gsi1pk=f"CIT#{p.citizen_sub}" if p.citizen_sub else None,
            gsi1sk=p.created_at if p.citizen_sub else None,
        )

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
            reasons = _reasons(exc)  # puts: payment, [idempotency]; then the dossier update
            if idempotency is not None and _failed(reasons, 1):
                raise IdempotencyConflictError() from None
            if _failed(reasons, 2 if idempotency is not None else 1):
                raise NoticeBusyError() from None
            if _transient(reasons):
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

    def record_paid(self, payment: Payment, expected: Payment, receipt: Receipt, counter_was: int, year: int) -> None:
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
        except TransactWriteError as exc:
            reasons = _reasons(exc)  # puts: payment, receipt, counter; then the dossier update
            if _failed(reasons, 3) and not any(_failed(reasons, i) for i in (0, 1, 2)):
                raise NoticeAlreadyPaidError() from None
            if _CONDITION in reasons or _transient(reasons):
                raise ConcurrentUpdateError(payment.payment_id) from None
            raise

    def record_double_payment(self, payment: Payment, expected: Payment) -> None:
        it = self._item
        try:
            with TransactWrite(connection=it._get_connection().connection) as tx:
                tx.save(self._payment_item(payment), condition=(it.rev == expected.rev) & (it.state == expected.state.value))
                tx.save(self._anomaly("DOUBLE_PAYMENT", payment.payment_id, {
                    "dossier_code": payment.dossier_code, "notice_number": payment.notice_number,
                    "amount_vnd": payment.amount_vnd, "bank_txn_ref": payment.bank_txn_ref}))
        except TransactWriteError as exc:
            reasons = _reasons(exc)
            if _CONDITION in reasons or _transient(reasons):
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
            reasons = _reasons(exc)
            if _failed(reasons, 0) or _transient(reasons):
                raise ConcurrentUpdateError(payment.payment_id) from None
            if not _failed(reasons, 1):
                raise
        # The notice is no longer held by this payment (claimed anew after expiry): only the payment moves.
        try:
            self._payment_item(payment).save(condition=(it.rev == expected.rev) & (it.state == expected.state.value))
        except PutError as exc:
            if _conditional(exc):
                raise ConcurrentUpdateError(payment.payment_id) from None
            raise

    def _anomaly(self, kind: str, payment_id: str, details: dict[str, Any]):
        return self._item(f"ANOM#{payment_id or 'UNKNOWN'}", new_ulid(), kind="anomaly", state=kind,
                          doc=json.dumps(details, ensure_ascii=False, default=str),
                          gsi1pk=f"ANOMALY#{kind}", gsi1sk=new_ulid())

    def record_anomaly(self, kind: str, payment_id: str, details: dict[str, Any]) -> None:
        self._anomaly(kind, payment_id[:80], details).save()

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


# -- delivery state (M6) ----------------------------------------------------------------------------------------------

def _s(value: str) -> dict:
    return {"S": value}


class DynamoDeliveries:
    """Delivery state on the ledger items: the receipt item itself (RCPT#<id>/RECEIPT) for receipts, an item
    NTC#<dossier:notice:vN>/DELIVERY for notices. gsi1: DELIVERY#<state> / <province>#<time>, so per-province counts
    are begins_with queries, the sweeper reads the PENDING partition, and "failing since" is the first FAILING item.
    Every outcome is one UpdateItem (no read before it)."""

    def __init__(self, settings: Settings) -> None:
        self._settings, self._table, self._client = settings, settings.ledger_table, None

    @property
    def _ddb(self):
        if self._client is None:
            self._client = models(self._settings)[1]._get_connection().connection.client
        return self._client

    @staticmethod
    def _key(delivery) -> dict:
        from chalicelib.provinces.domain.delivery import RECEIPT

        if delivery.kind == RECEIPT:
            return {"pk": _s(f"RCPT#{delivery.subject_id}"), "sk": _s(RECEIPT_SK)}
        return {"pk": _s(f"NTC#{delivery.subject_id}"), "sk": _s("DELIVERY")}

    def _update(self, delivery, sets: list[str], values: dict, condition: str, removes: str = "") -> bool:
        from chalicelib.provinces.domain.delivery import RECEIPT

        if delivery.kind != RECEIPT:  # notice items are created by their first outcome
            sets += ["kind = if_not_exists(kind, :kind)", "doc = if_not_exists(doc, :doc)", "province = :prov"]
            values |= {":kind": _s("notice_delivery"), ":doc": _s(json.dumps(delivery.doc, ensure_ascii=False)),
                       ":prov": _s(delivery.province)}
        else:
            condition = f"attribute_exists(pk) AND ({condition})" if condition else "attribute_exists(pk)"
        expression = "SET " + ", ".join(sets) + (f" REMOVE {removes}" if removes else "")
        if ":one" in values:
            expression += " ADD attempts :one"
        kwargs = {"ConditionExpression": condition} if condition else {}
        try:
            self._ddb.update_item(TableName=self._table, Key=self._key(delivery), UpdateExpression=expression,
                                  ExpressionAttributeNames={"#state": "state"}, ExpressionAttributeValues=values,
                                  **kwargs)
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def mark_delivered(self, delivery, at: str) -> None:
        self._update(delivery, ["#state = :st", "gsi1pk = :gpk", "gsi1sk = :gsk", "delivered_at = :at"],
                     {":st": _s("DELIVERED"), ":gpk": _s("DELIVERY#DELIVERED"), ":gsk": _s(f"{delivery.province}#{at}"),
                      ":at": _s(at), ":one": {"N": "1"}}, "", removes="next_attempt_at")

    def mark_failed(self, delivery, *, error: str, at: str, first_attempt_at: str, next_attempt_at: str | None,
                    dead: bool) -> None:
        state = "DEAD" if dead else "FAILING"
        sets = ["#state = :st", "gsi1pk = :gpk", "gsi1sk = :gsk", "last_error = :err", "last_attempt_at = :at",
                "first_failed_at = if_not_exists(first_failed_at, :first)"]
        values = {":st": _s(state), ":gpk": _s(f"DELIVERY#{state}"), ":gsk": _s(f"{delivery.province}#{first_attempt_at}"),
                  ":err": _s(error[:300]), ":at": _s(at), ":first": _s(first_attempt_at), ":one": {"N": "1"},
                  ":delivered": _s("DELIVERED")}
        removes = ""
        if next_attempt_at:
            sets.append("next_attempt_at = :next")
            values[":next"] = _s(next_attempt_at)
        else:
            removes = "next_attempt_at"
        # A duplicate message failing after another copy was delivered must not undo DELIVERED.
        self._update(delivery, sets, values, "attribute_not_exists(#state) OR #state <> :delivered", removes)

    def _count(self, state: str, province: str) -> int:
        total, start = 0, None
        while True:
            page = self._ddb.query(TableName=self._table, IndexName="gsi1", Select="COUNT",
                                   KeyConditionExpression="gsi1pk = :p AND begins_with(gsi1sk, :prov)",
                                   ExpressionAttributeValues={":p": _s(f"DELIVERY#{state}"), ":prov": _s(province + "#")},
                                   **({"ExclusiveStartKey": start} if start else {}))
            total += page.get("Count", 0)
            start = page.get("LastEvaluatedKey")
            if not start:
                return total

    def counts(self, province: str) -> dict[str, int]:
        from chalicelib.provinces.domain.delivery import STATES

        return {state: self._count(state, province) for state in STATES}

    def oldest_open_failure(self, province: str) -> str | None:
        found = []
        for state in ("FAILING", "DEAD"):
            page = self._ddb.query(TableName=self._table, IndexName="gsi1", Limit=1,
                                   KeyConditionExpression="gsi1pk = :p AND begins_with(gsi1sk, :prov)",
                                   ExpressionAttributeValues={":p": _s(f"DELIVERY#{state}"), ":prov": _s(province + "#")})
            found += [i["gsi1sk"]["S"].split("#", 1)[1] for i in page.get("Items", [])]
        return min(found, key=lambda t: datetime.fromisoformat(t)) if found else None

    def _deliveries(self, state: str, prefix: str = "", limit: int = 1000) -> list[tuple[Any, str]]:
        from chalicelib.provinces.domain.delivery import Delivery, NOTICE, receipt_delivery

        out, start = [], None
        condition, values = "gsi1pk = :p", {":p": _s(f"DELIVERY#{state}")}
        if prefix:
            condition += " AND begins_with(gsi1sk, :prov)"
            values[":prov"] = _s(prefix)
        while len(out) < limit:
            page = self._ddb.query(TableName=self._table, IndexName="gsi1", KeyConditionExpression=condition,
                                   ExpressionAttributeValues=values, **({"ExclusiveStartKey": start} if start else {}))
            for item in page.get("Items", []):
                province, _, since = item["gsi1sk"]["S"].partition("#")
                doc = json.loads(item["doc"]["S"])
                if item["pk"]["S"].startswith("NTC#"):
                    delivery = Delivery(NOTICE, item["pk"]["S"][4:], province, doc)
                else:
                    delivery = receipt_delivery(doc)
                out.append((delivery, since))
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        return out[:limit]

    def stale_pending(self, cutoff_iso: str, limit: int = 500) -> list:
        cutoff = datetime.fromisoformat(cutoff_iso)
        return [d for d, since in self._deliveries("PENDING", limit=limit * 4)
                if datetime.fromisoformat(since) < cutoff][:limit]

    def mark_swept(self, delivery, at: str) -> None:
        self._update(delivery, ["gsi1sk = :gsk", "swept_at = :at"],
                     {":gsk": _s(f"{delivery.province}#{at}"), ":at": _s(at), ":pending": _s("PENDING")},
                     "#state = :pending")

    def dead(self, province: str, limit: int = 1000) -> list:
        return [d for d, _ in self._deliveries("DEAD", province + "#", limit)]

    def reset_to_pending(self, delivery, at: str) -> bool:
        return self._update(delivery, ["#state = :st", "gsi1pk = :gpk", "gsi1sk = :gsk", "redriven_at = :at"],
                            {":st": _s("PENDING"), ":gpk": _s("DELIVERY#PENDING"), ":gsk": _s(f"{delivery.province}#{at}"),
                             ":at": _s(at), ":dead": _s("DEAD")}, "#state = :dead", removes="next_attempt_at")

    def delivery_state(self, delivery) -> dict[str, Any] | None:
        item = self._ddb.get_item(TableName=self._table, Key=self._key(delivery), ConsistentRead=True).get("Item")
        if not item:
            return None
        out: dict[str, Any] = {}
        for name in ("state", "last_error", "first_failed_at", "last_attempt_at", "next_attempt_at", "delivered_at",
                     "swept_at", "redriven_at"):
            if name in item:
                out[name] = item[name]["S"]
        out["attempts"] = int(item.get("attempts", {}).get("N", "0"))
        return out
