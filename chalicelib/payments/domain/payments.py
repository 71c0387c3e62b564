"""Payment requests and their state machine (M3, M4).

CREATED -> PENDING_BANK -> PAID | FAILED | EXPIRED | CANCELLED, plus one deliberate edge: a bank SUCCESS for a
payment that already EXPIRED or was CANCELLED on our side still moves it to PAID, because the bank has taken the
money and we must account for it (a receipt if the notice is unpaid, a refund case if it is not).
"""
from __future__ import annotations

import re
from datetime import datetime
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.core.clock import VN_TZ


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


PAYMENT_KINDS = ("land", "personal_tax", "registration_fee")


class PaymentOrder(BaseModel):
    """What one payment pays, whoever asks for it: a land notice (this capability's lookup) or a tax debt (the
    taxes capability, from the tax authority's answer). The payment, bank, callback, receipt and history rails are
    the same for every kind; only what the payment claims differs (a dossier's notice, or a tax-debt claim)."""

    model_config = ConfigDict(frozen=True)

    kind: str = "land"
    collecting_unit: str
    notice_number: str  # the notice, decision or debt reference the receipt prints
    amount_vnd: int = Field(gt=0)
    items: list[dict]
    payer_name: str
    payer_tax_code: str | None = None
    payer_address: str | None = None
    tax_payment_id: str | None = None  # mã định danh khoản phải nộp (Circular 89/2026 art. 36)
    dossier_code: str | None = None  # land: the dossier whose notice is claimed
    notice_version: int = 0
    claim_key: str | None = None  # tax debts: the claim that stops the same debt being paid twice
    payer_id_sealed: str | None = None  # the payer's ID number, sealed: for the province payload only
    payer_id_hash: str | None = None  # anonymous payments: the account keyed hash of the lookup's ID number
    notify_phone_sealed: str | None = None  # where the paid SMS goes, sealed
    on_paid: tuple[dict, ...] = ()  # intents {"kind", "payload", "ref"} written with PAID (e.g. tell the tax authority)


class Payment(BaseModel):
    """A payment request for exactly one order. Holds what the receipt needs, so a bank result reads one item."""

    model_config = ConfigDict(extra="ignore")

    payment_id: str
    state: PaymentState
    kind: str = "land"
    dossier_code: str | None = None
    notice_number: str
    notice_version: int = 0
    claim_key: str | None = None
    reference_number: str | None = None  # số tham chiếu: unique in the portal, on every hand-off
    tax_payment_id: str | None = None
    payer_tax_code: str | None = None
    payer_address: str | None = None
    payer_id_sealed: str | None = None
    # Anonymous payments only: the lookup's ID number as the account keyed hash (Keyring.id_hash), so the citizen
    # whose account has that number finds the payment in their history (gsi1 PAYER#<hash>). Never the number.
    payer_id_hash: str | None = None
    notify_phone_sealed: str | None = None
    on_paid: list[dict] = Field(default_factory=list)
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
    # A province's self-test payment (onboarding): kept out of reconciliation and reports.
    test: bool = False
    history: list[dict] = Field(default_factory=list)
    rev: int = 0
    # A payment of the integration self-test (test bank only, test receipt series, excluded from reports and
    # reconciliation): set once when the payment is created, never changed.
    test: bool = False

    def effective_state(self, now_epoch: int) -> PaymentState:
        """A live payment past its expiry is EXPIRED even before a sweeper persists it."""
        if self.state in LIVE_STATES and now_epoch >= self.expires_at:
            return S.EXPIRED
        return self.state


_PAYMENT_ID = re.compile(r"^PAY([A-Z]\d{2})([0-9A-HJKMNP-TV-Z]{26})$")


def new_reference_number(now: datetime, random_digits: str) -> str:
    """Số tham chiếu: ``DVC`` + the day (yyMMdd, Vietnam time) + 9 random digits; unique in the portal because the
    ledger refuses a number already taken (a clash, one in a billion per day, draws again)."""
    if not (len(random_digits) == 9 and random_digits.isdigit()):
        raise ValueError("nine digits expected")
    return f"DVC{now.astimezone(VN_TZ):%y%m%d}{random_digits}"


_REFERENCE = re.compile(r"^DVC\d{15}$")


def is_reference_number(value: str | None) -> bool:
    return bool(_REFERENCE.fullmatch(value or ""))


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
