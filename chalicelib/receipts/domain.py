"""Electronic receipts (M5): the receipt content, which rules number it, and the gap-free series it draws from.

Two sets of rules, chosen by the date of issue (``ReceiptRules.switch_date``, configuration):

- before the switch (Circular 78/2021 era): form symbol ``01BLP0-001``, series ``BI-{yy}T``, 7-digit numbers, one
  counter per collecting unit and year. Receipts issued under them keep their symbols and numbers for ever;
- from the switch (Decree 254/2026, Circular 91/2026): form symbol ``EBL01``, series = 2-digit year + ``T`` + the
  unit's two letters (``26TAA``), numbers of up to 8 digits restarting at 1 every 1 January, one counter per unit and
  series (the series carries the year), the collecting organisation's signature (signed XML) and a short
  verification secret printed with the QR code.

A counter is one ledger item moved by exactly one in the same transaction as the receipt, so numbers have no gaps.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from chalicelib.core.clock import VN_TZ
from chalicelib.core.codes import province_agency_code
from chalicelib.core.words import amount_in_words
from chalicelib.receipts.units import CollectingUnit

RECEIPT_NUMBER_DIGITS = 7  # the replaced rules
MODERN_NUMBER_DIGITS = 8  # Decree 254/2026 art. 23.2: "up to 8 digits"
RELATIONS = ("replacement", "adjustment", "cancellation")
TEST_DELIVERY_STATE = "SELFTEST"  # a self-test receipt is delivered by the self-test itself: never queued, never swept


class Receipt(BaseModel):
    model_config = ConfigDict(extra="ignore")

    receipt_id: str
    receipt_number: str
    sequence: int
    template_symbol: str
    series: str
    collecting_unit_code: str
    collecting_unit_name: str
    province_code: str | None = None  # land: the dossier's province, whose one-stop software receives the receipt
    collecting_unit_tax_code: str | None = None
    payer_name: str
    payer_tax_code: str | None = None
    payer_address: str | None = None
    dossier_code: str | None = None
    notice_number: str
    payment_kind: str = "land"  # land | personal_tax | registration_fee
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
    reference_number: str | None = None  # số tham chiếu of the payment (Circular 89/2026 art. 36)
    tax_payment_id: str | None = None  # mã định danh khoản phải nộp, when the tax authority gave one
    verification_secret: str | None = None  # printed with the QR code (receipts under the current rules)
    related_receipt: dict | None = None  # the receipt this one replaces, adjusts or cancels
    signed: bool = False  # a signed XML (the legal record) is stored with it
    delivery_state: str = "PENDING"
    test: bool = False  # a self-test receipt: test series, its own counter, excluded from reports

    @property
    def modern(self) -> bool:
        return self.verification_secret is not None


@dataclass(frozen=True)
class ReceiptRules:
    switch_date: date = date(2026, 7, 1)
    form_symbol: str = "EBL01"
    legacy_form_symbol: str = "01BLP0-001"
    legacy_series_pattern: str = "BI-{yy}T"
    # The integration self-test's receipts: a series of their own (and their own counter), never the real numbering.
    # Under the current rules it is the standard "YYT" + two letters, with letters no collecting unit has, numbered
    # nationwide (series + number identify a test receipt too); under the replaced rules, per unit.
    test_series_pattern: str = "KT-{yy}T"
    test_series_letters: str = "KT"

    def modern_on(self, issued_at: datetime) -> bool:
        return issued_at.astimezone(VN_TZ).date() >= self.switch_date


@dataclass(frozen=True)
class SeriesSlot:
    """Where a receipt issued now by a unit takes its number from."""

    unit: CollectingUnit
    form_symbol: str
    series: str
    year: int
    modern: bool
    test: bool = False  # the self-test's series of the unit

    @property
    def counter_key(self) -> str:
        if self.test:  # never a real counter: test receipts never take a real number
            return f"CTR#TEST#{self.form_symbol}#{self.series}" if self.modern else f"CTR#{self.unit.code}#TEST#{self.series}"
        # The replaced rules' counters keep their keys: their series go on numbering where they were.
        if not self.modern:
            return f"CTR#{self.unit.code}#{self.year}"
        return f"CTR#{self.unit.code}#{self.form_symbol}#{self.series}"

    def number(self, sequence: int) -> str:
        digits = MODERN_NUMBER_DIGITS if self.modern else RECEIPT_NUMBER_DIGITS
        if sequence < 1 or sequence >= 10**digits:
            raise ValueError("receipt sequence out of range")
        return f"{sequence:0{digits}d}"


def slot_for(rules: ReceiptRules, unit: CollectingUnit, issued_at: datetime, test: bool = False) -> SeriesSlot:
    """The series a receipt issued now draws from (``test``: the unit's self-test series, whatever the rules)."""
    local = issued_at.astimezone(VN_TZ)
    modern = rules.modern_on(local)
    if test:
        if modern:
            return SeriesSlot(unit, rules.form_symbol, f"{local.year % 100:02d}T{rules.test_series_letters}", local.year,
                              True, test=True)
        return SeriesSlot(unit, rules.legacy_form_symbol, series_for(rules.test_series_pattern, local), local.year,
                          False, test=True)
    if modern:
        return SeriesSlot(unit, rules.form_symbol, f"{local.year % 100:02d}T{unit.series_letters}", local.year, True)
    return SeriesSlot(unit, rules.legacy_form_symbol, series_for(rules.legacy_series_pattern, local), local.year,
                      False)


def receipt_id_for(payment_id: str) -> str:
    """One receipt per payment, by construction: the receipt id is derived from the payment id."""
    return "RCP" + payment_id[3:] if payment_id.startswith("PAY") else "RCP" + payment_id


def format_receipt_number(sequence: int) -> str:
    if sequence < 1 or sequence >= 10**RECEIPT_NUMBER_DIGITS:
        raise ValueError("receipt sequence out of range")
    return f"{sequence:0{RECEIPT_NUMBER_DIGITS}d}"


def series_for(pattern: str, issued_at: datetime) -> str:
    return pattern.replace("{yy}", f"{issued_at.year % 100:02d}").replace("{yyyy}", str(issued_at.year))


def verification_key(series: str, number: str | int, secret: str) -> str:
    """The lookup key of the public verification: series, number (as a number: "00000012" and "12" are one
    receipt) and the printed secret. A hash, so the key alone opens nothing."""
    return hashlib.sha256(f"{series}\x1f{int(number)}\x1f{secret}".encode()).hexdigest()


def build_receipt(*, payment: Any, slot: SeriesSlot, sequence: int, bank_name: str, bank_txn_ref: str, paid_at: str,
                  issued_at: datetime, verification_secret: str | None) -> Receipt:
    """The receipt of a paid payment (``payment`` is the payments' Payment: what the receipt prints is on it)."""
    return Receipt(
        receipt_id=receipt_id_for(payment.payment_id),
        receipt_number=slot.number(sequence),
        sequence=sequence,
        template_symbol=slot.form_symbol,
        series=slot.series,
        collecting_unit_code=slot.unit.code,
        collecting_unit_name=slot.unit.name,
        collecting_unit_tax_code=slot.unit.tax_code,
        province_code=province_agency_code(payment.dossier_code) if payment.dossier_code else None,
        payer_name=payment.payer_name,
        payer_tax_code=payment.payer_tax_code,
        payer_address=payment.payer_address,
        dossier_code=payment.dossier_code,
        notice_number=payment.notice_number,
        payment_kind=payment.kind,
        items=payment.items,
        amount_vnd=payment.amount_vnd,
        amount_in_words=amount_in_words(payment.amount_vnd),
        bank_code=payment.bank_code,
        bank_name=bank_name,
        bank_txn_ref=bank_txn_ref,
        paid_at=paid_at,
        issued_at=issued_at.isoformat(),
        payment_id=payment.payment_id,
        reference_number=payment.reference_number,
        tax_payment_id=payment.tax_payment_id,
        verification_secret=verification_secret if slot.modern else None,
        # Tax payments go to no province; a self-test receipt is delivered by the self-test itself.
        delivery_state=TEST_DELIVERY_STATE if slot.test else "PENDING" if payment.dossier_code else "NONE",
        test=slot.test,
    )


def build_related(old: Receipt, *, relation: str, note: str, slot: SeriesSlot, sequence: int, issued_at: datetime,
                  new_id: str, verification_secret: str, changes: dict[str, Any]) -> Receipt:
    """A receipt that replaces, adjusts or cancels ``old``: a new number in the unit's current series, the old one's
    form, series, number and date as its related receipt. ``old`` itself is never changed."""
    if relation not in RELATIONS:
        raise ValueError("unknown relation")
    related = {"relation": relation, "receipt_id": old.receipt_id, "template_symbol": old.template_symbol,
               "series": old.series, "receipt_number": old.receipt_number, "issued_at": old.issued_at, "note": note}
    return old.model_copy(update={
        **changes, "receipt_id": new_id, "receipt_number": slot.number(sequence), "sequence": sequence,
        "template_symbol": slot.form_symbol, "series": slot.series, "collecting_unit_name": slot.unit.name,
        "collecting_unit_tax_code": slot.unit.tax_code, "issued_at": issued_at.isoformat(),
        "verification_secret": verification_secret, "related_receipt": related, "signed": False,
        "delivery_state": "PENDING" if old.province_code else "NONE"})


@dataclass(frozen=True)
class Issue:
    """One receipt to write: with its counter move, its signed XML and its day's summary row, in one transaction."""

    receipt: Receipt
    counter_key: str
    counter_was: int
    signed_xml: bytes | None = None
