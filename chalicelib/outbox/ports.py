"""What sending intents needs: the store of intents and the channels they go to (SNS SMS, the province forwarding
queue, the operators' alert topic). DynamoDB/SNS/SQS adapters and the in-memory fakes implement these."""
from __future__ import annotations

from typing import Any, Protocol

from chalicelib.core.clock import Clock
from chalicelib.core.ports import SmsSender
from chalicelib.outbox.domain import Intent


class OutboxStore(Protocol):
    def claim(self, intent: Intent, now_epoch: int) -> bool:
        """Take the intent for sending (PENDING, or a claim whose lease ran out); False if sent or taken."""

    def sent(self, intent: Intent, at: str) -> None:
        """Sent: the sealed payload is removed, the item kept as a trace until its TTL."""

    def failed(self, intent: Intent, error: str, now_epoch: int, dead: bool) -> None:
        """Not sent: back to PENDING for the sweeper after a delay (or DEAD after the last attempt)."""

    def due(self, now_epoch: int, limit: int) -> list[Intent]:
        """PENDING intents whose retry time has come (the sweeper's list)."""


class ForwardingChannel(Protocol):
    def enqueue_receipt_doc(self, receipt: dict[str, Any]) -> None: ...

    def enqueue_notices(self, province: str, notices: list[dict[str, Any]]) -> None: ...

    def enqueue_message(self, message: dict[str, Any]) -> None: ...


class OpsChannel(Protocol):
    """The operators' topic and the province alert channels (emails to contacts, their subscriptions)."""

    def ops(self, kind: str, subject: str, details: dict[str, Any]) -> None: ...

    def email(self, recipients: list[str], subject: str, text: str, province: str) -> None: ...

    def subscribe_email(self, email: str) -> None: ...


class CredentialsChannel(Protocol):
    def store_versioned(self, agency_code: str, api_type: str, credentials: dict[str, str], version: int) -> bool:
        """Write unless the store holds a later version; True if written."""

    def put_sealed(self, agency_code: str, api_type: str, sealed: str, version: int = 0) -> bool:
        """Open credentials sealed with the app key and store them as ``store_versioned`` does."""


class OutboxContext(Protocol):
    clock: Clock
    outbox: OutboxStore
    sms: SmsSender
    forwarding: ForwardingChannel
    alerts: OpsChannel
    credentials: CredentialsChannel

    def count(self, name: str, value: int = 1) -> None: ...
