"""SQS consumer of the receipt forwarding queue (province delivery is the next issue: this records and acks)."""
from __future__ import annotations

import json


def handle_batch(event) -> dict:
    """Partial batch response: failed message ids are reported so only they are retried."""
    from ..observability import logger

    failures = []
    for record in event:
        try:
            message = json.loads(record.body)
            logger().info("receipt queued for province delivery", extra={"message_id": message.get("message_id")})
        except Exception:  # noqa: BLE001
            failures.append({"itemIdentifier": record.to_dict().get("messageId")})
    return {"batchItemFailures": failures}
