"""The ReplayGuard port on the ledger table: ``WHK#<scope>#<sha256 of the message id>`` / ``SEEN``, the answer as
JSON, ``until`` (epoch) checked on read, and a TTL that removes the item a day later (TTL deletion is lazy)."""
from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING

from chalicelib.aws.clients import client

if TYPE_CHECKING:
    from chalicelib.config import Settings


class DynamoReplayGuard:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def _key(self, scope: str, message_id: str) -> dict:
        digest = hashlib.sha256(message_id.encode()).hexdigest()[:40]  # ids are up to 255 chars of partner text
        return {"pk": {"S": f"WHK#{scope}#{digest}"}, "sk": {"S": "SEEN"}}

    def answer_for(self, scope: str, message_id: str) -> dict | None:
        item = client("dynamodb", self._settings.region).get_item(
            TableName=self._settings.ledger_table, Key=self._key(scope, message_id), ConsistentRead=True).get("Item")
        if not item or int(item["until"]["N"]) < time.time():
            return None
        return json.loads(item["answer"]["S"])

    def remember(self, scope: str, message_id: str, answer: dict, until_epoch: int) -> None:
        client("dynamodb", self._settings.region).put_item(
            TableName=self._settings.ledger_table,
            Item={**self._key(scope, message_id), "kind": {"S": "webhook_seen"},
                  "answer": {"S": json.dumps(answer, ensure_ascii=False, default=str)},
                  "until": {"N": str(until_epoch)}, "ttl": {"N": str(until_epoch + 86400)}})
