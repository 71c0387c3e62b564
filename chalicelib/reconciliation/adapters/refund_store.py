"""Refunds as ledger items (ports.RefundStore), written in one transaction with their payment's summary of them.

Item: ``RFD#<refund id> / REFUND``, kind ``refund``, ``state``, ``rev``, ``doc`` (the refund as JSON, audit trail
included), ``ref`` = the payment id and ``bank_code`` (filterable without opening the doc), gsi1
``REFUNDS#<state> / <requested at>#<refund id>``: the operators' lists by state, and the schedule's list of approved
refunds to send again. The payment item is rewritten with the refund's summary, conditional on its rev, by the same
transaction: the amount rule and the citizen's history see one truth.
"""
from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any, Sequence

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.aws.tables import cancellation_reasons, models
from chalicelib.outbox.domain import Intent
from chalicelib.payments.adapters.dynamo import payment_item
from chalicelib.payments.domain.payments import Payment
from chalicelib.reconciliation.domain.refunds import Refund, RefundState
from chalicelib.reconciliation.ports import RefundConflictError

if TYPE_CHECKING:
    from chalicelib.config import Settings

SK = "REFUND"
INDEX = "REFUNDS#"


class DynamoRefunds:
    def __init__(self, settings: Settings, outbox: Any) -> None:
        _, self._item = models(settings)
        self._shards = settings.live_index_shards
        self._outbox = outbox

    def save(self, refund: Refund, expected_rev: int | None, payment: Payment | None = None,
             expected_payment: Payment | None = None, intents: Sequence[Intent] = ()) -> None:
        m = self._item
        condition = m.pk.does_not_exist() if expected_rev is None else (m.rev == expected_rev)
        try:
            with TransactWrite(connection=m._get_connection().connection) as tx:
                tx.save(self._refund_item(refund), condition=condition)
                if payment is not None and expected_payment is not None:
                    tx.save(payment_item(m, payment, self._shards),
                            condition=(m.rev == expected_payment.rev) & (m.state == expected_payment.state.value))
                for item in self._outbox.items(intents) if intents else ():
                    tx.save(item)
        except TransactWriteError as error:
            if not cancellation_reasons(error):
                raise  # not a cancelled transaction (validation, throttling after retries...): not ours to decide
            raise RefundConflictError(refund.refund_id) from None

    def get(self, refund_id: str) -> Refund | None:
        try:
            item = self._item.get(f"RFD#{refund_id}", SK, consistent_read=True)
        except DoesNotExist:
            return None
        return Refund.model_validate_json(item.doc)

    def list(self, state: RefundState, bank_code: str | None, payment_id: str | None, limit: int,
             cursor: str | None) -> tuple[list[Refund], str | None]:
        m, partition = self._item, f"{INDEX}{state.value}"
        start = _decode_cursor(cursor, partition) if cursor else None
        condition = None
        if bank_code:
            condition = m.bank_code == bank_code
        if payment_id:
            condition = (m.ref == payment_id) if condition is None else condition & (m.ref == payment_id)
        results = m.gsi1.query(partition, filter_condition=condition, scan_index_forward=False, limit=limit,
                               last_evaluated_key=start)
        refunds = [Refund.model_validate_json(i.doc) for i in results if i.kind == "refund"]
        last = results.last_evaluated_key
        return refunds, (_encode_cursor(last) if last else None)

    def approved(self, limit: int) -> list[Refund]:
        results = self._item.gsi1.query(f"{INDEX}{RefundState.APPROVED.value}", limit=limit)
        return [Refund.model_validate_json(i.doc) for i in results if i.kind == "refund"]

    def _refund_item(self, refund: Refund):
        return self._item(f"RFD#{refund.refund_id}", SK, kind="refund", state=refund.state.value, rev=refund.rev,
                          doc=refund.model_dump_json(), ref=refund.payment_id, bank_code=refund.bank_code,
                          gsi1pk=f"{INDEX}{refund.state.value}", gsi1sk=f"{refund.requested_at}#{refund.refund_id}")


def _encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, partition: str) -> dict[str, Any]:
    """A cursor is only ever a position inside the list asked for: anything else is refused (ValueError)."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise ValueError("cursor") from None
    if not isinstance(key, dict) or set(key) != {"pk", "sk", "gsi1pk", "gsi1sk"} \
            or key["gsi1pk"] != {"S": partition} or not all(isinstance(v, dict) and set(v) == {"S"} and
                                                            isinstance(v["S"], str) for v in key.values()):
        raise ValueError("cursor")
    return key
