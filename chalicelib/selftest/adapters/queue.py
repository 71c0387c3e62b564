"""SQS: the self-test queue (the outbox hands each started run to it; the run_selftests Lambda consumes it)."""
from __future__ import annotations

import json

from chalicelib.aws.clients import client


class SqsSelfTestQueue:
    def __init__(self, region: str, queue_url: str) -> None:
        self._region, self._queue_url = region, queue_url

    def enqueue(self, run_id: str, province: str) -> None:
        if not self._queue_url:
            raise RuntimeError("SELFTEST_QUEUE_URL is not configured")
        client("sqs", self._region).send_message(
            QueueUrl=self._queue_url, MessageBody=json.dumps({"v": 1, "run_id": run_id, "province": province}))
