"""The portal's side of a bank's settlement day, read from the ledger: the day index (gsi3, one Query page holds
thousands of payments: only the projected attributes) and, for the rare line outside it, one payment by id."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from chalicelib.aws.clients import client
from chalicelib.payments.domain.payments import Payment
from chalicelib.reconciliation.domain.matching import PortalPayment
from chalicelib.reconciliation.ports import PortalLookup

if TYPE_CHECKING:
    from chalicelib.config import Settings


def _moment(raw: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None


class DynamoPortalDay:
    def __init__(self, settings: Settings) -> None:
        self._settings, self._table = settings, settings.ledger_table
        self.calls = 0  # DynamoDB requests made (the benchmark reports them per 1,000 lines)

    @property
    def _ddb(self):
        return client("dynamodb", self._settings.region)

    def paid_on(self, bank_code: str, day: date) -> dict[str, PortalPayment]:
        out: dict[str, PortalPayment] = {}
        start = None
        while True:
            self.calls += 1
            got = self._ddb.query(TableName=self._table, IndexName="gsi3", KeyConditionExpression="gsi3pk = :d",
                                  ExpressionAttributeValues={":d": {"S": f"DAY#{bank_code}#{day.isoformat()}"}},
                                  **({"ExclusiveStartKey": start} if start else {}))
            for item in got.get("Items", []):
                payment_id = item["gsi3sk"]["S"]
                out[payment_id] = PortalPayment(
                    payment_id, item.get("state", {}).get("S", "PAID"), int(item["amount_vnd"]["N"]),
                    item.get("bank_txn_ref", {}).get("S"), _moment(item.get("paid_at", {}).get("S")))
            start = got.get("LastEvaluatedKey")
            if not start:
                return out

    def lookup(self, payment_id: str) -> PortalLookup | None:
        self.calls += 1
        item = self._ddb.get_item(TableName=self._table, ConsistentRead=True,
                                  Key={"pk": {"S": f"PAY#{payment_id}"}, "sk": {"S": "PAYMENT"}}).get("Item")
        if not item:
            return None
        p = Payment.model_validate_json(item["doc"]["S"])
        return PortalLookup(PortalPayment(p.payment_id, p.state.value, p.amount_vnd, p.bank_txn_ref,
                                          _moment(p.paid_at), p.test), p.bank_code)
