"""Intents: what a use case wants sent once its write commits (an SMS, a message to the province forwarding queue,
an alert to the operators), written in the same DynamoDB transaction as the change itself.

The request path then makes only its DynamoDB calls; a DynamoDB Streams consumer does the sending, at least once,
and a sweeper retries what could not be sent. A crash between the write and the send loses nothing: the intent is
part of the write. Intents are sealed at rest (they carry phones, OTP codes, temporary passwords) and removed from
the item once sent.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

IntentKind = Literal["sms", "forward_receipt", "forward_notices", "forward_delivery", "ops_alert", "email",
                     "subscribe_email", "store_credentials", "province_credentials"]
KINDS: tuple[str, ...] = ("sms", "forward_receipt", "forward_notices", "forward_delivery", "ops_alert", "email",
                          "subscribe_email", "store_credentials", "province_credentials")
MAX_ATTEMPTS = 12  # then DEAD, with an alert to the operators (sends are retried by the sweeper, not the stream)
LEASE_S = 120  # a claimed intent is the claimer's for this long (a crashed sender's claim expires)


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    payload: dict[str, Any]
    intent_id: str = ""  # given by the store when the intent is written
    attempts: int = 0
    created_at: str = ""
    ref: str = ""  # what it is about, kept unsealed for operators: a receipt id, a dossier code, never personal data

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown intent kind {self.kind!r}")


def sms(phone_e164: str, text: str, ref: str = "") -> Intent:
    return Intent("sms", {"phone": phone_e164, "text": text}, ref=ref)


def forward_receipt(receipt: dict[str, Any]) -> Intent:
    return Intent("forward_receipt", {"receipt": receipt}, ref=str(receipt.get("receipt_id", "")))


def forward_notices(province: str, notices: list[dict[str, Any]]) -> Intent:
    return Intent("forward_notices", {"province": province, "notices": notices},
                  ref=str(notices[0].get("dossier_code", "")) if notices else "")


def forward_delivery(message: dict[str, Any]) -> Intent:
    """A province delivery message as the forwarding queue takes it (an operator's re-drive of a dead delivery)."""
    return Intent("forward_delivery", {"message": message}, ref=str(message.get("subject_id", ""))[:120])


def ops_alert(kind: str, subject: str, details: dict[str, Any]) -> Intent:
    return Intent("ops_alert", {"kind": kind, "subject": subject, "details": details}, ref=kind)


def email(recipients: list[str], subject: str, text: str, province: str, ref: str = "") -> Intent:
    """An email through the alert-emails topic (each address receives what names it: see aws/notify.py)."""
    return Intent("email", {"recipients": sorted(set(recipients)), "subject": subject, "text": text,
                            "province": province}, ref=ref)


def subscribe_email(address: str, ref: str = "") -> Intent:
    """Subscribe a newly registered address to the alert-emails topic (SNS asks the address to confirm)."""
    return Intent("subscribe_email", {"email": address}, ref=ref)


def store_credentials(agency_code: str, api_type: str, credentials: dict[str, str], version: int) -> Intent:
    """Write a province API's credentials to the secret store (sealed at rest like every intent). ``version`` is the
    registry's credentials version: a store that already holds a later version keeps it, so intents delivered out
    of order cannot roll back."""
    return Intent("store_credentials", {"agency_code": agency_code, "api_type": api_type,
                                        "credentials": credentials, "version": version},
                  ref=f"{agency_code}/{api_type}")


def province_credentials(agency_code: str, api_type: str, sealed: str, version: int = 0, ref: str = "") -> Intent:
    """Credentials already sealed with the app key (a support request's, sealed when it was filed), for the secret
    store: only the outbox consumer's role can open them. ``version`` as for ``store_credentials``."""
    return Intent("province_credentials", {"agency_code": agency_code, "api_type": api_type, "sealed": sealed,
                                           "version": version}, ref=ref)


def retry_after_s(attempts: int) -> int:
    """How long the sweeper leaves a failed intent alone: 1, 2, 4 ... minutes, at most an hour."""
    return min(3600, 60 * 2 ** max(0, attempts - 1))
