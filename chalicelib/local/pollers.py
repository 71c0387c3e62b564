"""Locally, Lambda's event sources: pollers that feed the same handler functions Lambda would invoke."""
from __future__ import annotations

import threading
import time

REGION = "ap-southeast-1"


class QueuePoller(threading.Thread):
    """Locally, Lambda's SQS event source: receive a batch, invoke the same handler, delete what succeeded."""

    def __init__(self, handler, queue_url: str, queue_arn: str) -> None:
        super().__init__(daemon=True, name="sqs-poller")
        self._handler, self._url, self._arn = handler, queue_url, queue_arn
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        from chalicelib.aws.clients import client

        sqs = client("sqs", REGION)
        while not self._stop.is_set():
            try:
                got = sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                          AttributeNames=["All"])
            except Exception:
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
            except Exception:
                continue
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages) if m["MessageId"] not in failed]
            if done:
                sqs.delete_message_batch(QueueUrl=self._url, Entries=done)
