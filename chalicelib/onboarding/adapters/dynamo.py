"""Support requests and the provinces' integration progress in the directory table (low-level DynamoDB calls; the
items are JSON documents, conditions look at ``rev``).

Keys:
  SUPREQ#<id>            / REQ                the request (gsi1 SUPPORT#ALL / <filed ms>#<id>: every province)
  SUPPORT#U#<province>   / <filed ms>#<id>    its listing entry in the province's partition (kept in step with it)
  SUPREQ#<id>            / C#<ms>#<ulid>      a comment;  / A#<ms>#<ulid> an audit record (who, when, what)
  SUPREQ#<id>            / TIMER              while its clock runs: gsi1 SUPPORT#TIMERS / <due epoch>#<id>
  SUPPORT#REPORT         / <YYYY-MM>          monthly counters (handled, within the clock, late, cancelled)
  ONBOARD#<province>     / PROGRESS           the six steps' events and overrides (gsi1 ONBOARD#ALL / <province>)

Both listings carry the filter attributes (status, type, group, folded title and requester), so a page is one
query on a key range; a detail (request, comments, audit trail) is one query on the request's partition. Every
change writes the request, its listing entry, its audit record and its intents in one transaction.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Sequence

from chalicelib.aws.tables import directory_model
from chalicelib.core.clock import new_ulid
from chalicelib.onboarding.domain.requests import SupportRequest
from chalicelib.onboarding.domain.search import row, search_attributes, sort_key
from chalicelib.onboarding.ports import ConcurrentChangeError, ListPage

if TYPE_CHECKING:
    from chalicelib.config import Settings

ALL, TIMERS, REPORT = "SUPPORT#ALL", "SUPPORT#TIMERS", "SUPPORT#REPORT"
MAX_QUERIES_PER_PAGE = 3  # a filtered page reads at most this many query pages (then hands back a cursor)
FILTERED_READ = 100  # items evaluated per query when filters apply
_LIST_FIELDS = ("st", "rtype", "grp")
_TEXT_FIELDS = ("q_title", "q_req")


def _s(value: str) -> dict:
    return {"S": value}


def _n(value: int) -> dict:
    return {"N": str(value)}


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


class _Directory:
    def __init__(self, settings: Settings) -> None:
        self._settings, self._table, self._client = settings, settings.directory_table, None

    @property
    def _ddb(self):
        if self._client is None:  # share the botocore client pynamodb already made
            self._client = directory_model(self._settings)._get_connection().connection.client
        return self._client

    def _transact(self, items: list[dict]) -> None:
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except self._ddb.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise ConcurrentChangeError("changed concurrently") from None
            raise

    def _query_all(self, **kwargs) -> list[dict]:
        items, start = [], None
        while True:
            page = self._ddb.query(TableName=self._table, **kwargs, **({"ExclusiveStartKey": start} if start else {}))
            items += page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return items


class DynamoSupportRequests(_Directory):
    def __init__(self, settings: Settings, outbox) -> None:
        super().__init__(settings)
        self._outbox = outbox  # builds the intents written with each change

    # -- items ------------------------------------------------------------------------------------------------------
    def _put(self, item: dict, condition: str | None = None, values: dict | None = None) -> dict:
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        if condition:
            put["ConditionExpression"] = condition
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def _pair(self, request: SupportRequest) -> tuple[dict, dict]:
        key = sort_key(request.created_at, request.request_id)
        shared = {"row_doc": _s(json.dumps(row(request), ensure_ascii=False)),
                  **{k: _s(v) for k, v in search_attributes(request).items()}}
        main = {"pk": _s(f"SUPREQ#{request.request_id}"), "sk": _s("REQ"), "kind": _s("support_request"),
                "doc": _s(request.model_dump_json()), "rev": _n(request.rev), "gsi1pk": _s(ALL), "gsi1sk": _s(key),
                **shared}
        listing = {"pk": _s(f"SUPPORT#U#{request.unit_code}"), "sk": _s(key), "kind": _s("support_request_row"),
                   **shared}
        return main, listing

    def _child(self, request_id: str, prefix: str, record: dict) -> dict:
        sk = f"{prefix}#{_ms(record['at']):013d}#{new_ulid()}"
        return self._put({"pk": _s(f"SUPREQ#{request_id}"), "sk": _s(sk), "kind": _s(f"support_{prefix}"),
                          "doc": _s(json.dumps(record, ensure_ascii=False, default=str))})

    def _timer(self, request_id: str, timer_at: int | None) -> dict:
        key = {"pk": _s(f"SUPREQ#{request_id}"), "sk": _s("TIMER")}
        if timer_at is None:
            return {"Delete": {"TableName": self._table, "Key": key}}
        return self._put({**key, "kind": _s("support_timer"), "gsi1pk": _s(TIMERS),
                          "gsi1sk": _s(f"{timer_at:012d}#{request_id}")})

    def _intents(self, intents: Sequence) -> list[dict]:
        if not intents:
            return []
        return [{"Put": {"TableName": self._settings.ledger_table, "Item": m.serialize()}}
                for m in self._outbox.items(intents)]

    # -- writes ---------------------------------------------------------------------------------------------------
    def create(self, request: SupportRequest, audit: dict[str, Any], intents: Sequence, timer_at: int | None) -> None:
        main, listing = self._pair(request)
        items = [self._put(main, "attribute_not_exists(pk)"), self._put(listing),
                 self._child(request.request_id, "A", audit)]
        if timer_at is not None:
            items.append(self._timer(request.request_id, timer_at))
        self._transact(items + self._intents(intents))

    def update(self, request: SupportRequest, expected_rev: int, audit: dict[str, Any] | None, *,
               intents: Sequence = (),
               timer_at: int | None = None, comment: dict[str, Any] | None = None,
               report: tuple[str, dict[str, int]] | None = None) -> None:
        main, listing = self._pair(request)
        items = [self._put(main, "rev = :rev", {":rev": _n(expected_rev)}), self._put(listing),
                 self._timer(request.request_id, timer_at)]
        if audit is not None:
            items.append(self._child(request.request_id, "A", audit))
        if comment is not None:
            items.append(self._child(request.request_id, "C", comment))
        if report is not None:
            items.append(self._report(*report))
        self._transact(items + self._intents(intents))

    def _report(self, month: str, counts: dict[str, int]) -> dict:
        names = {f"#c{i}": name for i, name in enumerate(counts)}
        values = {f":c{i}": _n(value) for i, value in enumerate(counts.values())}
        return {"Update": {"TableName": self._table, "Key": {"pk": _s(REPORT), "sk": _s(month)},
                           "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counts))),
                           "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}}

    # -- reads ----------------------------------------------------------------------------------------------------
    def get(self, request_id: str) -> SupportRequest | None:
        got = self._ddb.get_item(TableName=self._table, Key={"pk": _s(f"SUPREQ#{request_id}"), "sk": _s("REQ")},
                                 ConsistentRead=True).get("Item")
        return SupportRequest.model_validate_json(got["doc"]["S"]) if got else None

    def detail(self, request_id: str) -> tuple[SupportRequest | None, list[dict], list[dict]]:
        items = self._query_all(KeyConditionExpression="pk = :pk", ConsistentRead=True,
                                ExpressionAttributeValues={":pk": _s(f"SUPREQ#{request_id}")})
        request, comments, audit = None, [], []
        for item in items:
            sk = item["sk"]["S"]
            if sk == "REQ":
                request = SupportRequest.model_validate_json(item["doc"]["S"])
            elif sk.startswith("C#"):
                comments.append(json.loads(item["doc"]["S"]))
            elif sk.startswith("A#"):
                audit.append(json.loads(item["doc"]["S"]))
        return request, comments, audit

    def list(self, unit: str | None, key_range: tuple[str, str], filters: dict[str, Any], limit: int,
             after: str | None) -> ListPage:
        query = _ListQuery(unit, key_range, filters, limit)
        rows: list[tuple[str, dict]] = []
        start, last, calls = query.start_key(after), None, 0
        while calls < MAX_QUERIES_PER_PAGE:
            page = self._ddb.query(TableName=self._table, **query.kwargs(start))
            calls += 1
            rows += [(query.key_of(item), json.loads(item["row_doc"]["S"])) for item in page.get("Items", [])]
            last = page.get("LastEvaluatedKey")
            if len(rows) >= limit or not last:
                break
            start = last
        if len(rows) > limit:  # the last query matched more than the page holds: continue after the page's last row
            rows = rows[:limit]
            return ListPage([r for _, r in rows], rows[-1][0], calls)
        # A short page after the bounded reads still hands back where the reads stopped (filtered-out items).
        return ListPage([r for _, r in rows], query.key_of(last) if last else None, calls)

    def due_timers(self, now_epoch: int, limit: int = 100) -> list[str]:
        page = self._ddb.query(TableName=self._table, IndexName="gsi1", Limit=limit,
                               KeyConditionExpression="gsi1pk = :p AND gsi1sk <= :now",
                               ExpressionAttributeValues={":p": _s(TIMERS), ":now": _s(f"{now_epoch:012d}~")})
        return [item["pk"]["S"][len("SUPREQ#"):] for item in page.get("Items", [])]

    def monthly(self, first: str, last: str) -> list[dict[str, Any]]:
        items = self._query_all(KeyConditionExpression="pk = :pk AND sk BETWEEN :a AND :b",
                                ExpressionAttributeValues={":pk": _s(REPORT), ":a": _s(first), ":b": _s(last)})
        return [{"month": i["sk"]["S"], **{k: int(v["N"]) for k, v in i.items() if "N" in v}} for i in items]


class _ListQuery:
    """The DynamoDB query of one listing: the province partition or the all-provinces index, newest first."""

    def __init__(self, unit: str | None, key_range: tuple[str, str], filters: dict[str, Any], limit: int) -> None:
        self.unit, self.filters = unit, filters
        self.sort_attr = "sk" if unit else "gsi1sk"
        self.limit = limit if not filters else max(limit, FILTERED_READ)
        names = {"#k": self.sort_attr}
        values = {":lo": _s(key_range[0]), ":hi": _s(key_range[1])}
        if unit:
            names["#p"], values[":p"] = "pk", _s(f"SUPPORT#U#{unit}")
        else:
            names["#p"], values[":p"] = "gsi1pk", _s(ALL)
        clauses = []
        for attr in _LIST_FIELDS:
            if attr in filters:
                names[f"#{attr}"] = attr
                keys = []
                for i, value in enumerate(filters[attr]):
                    values[f":{attr}{i}"] = _s(value)
                    keys.append(f":{attr}{i}")
                clauses.append(f"#{attr} IN ({', '.join(keys)})")
        for attr in _TEXT_FIELDS:
            if attr in filters:
                names[f"#{attr}"], values[f":{attr}"] = attr, _s(filters[attr])
                clauses.append(f"contains(#{attr}, :{attr})")
        self.names, self.values, self.filter = names, values, " AND ".join(clauses)

    def kwargs(self, start: dict | None) -> dict[str, Any]:
        out: dict[str, Any] = {"KeyConditionExpression": "#p = :p AND #k BETWEEN :lo AND :hi",
                               "ExpressionAttributeNames": self.names, "ExpressionAttributeValues": self.values,
                               "ScanIndexForward": False, "Limit": self.limit}
        if not self.unit:
            out["IndexName"] = "gsi1"
        if self.filter:
            out["FilterExpression"] = self.filter
        if start:
            out["ExclusiveStartKey"] = start
        return out

    def key_of(self, item: dict) -> str:
        return item[self.sort_attr]["S"]

    def start_key(self, after: str | None) -> dict | None:
        """The ExclusiveStartKey rebuilt from the cursor's sort key only: a cursor cannot leave its partition."""
        if after is None:
            return None
        if self.unit:
            return {"pk": _s(f"SUPPORT#U#{self.unit}"), "sk": _s(after)}
        request_id = after.split("#", 1)[1]
        return {"gsi1pk": _s(ALL), "gsi1sk": _s(after), "pk": _s(f"SUPREQ#{request_id}"), "sk": _s("REQ")}


