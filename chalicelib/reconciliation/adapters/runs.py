"""Reconciliation runs as ledger items (low-level DynamoDB client: conditional writes and transactions here only).

  RECONRUN#<run id> / RUN            the run (doc), state = status, rev = attempt; gsi1 RECONRUNS / <day>#<bank>#<id>
  RECONRUN#<run id> / D#<key>        a discrepancy (doc), state OPEN | RESOLVED, cat = its category
  RECONRUN#<run id> / AUDIT#<ulid>   who resolved what, when, with which note
  RECON#<bank>#<day> / FILE#<sha256> the file's claim: ref = the run of that file (a re-run takes it over)
  RECON#<bank>#<day> / CURRENT       ref = the day's current run (the last completed)
  RECON#<bank>#<day> / ALERT#<kind>  an alert raised once for the bank and day (late file)
"""
from __future__ import annotations

import base64
import contextlib
import json
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from chalicelib.aws.clients import client
from chalicelib.core.clock import new_ulid
from chalicelib.core.validation import RuleError
from chalicelib.reconciliation.domain.matching import Category, PortalPayment
from chalicelib.reconciliation.domain.runs import Discrepancy, DiscrepancyStatus, Resolution, Run, RunStatus
from chalicelib.reconciliation.ports import DiscrepancyResolvedError, Page, RunConflictError

if TYPE_CHECKING:
    from chalicelib.config import Settings

RUNS_INDEX = "RECONRUNS"
ALERT_TTL_S = 40 * 86400


def _s(value: str) -> dict:
    return {"S": value}


def _n(value: int) -> dict:
    return {"N": str(value)}


def _day_pk(bank_code: str, day: date) -> dict:
    return _s(f"RECON#{bank_code}#{day.isoformat()}")


def _run_key(run_id: str) -> dict:
    return {"pk": _s(f"RECONRUN#{run_id}"), "sk": _s("RUN")}


