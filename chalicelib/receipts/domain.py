"""Electronic receipts (M5): numbering from a gap-free series per collecting unit and year, and the receipt content."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from chalicelib.core.words import amount_in_words

RECEIPT_NUMBER_DIGITS = 7
# Receipts of the integration self-test draw from their own counter per unit and year (never the real numbering).
TEST_SERIES_SUFFIX = "#TEST"
TEST_DELIVERY_STATE = "SELFTEST"  # delivered by the self-test itself: never queued, never swept


class Receipt(BaseModel):
    model_config = ConfigDict(extra="ignore")

    receipt_id: str
    receipt_number: str
    sequence: int
    template_symbol: str
    series: str
    collecting_unit_code: str
    collecting_unit_name: str
    payer_name: str
    dossier_code: str
    notice_number: str
    items: list[dict]
    amount_vnd: int
    amount_in_words: str
    currency: str = "VND"
    bank_code: str
    bank_name: str
    bank_txn_ref: str
    paid_at: str
    issued_at: str
    payment_id: str
    delivery_state: str = "PENDING"
    test: bool = False  # a self-test receipt: test series, its own counter, excluded from reports


def series_unit(collecting_unit: str, test: bool) -> str:
    """The key of the numbering a receipt draws from: the unit's real series, or its separate test series."""
    return f"{collecting_unit}{TEST_SERIES_SUFFIX}" if test else collecting_unit


def receipt_id_for(payment_id: str) -> str:
    """One receipt per payment, by construction: the receipt id is derived from the payment id."""
    return "RCP" + payment_id[3:] if payment_id.startswith("PAY") else "RCP" + payment_id


def format_receipt_number(sequence: int) -> str:
    if sequence < 1 or sequence >= 10**RECEIPT_NUMBER_DIGITS:
        raise ValueError("receipt sequence out of range")
    return f"{sequence:0{RECEIPT_NUMBER_DIGITS}d}"


def series_for(pattern: str, issued_at: datetime) -> str:
    return pattern.replace("{yy}", f"{issued_at.year % 100:02d}").replace("{yyyy}", str(issued_at.year))


def build_receipt(
    *,
    payment,
    sequence: int,
    template_symbol: str,
    series_pattern: str,
    collecting_unit_name: str,
    bank_name: str,
    bank_txn_ref: str,
    paid_at: str,
    issued_at: datetime,
) -> Receipt:
    test = bool(getattr(payment, "test", False))
    return Receipt(
        receipt_id=receipt_id_for(payment.payment_id),
        receipt_number=format_receipt_number(sequence),
        sequence=sequence,
        template_symbol=template_symbol,
        series=series_for(series_pattern, issued_at),
        collecting_unit_code=payment.collecting_unit,
        collecting_unit_name=collecting_unit_name,
        payer_name=payment.payer_name,
        dossier_code=payment.dossier_code,
        notice_number=payment.notice_number,
        items=payment.items,
        amount_vnd=payment.amount_vnd,
        amount_in_words=amount_in_words(payment.amount_vnd),
        bank_code=payment.bank_code,
        bank_name=bank_name,
        bank_txn_ref=bank_txn_ref,
        paid_at=paid_at,
        issued_at=issued_at.isoformat(),
        payment_id=payment.payment_id,
        delivery_state=TEST_DELIVERY_STATE if test else "PENDING",
        test=test,
    )
