"""Intents as items of the ledger table, sealed at rest, and the stream records they produce.

Item: ``OUTBOX#<ulid> / INTENT``, kind ``outbox``, state PENDING | SENDING | SENT | DEAD, ``doc`` the sealed intent
(AES-256-GCM under a key derived from the app secret: no KMS call on the request path), gsi1 ``OUTBOX#PENDING /
<due epoch>`` while it waits (the sweeper's list), TTL a week. Producers add `item(...)` to their own transaction;
the stream consumer reads the sealed intent from the record's new image, so sending needs no read.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from typing import TYPE_CHECKING, Any, Callable

from chalicelib.aws.clients import client
from chalicelib.core.clock import new_ulid
from chalicelib.outbox.domain import LEASE_S, Intent, retry_after_s

if TYPE_CHECKING:
    from chalicelib.config import Settings

SK = "INTENT"
PENDING_INDEX = "OUTBOX#PENDING"
STREAM_GRACE_S = 120  # the stream normally sends within seconds: the sweeper only looks after this
TTL_S = 7 * 86400


class AesGcmSealer:
    """Seal/open bytes with AES-256-GCM; the key is HMAC(app master key, label): "outbox-seal-v1" for intents,
    "personal-data-v1" for personal values kept at rest (a payer's phone, an ID number on its way to a province)."""

    PREFIX = "v1:"

    def __init__(self, master_key: Callable[[], bytes], label: bytes = b"outbox-seal-v1") -> None:
        self._master, self._label = master_key, label
        self._keys: dict[bytes, bytes] = {}

    def _key(self) -> bytes:
        master = self._master()
        if master not in self._keys:
            self._keys[master] = hmac.new(master, self._label, hashlib.sha256).digest()
        return self._keys[master]

    def seal(self, data: bytes) -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        return self.PREFIX + base64.b64encode(nonce + AESGCM(self._key()).encrypt(nonce, data, None)).decode()

    def open(self, token: str) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if not token.startswith(self.PREFIX):
            raise ValueError("not a sealed intent")
        raw = base64.b64decode(token[len(self.PREFIX):])
        return AESGCM(self._key()).decrypt(raw[:12], raw[12:], None)


def _s(value: str) -> dict:
    return {"S": value}


def _n(value: int) -> dict:
    return {"N": str(value)}


class DynamoOutbox:
    def __init__(self, settings: Settings, sealer: AesGcmSealer, new_id: Callable[[], str] = new_ulid) -> None:
        self._settings, self._sealer, self._new_id = settings, sealer, new_id

    @property
    def _ddb(self):
        return client("dynamodb", self._settings.region)

    @property
    def _table(self) -> str:
        return self._settings.ledger_table

    # -- producers ----------------------------------------------------------------------------------------------
    def item(self, intent: Intent, now_iso: str, now_epoch: int):
        """The pynamodb ledger item to put in the producer's transaction."""
        from chalicelib.aws.tables import models

        _, ledger = models(self._settings)
        doc = json.dumps({"kind": intent.kind, "payload": intent.payload, "created_at": now_iso},
                         ensure_ascii=False, default=str)
        return ledger(f"OUTBOX#{self._new_id()}", SK, kind="outbox", state="PENDING",
                      doc=self._sealer.seal(doc.encode()), gsi1pk=PENDING_INDEX,
                      gsi1sk=f"{now_epoch + STREAM_GRACE_S:012d}", ttl=now_epoch + TTL_S,
                      intent_kind=intent.kind, ref=intent.ref[:120])

    def items(self, intents) -> list:
        """The items of several intents, written now (what a repository adds to its transaction)."""
        from datetime import datetime

        from chalicelib.core.clock import VN_TZ

        now = datetime.now(VN_TZ)
        return [self.item(intent, now.isoformat(), int(now.timestamp())) for intent in intents]

    def transact_puts(self, intents) -> list[dict]:
        """The same items as TransactWriteItems `Put` entries, for producers that write with the low-level client."""
        return [{"Put": {"TableName": self._table, "Item": item.serialize()}} for item in self.items(intents)]

    # -- the stream ---------------------------------------------------------------------------------------------
    def from_image(self, image: dict[str, Any]) -> Intent | None:
        """The intent of a stream record's new image (DynamoDB JSON), or None for any other ledger item."""
        if image.get("kind", {}).get("S") != "outbox" or image.get("state", {}).get("S") != "PENDING":
            return None
        return self._intent(image)

    def _intent(self, image: dict[str, Any]) -> Intent:
        doc = json.loads(self._sealer.open(image["doc"]["S"]))
        return Intent(doc["kind"], doc["payload"], image["pk"]["S"][len("OUTBOX#"):],
                      int(image.get("attempts", {}).get("N", "0")), doc.get("created_at", ""),
                      image.get("ref", {}).get("S", ""))

    # -- sending ------------------------------------------------------------------------------------------------
    def _key(self, intent: Intent) -> dict:
        return {"pk": _s(f"OUTBOX#{intent.intent_id}"), "sk": _s(SK)}

    def claim(self, intent: Intent, now_epoch: int) -> bool:
        try:
            self._ddb.update_item(
                TableName=self._table, Key=self._key(intent),
                UpdateExpression="SET #st = :sending, lease_until = :lease",
                ConditionExpression="(#st = :pending) OR (#st = :sending AND lease_until < :now)",
                ExpressionAttributeNames={"#st": "state"},
                ExpressionAttributeValues={":sending": _s("SENDING"), ":pending": _s("PENDING"),
                                           ":lease": _n(now_epoch + LEASE_S), ":now": _n(now_epoch)})
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def sent(self, intent: Intent, at: str) -> None:
        self._ddb.update_item(TableName=self._table, Key=self._key(intent),
                              UpdateExpression="SET #st = :sent, sent_at = :at REMOVE doc, gsi1pk, gsi1sk, lease_until",
                              ExpressionAttributeNames={"#st": "state"},
                              ExpressionAttributeValues={":sent": _s("SENT"), ":at": _s(at)})

    def failed(self, intent: Intent, error: str, now_epoch: int, dead: bool) -> None:
        attempts = intent.attempts + 1
        state = "DEAD" if dead else "PENDING"
        values = {":st": _s(state), ":n": _n(attempts), ":err": _s(error[:200]),
                  ":gpk": _s("OUTBOX#DEAD" if dead else PENDING_INDEX),
                  ":gsk": _s(f"{now_epoch + retry_after_s(attempts):012d}")}
        self._ddb.update_item(TableName=self._table, Key=self._key(intent),
                              UpdateExpression="SET #st = :st, attempts = :n, last_error = :err, gsi1pk = :gpk, "
                              "gsi1sk = :gsk REMOVE lease_until",
                              ExpressionAttributeNames={"#st": "state"}, ExpressionAttributeValues=values)

    def due(self, now_epoch: int, limit: int) -> list[Intent]:
        page = self._ddb.query(TableName=self._table, IndexName="gsi1", Limit=limit,
                               KeyConditionExpression="gsi1pk = :p AND gsi1sk <= :now",
                               ExpressionAttributeValues={":p": _s(PENDING_INDEX), ":now": _s(f"{now_epoch:012d}")})
        return [self._intent(item) for item in page.get("Items", []) if "doc" in item]
