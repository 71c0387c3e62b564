"""The ports and settings a use case runs with, wired once per container (bootstrap) or per test (fakes)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from chalicelib.config import Settings
from chalicelib.core.clock import Clock, new_ulid
from chalicelib.core.ports import SmsSender
from chalicelib.payments.ports import (
    AlertPublisher,
    BankLinks,
    DossierRepository,
    ForwardingQueue,
    IdHasher,
    Ledger,
)


class NoBankLinks:
    """Until account linking exists, no citizen is linked to any bank."""

    def is_linked(self, citizen_sub: str, bank_code: str) -> bool:
        return False


@dataclass
class Services:
    settings: Settings
    clock: Clock
    dossiers: DossierRepository
    ledger: Ledger
    sms: SmsSender
    alerts: AlertPublisher
    forwarding: ForwardingQueue
    hasher: IdHasher
    bank_links: BankLinks = field(default_factory=NoBankLinks)
    new_id: Callable[[], str] = new_ulid
    metrics: Any = None  # optional: object with add(name, value) — Powertools Metrics in Lambda

    def count(self, name: str, value: int = 1) -> None:
        if self.metrics is not None:
            self.metrics.add(name, value)