def encode_cursor(key: Mapping[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, partition: str) -> dict | None:
    """A cursor is a position inside the partition being read, nothing else (InvalidValueError otherwise)."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        values = [v["S"] for v in key.values()]
    except (ValueError, TypeError, KeyError, AttributeError):
        key, values = None, []
    if not isinstance(key, dict) or partition not in values or len(key) > 4:
        raise RuleError("CURSOR_INVALID", "Con trỏ trang (cursor) không hợp lệ.")
    return key


class DynamoRunStore:
    def __init__(self, settings: Settings, outbox=None) -> None:
        self._settings, self._table, self._outbox = settings, settings.ledger_table, outbox
        self._client = None

    @property
    def _ddb(self):
        if self._client is None:
            self._client = client("dynamodb", self._settings.region)
        return self._client

    # -- items --------------------------------------------------------------------------------------------------
    def _run_item(self, run: Run) -> dict:
        return {**_run_key(run.run_id), "kind": _s("recon_run"), "state": _s(run.status.value), "rev": _n(run.attempt),
                "bank": _s(run.bank_code), "lease_until": _n(run.lease_until), "doc": _s(run.model_dump_json()),
                "gsi1pk": _s(RUNS_INDEX),
                "gsi1sk": _s(f"{run.settlement_date.isoformat()}#{run.bank_code}#{run.run_id}")}

    def _intent_puts(self, intents) -> list[dict]:
        if not intents:
            return []
        return [{"Put": {"TableName": self._table, "Item": item.serialize()}} for item in self._outbox.items(intents)]

    def _transact(self, items: list[dict]) -> None:
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except self._ddb.exceptions.TransactionCanceledException as exc:
            raise RunConflictError(str(exc)) from None

    # -- runs ---------------------------------------------------------------------------------------------------
    def find_by_file(self, bank_code: str, day: date, sha256: str) -> Run | None:
        item = self._ddb.get_item(TableName=self._table, ConsistentRead=True,
                                  Key={"pk": _day_pk(bank_code, day), "sk": _s(f"FILE#{sha256}")}).get("Item")
        return self.get(item["ref"]["S"]) if item else None

    def create(self, run: Run, replace_file_claim: bool = False, intents=()) -> None:
        claim: dict[str, Any] = {"TableName": self._table, "Item": {
            "pk": _day_pk(run.bank_code, run.settlement_date), "sk": _s(f"FILE#{run.sha256}"),
            "kind": _s("recon_file"), "ref": _s(run.run_id)}}
        if not replace_file_claim:
            claim["ConditionExpression"] = "attribute_not_exists(pk)"
        self._transact([{"Put": claim},
                        {"Put": {"TableName": self._table, "Item": self._run_item(run),
                                 "ConditionExpression": "attribute_not_exists(pk)"}},
                        *self._intent_puts(intents)])

    def take_over(self, run: Run, now_epoch: int, lease_until: int) -> Run | None:
        taken = run.model_copy(update={"status": RunStatus.RUNNING, "attempt": run.attempt + 1,
                                       "lease_until": lease_until, "error": None})
        try:
            self._ddb.put_item(
                TableName=self._table, Item=self._run_item(taken),
                ConditionExpression="rev = :rev AND (#st = :failed OR (#st = :running AND lease_until < :now))",
                ExpressionAttributeNames={"#st": "state"},
                ExpressionAttributeValues={":rev": _n(run.attempt), ":failed": _s(RunStatus.FAILED.value),
                                           ":running": _s(RunStatus.RUNNING.value), ":now": _n(now_epoch)})
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return None
        return taken

    def fail(self, run: Run) -> None:
        # Someone else holding or having finished it: their record stands.
        with contextlib.suppress(self._ddb.exceptions.ConditionalCheckFailedException):
            self._ddb.put_item(TableName=self._table, Item=self._run_item(run),
                               ConditionExpression="rev = :rev AND #st = :running",
                               ExpressionAttributeNames={"#st": "state"},
                               ExpressionAttributeValues={":rev": _n(run.attempt),
                                                          ":running": _s(RunStatus.RUNNING.value)})

    def complete(self, run: Run, intents=()) -> Run:
        day_pk = _day_pk(run.bank_code, run.settlement_date)
        current: dict[str, Any] = {"TableName": self._table, "Item": {
            "pk": day_pk, "sk": _s("CURRENT"), "kind": _s("recon_current"), "ref": _s(run.run_id)}}
        if run.supersedes:
            current |= {"ConditionExpression": "#ref = :old", "ExpressionAttributeNames": {"#ref": "ref"},
                        "ExpressionAttributeValues": {":old": _s(run.supersedes)}}
        else:
            current["ConditionExpression"] = "attribute_not_exists(pk)"
        items = [{"Put": {"TableName": self._table, "Item": self._run_item(run.model_copy(update={"lease_until": 0})),
                          "ConditionExpression": "rev = :rev AND #st = :running",
                          "ExpressionAttributeNames": {"#st": "state"},
                          "ExpressionAttributeValues": {":rev": _n(run.attempt),
                                                        ":running": _s(RunStatus.RUNNING.value)}}},
                 {"Put": current}, *self._intent_puts(intents)]
        old = self.get(run.supersedes) if run.supersedes else None
        if old is not None:
            items.append({"Put": {"TableName": self._table,
                                  "Item": self._run_item(old.model_copy(update={"superseded_by": run.run_id}))}})
        self._transact(items)
        return run

    def get(self, run_id: str) -> Run | None:
        item = self._ddb.get_item(TableName=self._table, Key=_run_key(run_id), ConsistentRead=True).get("Item")
        return _run(item) if item else None

    def current(self, bank_code: str, day: date) -> Run | None:
        item = self._ddb.get_item(TableName=self._table, ConsistentRead=True,
                                  Key={"pk": _day_pk(bank_code, day), "sk": _s("CURRENT")}).get("Item")
        return self.get(item["ref"]["S"]) if item else None

    def files_seen(self, bank_code: str, day: date) -> int:
        page = self._ddb.query(TableName=self._table, Select="COUNT", ConsistentRead=True,
                               KeyConditionExpression="pk = :pk AND begins_with(sk, :file)",
                               ExpressionAttributeValues={":pk": _day_pk(bank_code, day), ":file": _s("FILE#")})
        return int(page.get("Count", 0))

    def list_runs(self, filters: Mapping[str, Any], limit: int, cursor: str | None) -> Page:
        low = filters["date_from"].isoformat() if filters.get("date_from") else "0"
        high = filters["date_to"].isoformat() + "#~" if filters.get("date_to") else "~"
        conditions, values = [], {":p": _s(RUNS_INDEX), ":lo": _s(low), ":hi": _s(high)}
        if filters.get("bank_code"):
            conditions.append("bank = :bank")
            values[":bank"] = _s(filters["bank_code"])
        if filters.get("status"):
            conditions.append("#st = :st")
            values[":st"] = _s(filters["status"])
        return self._page(dict(IndexName="gsi1", KeyConditionExpression="gsi1pk = :p AND gsi1sk BETWEEN :lo AND :hi",
                               ScanIndexForward=False), conditions, values, limit, cursor, RUNS_INDEX, _run)

    def _page(self, query: dict, conditions: list[str], values: dict, limit: int, cursor: str | None,
              partition: str, read) -> Page:
        """One page of ``limit`` items or fewer; filtered reads go on until the page is full or the end."""
        start, out = decode_cursor(cursor, partition), []
        extra: dict[str, Any] = {"FilterExpression": " AND ".join(conditions)} if conditions else {}
        if any("#st" in c for c in conditions):
            extra["ExpressionAttributeNames"] = {"#st": "state"}
        while True:
            got = self._ddb.query(TableName=self._table, ExpressionAttributeValues=values, Limit=limit - len(out),
                                  **query, **extra, **({"ExclusiveStartKey": start} if start else {}))
            out += [read(item) for item in got.get("Items", [])]
            start = got.get("LastEvaluatedKey")
            if not start or len(out) >= limit:
                return Page(out, encode_cursor(start))

    # -- discrepancies ------------------------------------------------------------------------------------------
    def _discrepancy_item(self, d: Discrepancy) -> dict:
        return {"pk": _s(f"RECONRUN#{d.run_id}"), "sk": _s(f"D#{d.key}"), "kind": _s("recon_discrepancy"),
                "state": _s(d.status.value), "cat": _s(d.category.value), "doc": _s(d.model_dump_json())}

    def put_discrepancies(self, items: Sequence[Discrepancy]) -> None:
        self._batch([{"PutRequest": {"Item": self._discrepancy_item(d)}} for d in items])

    def _batch(self, requests: list[dict]) -> None:
        for start in range(0, len(requests), 25):
            pending = {self._table: requests[start:start + 25]}
            for _ in range(8):  # unprocessed items come back under throttling: send them again
                pending = self._ddb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
            else:
                raise RuntimeError("discrepancies not written (throttled)")

    def clear_discrepancies(self, run_id: str) -> None:
        keys, start = [], None
        while True:
            got = self._ddb.query(TableName=self._table, ProjectionExpression="pk, sk",
                                  KeyConditionExpression="pk = :pk AND begins_with(sk, :d)",
                                  ExpressionAttributeValues={":pk": _s(f"RECONRUN#{run_id}"), ":d": _s("D#")},
                                  **({"ExclusiveStartKey": start} if start else {}))
            keys += got.get("Items", [])
            start = got.get("LastEvaluatedKey")
            if not start:
                break
        self._batch([{"DeleteRequest": {"Key": key}} for key in keys])

    def list_discrepancies(self, run_id: str, filters: Mapping[str, Any], limit: int, cursor: str | None) -> Page:
        conditions, values = [], {":pk": _s(f"RECONRUN#{run_id}"), ":d": _s("D#")}
        if filters.get("category"):
            conditions.append("cat = :cat")
            values[":cat"] = _s(filters["category"])
        if filters.get("status"):
            conditions.append("#st = :st")
            values[":st"] = _s(filters["status"])
        return self._page(dict(KeyConditionExpression="pk = :pk AND begins_with(sk, :d)", ConsistentRead=True),
                          conditions, values, limit, cursor, f"RECONRUN#{run_id}", _discrepancy)

    def pending_of(self, run_id: str) -> dict[str, PortalPayment]:
        out, start = {}, None
        while True:
            got = self._ddb.query(TableName=self._table, KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
                                  FilterExpression="cat = :cat", ConsistentRead=True,
                                  ExpressionAttributeValues={":pk": _s(f"RECONRUN#{run_id}"), ":p": _s("D#P"),
                                                             ":cat": _s(Category.PENDING_NEXT_DAY.value)},
                                  **({"ExclusiveStartKey": start} if start else {}))
            for item in got.get("Items", []):
                d = _discrepancy(item)
                out[d.payment_id] = PortalPayment(d.payment_id, d.portal_state or "PAID", d.portal_amount_vnd or 0,
                                                  d.bank_txn_ref, d.paid_at)
            start = got.get("LastEvaluatedKey")
            if not start:
                return out

    def resolve(self, run_id: str, key: str, by: str, at: datetime, note: str) -> Discrepancy:
        item_key = {"pk": _s(f"RECONRUN#{run_id}"), "sk": _s(f"D#{key}")}
        item = self._ddb.get_item(TableName=self._table, Key=item_key, ConsistentRead=True).get("Item")
        if not item:
            raise KeyError(key)
        found = _discrepancy(item)
        if found.status is DiscrepancyStatus.RESOLVED:
            raise DiscrepancyResolvedError(found)
        done = found.model_copy(update={"status": DiscrepancyStatus.RESOLVED,
                                        "resolution": Resolution(by=by, at=at, note=note)})
        audit = {"pk": _s(f"RECONRUN#{run_id}"), "sk": _s(f"AUDIT#{new_ulid()}"), "kind": _s("recon_audit"),
                 "doc": _s(json.dumps({"action": "RESOLVED", "key": key, "by": by, "at": at.isoformat(),
                                       "note": note}, ensure_ascii=False))}
        try:
            self._transact([{"Put": {"TableName": self._table, "Item": self._discrepancy_item(done),
                                     "ConditionExpression": "#st = :open", "ExpressionAttributeNames": {"#st": "state"},
                                     "ExpressionAttributeValues": {":open": _s(DiscrepancyStatus.OPEN.value)}}},
                            {"Put": {"TableName": self._table, "Item": audit}}])
        except RunConflictError:  # resolved by someone else between our read and our write
            raise DiscrepancyResolvedError(self._reread(item_key)) from None
        return done

    def _reread(self, key: dict) -> Discrepancy:
        return _discrepancy(self._ddb.get_item(TableName=self._table, Key=key, ConsistentRead=True)["Item"])

    def audit(self, run_id: str) -> list[dict]:
        got = self._ddb.query(TableName=self._table, KeyConditionExpression="pk = :pk AND begins_with(sk, :a)",
                              ExpressionAttributeValues={":pk": _s(f"RECONRUN#{run_id}"), ":a": _s("AUDIT#")})
        return [json.loads(i["doc"]["S"]) for i in got.get("Items", [])]

    def first_alert(self, kind: str, bank_code: str, day: date, intents: Iterable) -> bool:
        from chalicelib.core.clock import epoch

        marker = {"pk": _day_pk(bank_code, day), "sk": _s(f"ALERT#{kind}"), "kind": _s("recon_alert"),
                  "ttl": _n(epoch(datetime.now()) + ALERT_TTL_S)}
        try:
            self._transact([{"Put": {"TableName": self._table, "Item": marker,
                                     "ConditionExpression": "attribute_not_exists(pk)"}},
                            *self._intent_puts(list(intents))])
        except RunConflictError:
            return False
        return True


def _run(item: dict) -> Run:
    return Run.model_validate_json(item["doc"]["S"])


def _discrepancy(item: dict) -> Discrepancy:
    return Discrepancy.model_validate_json(item["doc"]["S"])
