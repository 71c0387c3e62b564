"""SNS: SMS to citizens (direct publish to a phone number), operational alerts (a topic), and the error alerts of
M12: SMS to each registered phone, and email through the alert-emails topic.

Email path: every registered address is subscribed (protocol email, so the recipient confirms once) to the
alert-emails topic with the filter policy ``{"recipient": ["<that address>"]}``; an alert is published once with the
message attribute ``recipient`` (String.Array) listing the addresses registered for the province, and SNS delivers
it to exactly those. No SES domain to verify, no mail server, and an address only ever gets what names it.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from chalicelib.aws.clients import client
from chalicelib.core.masking import mask_phone

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
        except Exception:  # best effort: an alert never undoes the recorded anomaly
            log.exception("alert not published", extra={"kind": kind})


class SnsAlertChannels:
    """The AlertChannels port: SMS per phone, one email publish per burst, a copy to the operators' alerts topic."""

    def __init__(self, region: str, ops_topic_arn: str, email_topic_arn: str) -> None:
        self._region, self._email_topic = region, email_topic_arn
        self._sms, self._ops = SnsSms(region), SnsAlerts(region, ops_topic_arn)

    def sms(self, phone_e164: str, text: str) -> None:
        self._sms.send_sms(phone_e164, text)

    def email(self, recipients: list[str], subject: str, text: str, province: str) -> None:
        client("sns", self._region).publish(
            TopicArn=self._email_topic,
            Subject=subject[:100],
            Message=text,
            MessageAttributes={
                "recipient": {"DataType": "String.Array", "StringValue": json.dumps(sorted(set(recipients)))},
                "province": {"DataType": "String", "StringValue": province},
            },
        )

    def ops(self, kind: str, subject: str, details: dict[str, Any]) -> None:
        self._ops.alert(kind, subject, details)

    def subscribe_email(self, email: str) -> None:
        client("sns", self._region).subscribe(
            TopicArn=self._email_topic, Protocol="email", Endpoint=email, ReturnSubscriptionArn=True,
            Attributes={"FilterPolicy": json.dumps({"recipient": [email]}), "FilterPolicyScope": "MessageAttributes"},
        )
