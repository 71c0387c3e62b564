"""Outcomes every repository reports the same way, whatever the store: the use cases decide what they mean."""
from __future__ import annotations

from typing import Protocol


class AlreadyExistsError(Exception):
    """The conditional put found the key taken (an account for this ID number, a unit code, a link...)."""


class StaleRecordError(Exception):
    """The record changed since it was read: re-read and decide again."""


class SmsSender(Protocol):
    def send_sms(self, phone_e164: str, message: str) -> None: ...


class Sealer(Protocol):
    """Authenticated encryption of small personal values kept at rest (AES-256-GCM under a key derived from the app
    secret): a phone or an ID number that must travel later, never stored in clear."""

    def seal(self, data: bytes) -> str: ...

    def open(self, token: str) -> bytes: ...
class ReplayGuard(Protocol):
    """What a signed message was answered, for as long as its signature could be replayed (Standard Webhooks: a
    message is valid for 5 minutes either side of its timestamp). A replay is answered from here at the cost of one
    read; only answers given are kept, so a message whose processing failed is processed again when retried."""

    def answer_for(self, scope: str, message_id: str) -> dict | None: ...

    def remember(self, scope: str, message_id: str, answer: dict, until_epoch: int) -> None: ...
