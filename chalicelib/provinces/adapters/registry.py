"""The directory table (pk/sk, gsi1, ttl): province API registry, alert contacts, audit trail, alert windows and the
log of alerts sent. Low-level DynamoDB calls (the items are small JSON documents; conditions look at version/level).

Keys:
  PROV#<agency>        / API#<type>        the API configuration (gsi1 PROVINCES / <agency>#<type>)
  CONTACTS#<unit>      / SVC#<service>     alert contacts (gsi1 CONTACTS / <unit>#<service>)
  AUDIT#<agency>       / <ulid>            who changed or checked what, when
  ALERTWIN#<province>  / WINDOW            level + until: the alert throttle (ttl)
  ALERTLOG#<province>  / <ulid>            alerts sent (ttl one year)
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalicelib.aws.tables import models
from chalicelib.core.clock import new_ulid
from chalicelib.provinces.domain.delivery import ApiType
from chalicelib.provinces.domain.registry import ProvinceApi
from chalicelib.provinces.ports import ConcurrentChangeError

if TYPE_CHECKING:
    from chalicelib.config import Settings

YEAR_S = 366 * 86400


def _s(value: str) -> dict:
    return {"S": value}


def _n(value: int | float) -> dict:
    return {"N": str(value)}


class DynamoProvinceRegistry:
    def __init__(self, settings: Settings, outbox=None) -> None:
        self._settings = settings
        self._outbox = outbox  # builds the intent items written in the same transactions
        self._table = settings.directory_table
        self._client = None

    @property
    def _ddb(self):
        if self._client is None:
            _, ledger = models(self._settings)  # share the botocore client pynamodb already made
            self._client = ledger._get_connection().connection.client
        return self._client

    def _query(self, **kwargs) -> list[dict]:
        items, start = [], None
        while True:
            page = self._ddb.query(TableName=self._table, **kwargs, **({"ExclusiveStartKey": start} if start else {}))
            items += page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    # -- API registry ----------------------------------------------------------------------------------------------
    def get_apis(self, agency_code: str) -> dict[ApiType, ProvinceApi]:
        items = self._query(KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": _s(f"PROV#{agency_code}")},
                            ConsistentRead=True)
        apis = [ProvinceApi.model_validate_json(i["doc"]["S"]) for i in items]
        return {a.api_type: a for a in apis}

    def list_apis(self) -> list[ProvinceApi]:
        items = self._query(IndexName="gsi1", KeyConditionExpression="gsi1pk = :p",
                            ExpressionAttributeValues={":p": _s("PROVINCES")})
        return [ProvinceApi.model_validate_json(i["doc"]["S"]) for i in items]

    def _intents(self, intents) -> list[dict]:
        intents = list(intents)
        return self._outbox.transact_puts(intents) if intents else []

    def put_api(self, api: ProvinceApi, expected_version: int | None, audit: dict[str, Any], intents=()) -> None:
        condition = ({"ConditionExpression": "attribute_not_exists(pk)"} if expected_version is None else
                     {"ConditionExpression": "version = :v", "ExpressionAttributeValues": {":v": _n(expected_version)}})
        item = {"pk": _s(f"PROV#{api.agency_code}"), "sk": _s(f"API#{api.api_type.value}"), "kind": _s("province_api"),
                "doc": _s(api.model_dump_json()), "version": _n(api.version), "gsi1pk": _s("PROVINCES"),
                "gsi1sk": _s(f"{api.agency_code}#{api.api_type.value}")}
        try:
            self._ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": self._table, "Item": item, **condition}},
                {"Put": {"TableName": self._table, "Item": self._audit_item(api.agency_code, audit)}},
                *self._intents(intents),
            ])
        except self._ddb.exceptions.TransactionCanceledException as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise ConcurrentChangeError(api.agency_code) from None
            raise

    # -- audit -----------------------------------------------------------------------------------------------------
    def _audit_item(self, agency_code: str, record: dict[str, Any]) -> dict:
        return {"pk": _s(f"AUDIT#{agency_code}"), "sk": _s(new_ulid()), "kind": _s("audit"),
                "doc": _s(json.dumps(record, ensure_ascii=False, default=str))}

    def audit(self, agency_code: str, record: dict[str, Any]) -> None:
        self._ddb.put_item(TableName=self._table, Item=self._audit_item(agency_code, record))

    def list_audit(self, agency_code: str, limit: int = 100) -> list[dict[str, Any]]:
        page = self._ddb.query(TableName=self._table, KeyConditionExpression="pk = :pk", ScanIndexForward=False,
                               Limit=limit, ExpressionAttributeValues={":pk": _s(f"AUDIT#{agency_code}")})
        return [json.loads(i["doc"]["S"]) for i in page.get("Items", [])]

    # -- alert contacts --------------------------------------------------------------------------------------------
    def get_contacts(self, unit_code: str, service_type: str) -> dict[str, Any] | None:
        got = self._ddb.get_item(TableName=self._table, ConsistentRead=True,
                                 Key={"pk": _s(f"CONTACTS#{unit_code}"), "sk": _s(f"SVC#{service_type}")})
        item = got.get("Item")
        return json.loads(item["doc"]["S"]) if item else None

    def list_contacts(self, unit_prefix: str | None = None) -> list[dict[str, Any]]:
        items = self._query(IndexName="gsi1", KeyConditionExpression="gsi1pk = :p",
                            ExpressionAttributeValues={":p": _s("CONTACTS")})
        out = []
        for i in items:
            unit, _, service = i["gsi1sk"]["S"].partition("#")
            if unit_prefix is None or unit.startswith(unit_prefix):
                out.append({**json.loads(i["doc"]["S"]), "unit_code": unit, "service_type": service})
        return out

    def put_contacts(self, unit_code: str, service_type: str, contacts: dict[str, Any], audit: dict[str, Any],
                     intents=()) -> None:
        item = {"pk": _s(f"CONTACTS#{unit_code}"), "sk": _s(f"SVC#{service_type}"), "kind": _s("alert_contacts"),
                "doc": _s(json.dumps(contacts, ensure_ascii=False)), "gsi1pk": _s("CONTACTS"),
                "gsi1sk": _s(f"{unit_code}#{service_type}")}
        from chalicelib.provinces.domain.registry import province_of_unit

        self._ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": self._table, "Item": item}},
            {"Put": {"TableName": self._table, "Item": self._audit_item(province_of_unit(unit_code), audit)}},
            *self._intents(intents),
        ])

    def delete_contacts(self, unit_code: str, service_type: str, audit: dict[str, Any]) -> bool:
        from chalicelib.provinces.domain.registry import province_of_unit

        try:
            self._ddb.transact_write_items(TransactItems=[
                {"Delete": {"TableName": self._table, "ConditionExpression": "attribute_exists(pk)",
                            "Key": {"pk": _s(f"CONTACTS#{unit_code}"), "sk": _s(f"SVC#{service_type}")}}},
                {"Put": {"TableName": self._table, "Item": self._audit_item(province_of_unit(unit_code), audit)}},
            ])
        except self._ddb.exceptions.TransactionCanceledException:
            return False
        return True

    # -- alert throttle and log ------------------------------------------------------------------------------------
    def open_alert_window(self, province: str, level: int, now_epoch: int, window_s: int) -> bool:
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={"pk": _s(f"ALERTWIN#{province}"), "sk": _s("WINDOW"), "kind": _s("alert_window"),
                      "level": _n(level), "until": _n(now_epoch + window_s), "ttl": _n(now_epoch + window_s + 86400)},
                ConditionExpression="attribute_not_exists(pk) OR #until <= :now OR #level < :level",
                ExpressionAttributeNames={"#until": "until", "#level": "level"},
                ExpressionAttributeValues={":now": _n(now_epoch), ":level": _n(level)},
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def record_alert(self, province: str, record: dict[str, Any], intents=()) -> None:
        import time

        item = {"pk": _s(f"ALERTLOG#{province}"), "sk": _s(new_ulid()), "kind": _s("alert"),
                "doc": _s(json.dumps(record, ensure_ascii=False, default=str)), "ttl": _n(int(time.time()) + YEAR_S)}
        puts = self._intents(intents)
        if puts:  # the log entry and what the alert sends commit together (at most 100 items: contacts are capped)
            self._ddb.transact_write_items(TransactItems=[{"Put": {"TableName": self._table, "Item": item}}, *puts])
        else:
            self._ddb.put_item(TableName=self._table, Item=item)

    def list_alerts(self, province: str) -> list[dict[str, Any]]:
        items = self._query(KeyConditionExpression="pk = :pk",
                            ExpressionAttributeValues={":pk": _s(f"ALERTLOG#{province}")}, ConsistentRead=True)
        return [json.loads(i["doc"]["S"]) for i in items]
