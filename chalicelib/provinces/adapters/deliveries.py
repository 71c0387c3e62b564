"""Delivery state (M6) on the ledger table's items: the receipt item itself for receipts, one item per notice
version for notices. Every outcome is one UpdateItem, never a read before it."""
from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.aws.clients import client

if TYPE_CHECKING:
    from chalicelib.config import Settings

RECEIPT_SK = "RECEIPT"  # the receipt item's sort key (written by the payments ledger)


def _s(value: str) -> dict:
    return {"S": value}


class DynamoDeliveries:
    """Delivery state on the ledger items: the receipt item itself (RCPT#<id>/RECEIPT) for receipts, an item
    NTC#<dossier:notice:vN>/DELIVERY for notices. gsi1: DELIVERY#<state> / <province>#<time>, so per-province counts
    are begins_with queries, the sweeper reads the PENDING partition, and "failing since" is the first FAILING item.
    Every outcome is one UpdateItem (no read before it)."""

    def __init__(self, settings: Settings, outbox=None) -> None:
        self._settings, self._table, self._client = settings, settings.ledger_table, None
        self._outbox = outbox  # builds the intent items written with a re-drive

    @property
    def _ddb(self):
        if self._client is None:
            self._client = client("dynamodb", self._settings.region)
        return self._client

    @staticmethod
    def _key(delivery) -> dict:
        from chalicelib.provinces.domain.delivery import RECEIPT

        if delivery.kind == RECEIPT:
            return {"pk": _s(f"RCPT#{delivery.subject_id}"), "sk": _s(RECEIPT_SK)}
        return {"pk": _s(f"NTC#{delivery.subject_id}"), "sk": _s("DELIVERY")}

    def _update(self, delivery, sets: list[str], values: dict, condition: str, removes: str = "",
                intents=()) -> bool:
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
        update = {"TableName": self._table, "Key": self._key(delivery), "UpdateExpression": expression,
                  "ExpressionAttributeNames": {"#state": "state"}, "ExpressionAttributeValues": values,
                  **({"ConditionExpression": condition} if condition else {})}
        intents = list(intents)
        try:
            if intents:  # the change and what it sends commit together
                self._ddb.transact_write_items(TransactItems=[{"Update": update}, *self._outbox.transact_puts(intents)])
            else:
                self._ddb.update_item(**update)
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        except self._ddb.exceptions.TransactionCanceledException as exc:
            if exc.response.get("CancellationReasons", [{}])[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
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

    def _count(self, state: str, province: str, kind: str | None = None) -> int:
        total, start = 0, None
        # Receipts live on RCPT# items, notices on NTC# items: a kind is a filter on the same index page.
        prefix = {"receipt": "RCPT#", "notice": "NTC#"}.get(kind or "")
        extra = ({"FilterExpression": "begins_with(pk, :kind)"} if prefix else {})
        values = {":p": _s(f"DELIVERY#{state}"), ":prov": _s(province + "#"), **({":kind": _s(prefix)} if prefix else {})}
        while True:
            page = self._ddb.query(TableName=self._table, IndexName="gsi1", Select="COUNT",
                                   KeyConditionExpression="gsi1pk = :p AND begins_with(gsi1sk, :prov)",
                                   ExpressionAttributeValues=values, **extra,
                                   **({"ExclusiveStartKey": start} if start else {}))
            total += page.get("Count", 0)
            start = page.get("LastEvaluatedKey")
            if not start:
                return total

    def counts(self, province: str, kind: str | None = None) -> dict[str, int]:
        from chalicelib.provinces.domain.delivery import STATES

        return {state: self._count(state, province, kind) for state in STATES}

    def oldest_open_failure(self, province: str) -> str | None:
        found = []
        for state in ("FAILING", "DEAD"):
            page = self._ddb.query(TableName=self._table, IndexName="gsi1", Limit=1,
                                   KeyConditionExpression="gsi1pk = :p AND begins_with(gsi1sk, :prov)",
                                   ExpressionAttributeValues={":p": _s(f"DELIVERY#{state}"), ":prov": _s(province + "#")})
            found += [i["gsi1sk"]["S"].split("#", 1)[1] for i in page.get("Items", [])]
        return min(found, key=lambda t: datetime.fromisoformat(t)) if found else None

    def _deliveries(self, state: str, prefix: str = "", limit: int = 1000) -> list[tuple[Any, str]]:
        from chalicelib.provinces.domain.delivery import NOTICE, Delivery, receipt_delivery

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

    def reset_to_pending(self, delivery, at: str, intents=()) -> bool:
        return self._update(delivery, ["#state = :st", "gsi1pk = :gpk", "gsi1sk = :gsk", "redriven_at = :at"],
                            {":st": _s("PENDING"), ":gpk": _s("DELIVERY#PENDING"), ":gsk": _s(f"{delivery.province}#{at}"),
                             ":at": _s(at), ":dead": _s("DEAD")}, "#state = :dead", removes="next_attempt_at",
                            intents=intents)

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
