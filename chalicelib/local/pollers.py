"""Locally, Lambda's event sources: pollers that feed the same handler functions Lambda would invoke."""
from __future__ import annotations

import threading
import time

REGION = "ap-southeast-1"


class QueuePoller(threading.Thread):
    """Locally, Lambda's SQS event source: receive a batch, invoke the same handler, delete what succeeded."""

    def __init__(self, handler, queue_url: str, queue_arn: str, name: str = "sqs-poller", batch: int = 10) -> None:
        super().__init__(daemon=True, name=name)
        self._handler, self._url, self._arn, self._batch = handler, queue_url, queue_arn, batch
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        from chalicelib.aws.clients import client

        sqs = client("sqs", REGION)
        while not self._stop.is_set():
            try:
                got = sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=self._batch, WaitTimeSeconds=1,
                                          AttributeNames=["All"])
            except Exception:  # noqa: BLE001 - the server is shutting down
                time.sleep(0.2)
                continue
            messages = got.get("Messages", [])
            if not messages:
                continue
            event = {"Records": [{
                "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                "attributes": m.get("Attributes", {}), "messageAttributes": {}, "eventSource": "aws:sqs",
                "eventSourceARN": self._arn, "awsRegion": REGION} for m in messages]}
            try:
                result = self._handler(event, None) or {}
            except Exception:  # noqa: BLE001 - a crashed invocation: every message comes back after visibility
                continue
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages) if m["MessageId"] not in failed]
            if done:
                sqs.delete_message_batch(QueueUrl=self._url, Entries=done)


class StreamPoller(threading.Thread):
    """Locally, Lambda's DynamoDB Streams event source: read the table's stream from its start (the ledger is empty
    when the local stack starts) and invoke the same handler with the same event shape; a reported failure re-reads
    from that record.

    When a poll finds nothing, the iterator is taken anew after the last record seen: moto replaces a table (and
    its stream) with a copy when it rolls back a cancelled transaction, and an old iterator would read the old copy
    for ever."""

    def __init__(self, handler, stream_arn: str, batch_size: int = 100) -> None:
        super().__init__(daemon=True, name="stream-poller")
        self._handler, self._arn, self._batch = handler, stream_arn, batch_size
        self._stop = threading.Event()
        self._last: dict[str, str] = {}  # shard -> last sequence number handed to the handler

    def stop(self) -> None:
        self._stop.set()

    def _iterator(self, streams, shard: str) -> str:
        last = self._last.get(shard)
        kwargs = ({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last} if last
                  else {"ShardIteratorType": "TRIM_HORIZON"})
        return streams.get_shard_iterator(StreamArn=self._arn, ShardId=shard, **kwargs)["ShardIterator"]

    def run(self) -> None:
        from chalicelib.aws.clients import client

        streams = client("dynamodbstreams", REGION)
        while not self._stop.is_set():
            try:
                shards = streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
                busy = any([self._poll(streams, s["ShardId"]) for s in shards])
            except Exception:  # noqa: BLE001 - the server is shutting down
                busy = False
            if not busy:
                self._stop.wait(0.05)

    def _poll(self, streams, shard: str) -> bool:
        from chalicelib.local.moto import trim_stream

        records = streams.get_records(ShardIterator=self._iterator(streams, shard), Limit=self._batch)["Records"]
        if records:
            self._invoke(records)
            self._last[shard] = records[-1]["dynamodb"]["SequenceNumber"]
            trim_stream(self._arn, int(self._last[shard]))  # handled: moto need not keep (and copy) them
        return bool(records)

    def _invoke(self, records: list[dict]) -> None:
        event = {"Records": [{**r, "eventSourceARN": self._arn, "awsRegion": REGION} for r in records]}
        for _ in range(5):  # a reported failure: the batch again from there (the sweeper catches the rest)
            try:
                result = self._handler(event, None) or {}
            except Exception:  # noqa: BLE001 - a crashed invocation: Lambda would retry the batch
                result = {"batchItemFailures": [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]}
            failed = [f["itemIdentifier"] for f in result.get("batchItemFailures", [])]
            if not failed:
                return
            start = next((i for i, r in enumerate(records) if r["dynamodb"]["SequenceNumber"] == failed[0]), 0)
            event = {"Records": event["Records"][start:]}
            time.sleep(0.1)


class Scheduler(threading.Thread):
    """Locally, EventBridge's schedules: call each scheduled handler every `every_s` seconds."""

    def __init__(self, handlers: list, every_s: float = 60.0) -> None:
        super().__init__(daemon=True, name="scheduler")
        self._handlers, self._every = handlers, every_s
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        event = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "account": "000000000000",
                 "time": "1970-01-01T00:00:00Z", "region": REGION, "resources": [], "detail": {}, "id": "local"}
        while not self._stop.wait(self._every):
            for handler in self._handlers:
                try:
                    handler(event, None)
                except Exception:  # noqa: BLE001 - a failed run is retried at the next tick, as in AWS
                    continue
