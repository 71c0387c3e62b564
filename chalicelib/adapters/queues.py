"""SQS: the receipt forwarding queue. Each message carries a stable message_id the province de-duplicates on."""
from __future__ import annotations

import json

from ..domain.receipts import Receipt
from .clients import client


def forwarding_message(receipt: Receipt) -> dict:
    return {
        "message_id": f"{receipt.receipt_id}:payment_result",
        "type": "payment_result",
        "receipt_id": receipt.receipt_id,
        "payment_id": receipt.payment_id,
        "collecting_unit_code": receipt.collecting_unit_code,
    }


class SqsForwarding:
    def __init__(self, region: str, queue_url: str) -> None:
        self._region, self._queue_url = region, queue_url

    def enqueue_receipt(self, receipt: Receipt) -> None:
        client("sqs", self._region).send_message(
            QueueUrl=self._queue_url, MessageBody=json.dumps(forwarding_message(receipt))
        )