class DynamoProgress(_Directory):
    """The ProgressStore port: one item per province."""

    def get(self, agency_code: str) -> dict[str, Any] | None:
        got = self._ddb.get_item(TableName=self._table, ConsistentRead=True,
                                 Key={"pk": _s(f"ONBOARD#{agency_code}"), "sk": _s("PROGRESS")}).get("Item")
        return {**json.loads(got["doc"]["S"]), "rev": int(got["rev"]["N"])} if got else None

    def put(self, agency_code: str, record: dict[str, Any], expected_rev: int | None) -> None:
        rev = (expected_rev or 0) + 1
        doc = {k: v for k, v in record.items() if k != "rev"}
        item = {"pk": _s(f"ONBOARD#{agency_code}"), "sk": _s("PROGRESS"), "kind": _s("onboarding_progress"),
                "doc": _s(json.dumps(doc, ensure_ascii=False, default=str)), "rev": _n(rev),
                "gsi1pk": _s("ONBOARD#ALL"), "gsi1sk": _s(agency_code)}
        condition = ({"ConditionExpression": "attribute_not_exists(pk)"} if expected_rev is None else
                     {"ConditionExpression": "rev = :rev", "ExpressionAttributeValues": {":rev": _n(expected_rev)}})
        try:
            self._ddb.put_item(TableName=self._table, Item=item, **condition)
        except self._ddb.exceptions.ConditionalCheckFailedException:
            raise ConcurrentChangeError(agency_code) from None

    def list_all(self) -> list[dict[str, Any]]:
        items = self._query_all(IndexName="gsi1", KeyConditionExpression="gsi1pk = :p",
                                ExpressionAttributeValues={":p": _s("ONBOARD#ALL")})
        return [{**json.loads(i["doc"]["S"]), "rev": int(i["rev"]["N"])} for i in items]
