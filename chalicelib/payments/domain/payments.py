"""Payment requests and their state machine (M3, M4).

CREATED -> PENDING_BANK -> PAID | FAILED | EXPIRED | CANCELLED, plus one deliberate edge: a bank SUCCESS for a
payment that already EXPIRED or was CANCELLED on our side still moves it to PAID, because the bank has taken the
money and we must account for it (a receipt if the notice is unpaid, a refund case if it is not).
"""
from __future__ import annotations

import re
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class PaymentState(str, Enum):
    CREATED = "CREATED"
    PENDING_BANK = "PENDING_BANK"
    PAID = "PAID"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


S = PaymentState
TRANSITIONS: dict[PaymentState, frozenset[PaymentState]] = {
    S.CREATED: frozenset({S.PENDING_BANK, S.PAID, S.FAILED, S.EXPIRED, S.CANCELLED}),
    S.PENDING_BANK: frozenset({S.PAID, S.FAILED, S.EXPIRED, S.CANCELLED}),
    S.EXPIRED: frozenset({S.PAID}),
    S.CANCELLED: frozenset({S.PAID}),
    S.PAID: frozenset(),
    S.FAILED: frozenset(),
}
LIVE_STATES = frozenset({S.CREATED, S.PENDING_BANK})


class IllegalTransitionError(Exception):
    def __init__(self, current: PaymentState, target: PaymentState) -> None:
        super().__init__(f"{current.value} -> {target.value} is not a legal transition")
        self.current, self.target = current, target


def can_transition(current: PaymentState, target: PaymentState) -> bool:
    return target in TRANSITIONS[current]


def check_transition(current: PaymentState, target: PaymentState) -> None:
    if not can_transition(current, target):
        raise IllegalTransitionError(current, target)


class Payment(BaseModel):
    """A payment request for exactly one notice. Holds what the receipt needs, so a bank result reads one item."""

    model_config = ConfigDict(extra="ignore")

    payment_id: str
    state: PaymentState
    dossier_code: str
    notice_number: str
    notice_version: int
    amount_vnd: int
    currency: str = "VND"
    bank_code: str
    collecting_unit: str
    payer_name: str
    items: list[dict]
    created_at: str
    expires_at: int  # epoch seconds
    return_url: str | None = None
    redirect_url: str = ""
    citizen_sub: str | None = None
    bank_txn_ref: str | None = None
    paid_at: str | None = None
    receipt_id: str | None = None
    refund_required: bool = False
    # Other bank transactions reported as successes for this payment (money taken twice: refund them).
    extra_bank_txn_refs: list[str] = Field(default_factory=list)
    # Summaries of the refunds of this payment's bank transactions (kept by reconciliation's refund use cases, in
    # the same transaction as the refund itself): what the citizen's history shows.
    refunds: list[dict] = Field(default_factory=list)
    failure_reason: str | None = None
    history: list[dict] = Field(default_factory=list)
    rev: int = 0

    def effective_state(self, now_epoch: int) -> PaymentState:
        """A live payment past its expiry is EXPIRED even before a sweeper persists it."""
        if self.state in LIVE_STATES and now_epoch >= self.expires_at:
            return S.EXPIRED
        return self.state


_PAYMENT_ID = re.compile(r"^PAY([A-Z]\d{2})([0-9A-HJKMNP-TV-Z]{26})$")


def new_payment_id(province_letter_code: str, ulid: str) -> str:
    """`PAY` + the province's level-1 code (e.g. H35) + a ULID: the id tells which receipt series it draws from,
    so a bank result can read the payment and its receipt counter in one batch read."""
    return f"PAY{province_letter_code}{ulid}"


def is_payment_id(value: str) -> bool:
    return bool(_PAYMENT_ID.fullmatch(value or ""))


def province_of_payment(payment_id: str) -> str:
    m = _PAYMENT_ID.fullmatch(payment_id)
    if not m:
        raise ValueError("not a payment id")
    return m.group(1)


def collecting_unit_of_province(letter_code: str) -> str:
    return f"000.00.00.{letter_code}"
