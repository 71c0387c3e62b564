"""Delivery state (M6) on the ledger table's items: the receipt item itself for receipts, one item per notice
version for notices. Every outcome is one UpdateItem, never a read before it; an outcome that moves the province's
report figures (delivered, first failure, dead) is that update and the report tally in one transaction, conditional
on the transition, so a duplicate message never counts twice."""
from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.aws.clients import client
from chalicelib.aws.tallies import transact_update

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
                intents=(), tally=None, transition: str = "") -> bool:
        """The outcome's one write. With ``intents`` (what it sends) or a ``tally``: the write, the intents and the
        tally in one transaction, the tally only if ``transition`` (a condition) holds too; False when a condition
        failed (nothing written then)."""
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
        if transition:
            condition = f"({condition}) AND ({transition})" if condition else transition
        update = {"TableName": self._table, "Key": self._key(delivery), "UpdateExpression": expression,
                  "ExpressionAttributeNames": {"#state": "state"}, "ExpressionAttributeValues": values,
                  **({"ConditionExpression": condition} if condition else {})}
        intents = list(intents)
        try:
            if tally is None and not intents:
                self._ddb.update_item(**update)
            else:  # the change, what it sends and its report figure commit together
                self._ddb.transact_write_items(TransactItems=[
                    {"Update": update}, *(self._outbox.transact_puts(intents) if intents else ()),
                    *((transact_update(self._table, tally),) if tally is not None else ())])
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        except self._ddb.exceptions.TransactionCanceledException as exc:
            codes = {r.get("Code") for r in exc.response.get("CancellationReasons", [])}
            if codes - {None, "None", "ConditionalCheckFailed"}:
                raise  # a conflict, not a refusal: the message is retried
            return False
        return True

    def mark_delivered(self, delivery, at: str, tally=None) -> None:
        sets = ["#state = :st", "gsi1pk = :gpk", "gsi1sk = :gsk", "delivered_at = :at"]
        values = {":st": _s("DELIVERED"), ":gpk": _s("DELIVERY#DELIVERED"), ":gsk": _s(f"{delivery.province}#{at}"),
                  ":at": _s(at), ":one": {"N": "1"}}
        if tally is None:
            self._update(delivery, sets, values, "", removes="next_attempt_at")
            return
        # Counted once: a second copy of the message finds it DELIVERED already and writes nothing.
        self._update(delivery, sets, values, "", removes="next_attempt_at", tally=tally,
                     transition="attribute_not_exists(#state) OR #state <> :st")

    def mark_failed(self, delivery, *, error: str, at: str, first_attempt_at: str, next_attempt_at: str | None,
                    dead: bool, tally=None) -> None:
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
        condition = "attribute_not_exists(#state) OR #state <> :delivered"
        if tally is not None:
            # The first failure, or the move to DEAD, counts once; any other failure is the plain write below.
            transition = "#state <> :st" if dead else "attribute_not_exists(first_failed_at)"
            if self._update(delivery, list(sets), dict(values), condition, removes, tally=tally,
                            transition=transition):
                return
        self._update(delivery, sets, values, condition, removes)

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

    def page(self, province: str, state: str, kind: str | None, limit: int,
             cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        partition, prefix = f"DELIVERY#{state}", province + "#"
        start = _decode_cursor(cursor, partition, prefix) if cursor else None
        kind_prefix = {"receipt": "RCPT#", "notice": "NTC#"}.get(kind or "")
        values = {":p": _s(partition), ":prov": _s(prefix), **({":kind": _s(kind_prefix)} if kind_prefix else {})}
        extra = {"FilterExpression": "begins_with(pk, :kind)"} if kind_prefix else {}
        kept: list[dict] = []
        more = False
        while True:
            answer = self._ddb.query(TableName=self._table, IndexName="gsi1", ScanIndexForward=False, Limit=limit,
                                     KeyConditionExpression="gsi1pk = :p AND begins_with(gsi1sk, :prov)",
                                     ExpressionAttributeValues=values, **extra,
                                     **({"ExclusiveStartKey": start} if start else {}))
            items = answer.get("Items", [])
            kept += items[:limit - len(kept)]
            start = answer.get("LastEvaluatedKey")
            if len(kept) >= limit:
                more = bool(start) or len(items) > len(kept)
                break
            if not start:
                break
        next_cursor = _encode_cursor({k: kept[-1][k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")}) \
            if more and kept else None
        return [_item_view(i, state) for i in kept], next_cursor

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


def _item_view(item: dict, state: str) -> dict[str, Any]:
    """A ledger item as the delivery-health screen lists it: the subject and its delivery state, never the payer."""
    pk = item["pk"]["S"]
    doc = json.loads(item.get("doc", {}).get("S") or "{}")
    out: dict[str, Any] = {"kind": "notice" if pk.startswith("NTC#") else "receipt", "subject_id": pk.split("#", 1)[1],
                           "state": state, "since": item["gsi1sk"]["S"].partition("#")[2],
                           "attempts": int(item.get("attempts", {}).get("N", "0"))}
    if doc.get("dossier_code"):
        out["dossier_code"] = str(doc["dossier_code"])
    if doc.get("notice_number"):
        out["notice_number"] = str(doc["notice_number"])
    if out["kind"] == "receipt" and isinstance(doc.get("amount_vnd"), int):
        out["amount_vnd"] = doc["amount_vnd"]
    for name in ("last_error", "last_attempt_at", "next_attempt_at", "delivered_at", "redriven_at"):
        if name in item:
            out[name] = item[name]["S"]
    return out


def _encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, partition: str, prefix: str) -> dict[str, Any]:
    """A cursor is only ever a position inside the listing it came from (this state, this province)."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise ValueError("cursor") from None
    if not isinstance(key, dict) or set(key) != {"pk", "sk", "gsi1pk", "gsi1sk"} \
            or not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values()) \
            or key["gsi1pk"]["S"] != partition or not key["gsi1sk"]["S"].startswith(prefix) \
            or not key["pk"]["S"].startswith(("RCPT#", "NTC#")):
        raise ValueError("cursor")
    return key
