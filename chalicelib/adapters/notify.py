"""SNS: SMS to citizens (direct publish to a phone number) and operational alerts (a topic)."""
from __future__ import annotations

import json
import logging
from typing import Any

from ..domain.masking import mask_phone
from .clients import client

log = logging.getLogger(__name__)


class SnsSms:
    def __init__(self, region: str, sender_id: str = "DVCQG") -> None:
        self._region, self._sender_id = region, sender_id

    def send_sms(self, phone_e164: str, message: str) -> None:
        client("sns", self._region).publish(
            PhoneNumber=phone_e164,
            Message=message,
            MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": self._sender_id},
            },
        )
        log.info("sms sent", extra={"phone": mask_phone(phone_e164)})


class SnsAlerts:
    def __init__(self, region: str, topic_arn: str) -> None:
        self._region, self._topic_arn = region, topic_arn

    def alert(self, kind: str, subject: str, details: dict[str, Any]) -> None:
        """Best effort: an alert that cannot be published is logged loudly, it never undoes the recorded anomaly."""
        try:
            client("sns", self._region).publish(
                TopicArn=self._topic_arn,
                Subject=subject[:100],
                Message=json.dumps({"kind": kind, "subject": subject, **details}, ensure_ascii=False, default=str),
                MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}},
            )
        except Exception:  # noqa: BLE001
            log.exception("alert not published", extra={"kind": kind})
