"""What the M13 use cases need: the tax authority (lookups; payments are told through the outbox), the signed-in
citizen's tax code and phone (the account store, behind this port: taxes does not know accounts), and the
payments' rails (ledger claims and history) through payments' own ports."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.payments.ports import PaymentsContext
from chalicelib.taxes.domain import TaxInfo


@dataclass(frozen=True)
class TaxpayerAccount:
    tax_code: str | None
    phone: str | None  # E.164: where the paid SMS goes


class TaxAuthority(Protocol):
    def lookup(self, tax_code: str) -> TaxInfo | None:
        """The taxpayer and what they owe (None: the tax authority does not know the code). Raises
        receipts.ports.TaxAuthorityError when it cannot be reached (after its retries)."""


class Taxpayers(Protocol):
    def account(self, account_id: str) -> TaxpayerAccount | None: ...


class PaymentHistory(Protocol):
    def payments_of(self, citizen_sub: str, limit: int, cursor: str | None) -> tuple[list[Any], str | None]: ...


class TaxesContext(PaymentsContext, Protocol):
    tax_authority: TaxAuthority
    taxpayers: Taxpayers
    history: PaymentHistory
