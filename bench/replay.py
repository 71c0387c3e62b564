"""The bare baseline: the same AWS calls a handler made, replayed with a plain boto3 client.

Every call the app makes during the bench (seeding, warm-up and measured invocations) is replayed, right after the
invocation, against *shadow* copies of the tables (same key schema, indexes and TTL, in the same moto server), with
exactly the parameters the app sent (table names swapped). The shadow tables therefore go through the same states as
the real ones, so every condition expression evaluates the same way and every item has the same size. Queue sends
and SMS are replayed to the same queue / phone number (they only count in the "all AWS" baseline).
"""
from __future__ import annotations

import time
from typing import Any, Callable

from botocore.config import Config

from .awscalls import Call

SHADOW_SUFFIX = "-bare"
# botocore generates a fresh idempotency token for the replay, as it did for the app.
_DROP = {"ClientRequestToken"}


def _xform(name: str) -> str:
    from botocore import xform_name

    return xform_name(name)


class BareBackend:
    def __init__(self, endpoint: str, region: str, tables: list[str], queues: list[str] = ()) -> None:
        import boto3

        session = boto3.session.Session()
        # Same client settings pynamodb uses for the app (no client-side parameter validation, standard retries):
        # the baseline is the cheapest honest way to send these exact requests.
        config = Config(parameter_validation=False, retries={"total_max_attempts": 4, "mode": "standard"})
        self._clients = {s: session.client(s, region_name=region, endpoint_url=endpoint, config=config)
                         for s in ("dynamodb", "sqs", "sns")}
        self._methods: dict[tuple[str, str], Any] = {}
        self.region = region
        self.tables = {t: t + SHADOW_SUFFIX for t in tables}
        self.key_names: dict[str, list[str]] = {}
        self.queues = set(queues)
        self._create_shadow_tables()

    def _create_shadow_tables(self) -> None:
        ddb = self._clients["dynamodb"]
        for source, shadow in self.tables.items():
            desc = ddb.describe_table(TableName=source)["Table"]
            self.key_names[source] = [k["AttributeName"] for k in desc["KeySchema"]]
            kwargs: dict[str, Any] = {
                "TableName": shadow,
                "KeySchema": desc["KeySchema"],
                "AttributeDefinitions": desc["AttributeDefinitions"],
                "BillingMode": "PAY_PER_REQUEST",
            }
            if desc.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = [
                    {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"]}
                    for g in desc["GlobalSecondaryIndexes"]
                ]
            if desc.get("StreamSpecification"):
                kwargs["StreamSpecification"] = desc["StreamSpecification"]
            ddb.create_table(**kwargs)
            ttl = ddb.describe_time_to_live(TableName=source)["TimeToLiveDescription"]
            if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
                ddb.update_time_to_live(TableName=shadow, TimeToLiveSpecification={
                    "Enabled": True, "AttributeName": ttl["AttributeName"]})

    def _shadow(self, node: Any, key: str | None = None) -> Any:
        if isinstance(node, dict):
            return {self.tables.get(k, k): self._shadow(v, k) for k, v in node.items() if k not in _DROP}
        if isinstance(node, list):
            return [self._shadow(v) for v in node]
        if key == "TableName" and isinstance(node, str):
            return self.tables.get(node, node)
        return node

    def prepare(self, calls: list[Call]) -> list[tuple[str, Any, dict]]:
        """Resolve the client methods and rewrite the parameters (outside any timed region)."""
        out = []
        for call in calls:
            if call.service not in self._clients:
                continue  # Secrets Manager: cached by the app for 300 s, not part of any baseline
            method = self._methods.get((call.service, call.operation))
            if method is None:
                method = getattr(self._clients[call.service], _xform(call.operation))
                self._methods[(call.service, call.operation)] = method
            if call.service == "sqs" and "QueueUrl" in call.params:
                self.queues.add(call.params["QueueUrl"])  # drained at the next prune (see there)
            out.append((call.service, method, self._shadow(call.params)))
        return out

    def replay(self, calls: list[Call]) -> tuple[float, float]:
        """Send the calls one after the other; return (seconds in DynamoDB calls, seconds in all calls)."""
        ddb = total = 0.0
        for service, method, params in self.prepare(calls):
            t0 = time.perf_counter()
            method(**params)
            dt = time.perf_counter() - t0
            total += dt
            if service == "dynamodb":
                ddb += dt
        return ddb, total

    def prune(self, calls: list[Call], keep: Callable[[dict], bool]) -> int:
        """Delete the items these calls wrote, from the real and the shadow tables (outside any timed region).

        moto's TransactWriteItems deep-copies every table it touches before applying a transaction, so its latency
        grows with the table's size (real DynamoDB's does not). Deleting each journey's items once the journey is
        over keeps both backends in the same small steady state for the whole run. `keep(key)` spares an item.
        Likewise moto's SendMessage scans the whole queue (latency linear in its depth; nothing consumes it during
        the bench), so every queue the app sent to is drained too.
        """
        keys: dict[str, dict[str, dict]] = {}
        for call in calls:
            if call.service != "dynamodb":
                continue
            writes = []
            if call.operation == "PutItem":
                writes.append((call.params["TableName"], call.params["Item"]))
            elif call.operation == "TransactWriteItems":
                for entry in call.params["TransactItems"]:
                    for kind, op in entry.items():
                        if kind in ("Put", "Update", "Delete"):
                            writes.append((op["TableName"], op.get("Item") or op["Key"]))
            for table, item in writes:
                key = {name: item[name] for name in self.key_names[table]}
                if not keep(key):
                    keys.setdefault(table, {})[repr(sorted((k, tuple(v.items())) for k, v in key.items()))] = key
        ddb = self._clients["dynamodb"]
        deleted = 0
        for table, by_id in keys.items():
            requests = [{"DeleteRequest": {"Key": key}} for key in by_id.values()]
            for start in range(0, len(requests), 25):
                for name in (table, self.tables[table]):
                    ddb.batch_write_item(RequestItems={name: requests[start:start + 25]})
            deleted += len(requests)
        for url in sorted(self.queues):
            self._drain(url)
        self._compact_moto_tables()
        return deleted

    def _compact_moto_tables(self) -> None:
        """moto keeps an empty bucket per partition key after the last item under it is deleted (tables with a sort
        key), and deep-copies those too on every transaction: drop them. moto runs in this process and no request
        is in flight here, so its state can be tidied directly; a moto without that layout is left alone."""
        try:
            from moto.core import DEFAULT_ACCOUNT_ID
            from moto.dynamodb.models import dynamodb_backends

            backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][self.region]
        except (ImportError, KeyError):
            return
        for name in [*self.tables, *self.tables.values()]:
            items = getattr(backend.tables.get(name), "items", None)
            if isinstance(items, dict):
                for key in [k for k, v in items.items() if isinstance(v, dict) and not v]:
                    del items[key]

    def _drain(self, url: str) -> None:
        """Receive and delete everything in the queue (PurgeQueue is limited to once a minute)."""
        sqs = self._clients["sqs"]
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=30)
            messages = got.get("Messages", [])
            if not messages:
                return
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
