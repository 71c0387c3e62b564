"""SQS: the province forwarding queue and its dead-letter queue.

Every message is a ``domain.delivery.Delivery`` (a receipt or a notice, with the whole document), so the consumer
needs no read before calling the province. Each payload it produces carries a stable ``message_id`` the province
de-duplicates on.
"""
from __future__ import annotations

import json
from typing import Iterable

from chalicelib.aws.clients import client
from chalicelib.provinces.domain.delivery import Delivery, notice_delivery, receipt_delivery
from chalicelib.receipts.domain import Receipt


class SqsForwarding:
    def __init__(self, region: str, queue_url: str, dlq_url: str = "") -> None:
        self._region, self._queue_url, self._dlq_url = region, queue_url, dlq_url

    @property
    def _sqs(self):
        return client("sqs", self._region)

    # -- producers (bank results, intake, sweeper, re-drive) ------------------------------------------------------
    def enqueue_receipt(self, receipt: Receipt) -> None:
        self.enqueue_receipt_doc(receipt.model_dump())

    def enqueue_receipt_doc(self, receipt: dict, payer_id_sealed: str | None = None) -> None:
        # The payer's ID number rides in the message still sealed: opened by the consumer for the payload only.
        doc = {**receipt, "payer_id_sealed": payer_id_sealed} if payer_id_sealed else receipt
        self._sqs.send_message(QueueUrl=self._queue_url,
                               MessageBody=json.dumps(receipt_delivery(doc).to_message(), ensure_ascii=False))

    def enqueue_notices(self, province: str, notices: list[dict]) -> None:
        self.send(notice_delivery(province, n) for n in notices)

    def enqueue_message(self, message: dict) -> None:
        """A delivery message as built by ``Delivery.to_message`` (checked: nothing else goes on this queue)."""
        self.send([Delivery.from_message(message)])

    def send(self, deliveries: Iterable[Delivery]) -> None:
        batch: list[dict] = []
        for delivery in deliveries:
            batch.append({"Id": str(len(batch)), "MessageBody": json.dumps(delivery.to_message(), ensure_ascii=False)})
            if len(batch) == 10:
                self._send_batch(batch)
                batch = []
        if batch:
            self._send_batch(batch)

    def _send_batch(self, entries: list[dict]) -> None:
        failed = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries).get("Failed", [])
        if failed:
            raise RuntimeError(f"{len(failed)} forwarding messages not sent: {failed[0].get('Code')}")

    # -- consumer ---------------------------------------------------------------------------------------------------
    def postpone(self, receipt_handle: str, seconds: int) -> None:
        self._sqs.change_message_visibility(QueueUrl=self._queue_url, ReceiptHandle=receipt_handle,
                                            VisibilityTimeout=seconds)

    # -- re-drive ---------------------------------------------------------------------------------------------------
    def drain_dead_letters(self, province: str, max_rounds: int = 200) -> int:
        """Delete the province's messages from the dead-letter queue; others become visible again at the end."""
        removed, others = 0, []
        for _ in range(max_rounds):
            got = self._sqs.receive_message(QueueUrl=self._dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                            WaitTimeSeconds=0).get("Messages", [])
            if not got:
                break
            mine = []
            for message in got:
                try:
                    belongs = json.loads(message["Body"]).get("province") == province
                except ValueError:
                    belongs = False
                (mine if belongs else others).append(message["ReceiptHandle"])
            if mine:
                self._sqs.delete_message_batch(QueueUrl=self._dlq_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(mine)])
                removed += len(mine)
        for start in range(0, len(others), 10):
            self._sqs.change_message_visibility_batch(QueueUrl=self._dlq_url, Entries=[
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for i, h in enumerate(others[start:start + 10])])
        return removed
