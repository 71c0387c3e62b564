"""The banks that collect land financial obligations through the portal.

Each bank has a short code used in our API and records, its NAPAS BIN, and the callback protocol its adapter speaks
(``standard_webhooks`` for signed JSON callbacks, ``vnpay_ipn`` for a VNPay-style IPN). The list is data
(``data/banks.json``). Whether a bank has single sign-on with the portal is stage configuration, not bank data.

A bank's settlement cut-off decides the settlement day of a payment (``settlement_day``): the day whose settlement
file should list it, which is where reconciliation's day index files the payment.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Literal

from chalicelib.core.clock import VN_TZ
from chalicelib.core.validation import InvalidValueError

BankProtocol = Literal["standard_webhooks", "vnpay_ipn", "internal"]

_DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "banks.json"


@dataclass(frozen=True)
class Bank:
    """A collecting bank as citizens see it and as our adapters address it."""

    code: str
    name_vi: str
    short_name: str
    napas_bin: str
    protocol: BankProtocol
    settlement_cutoff: str | None = None  # "HH:MM:SS" Vietnam time; None: the calendar day (see banks.json)


@cache
def _load_banks() -> dict[str, Bank]:
    rows = json.loads(_DATA_FILE.read_text(encoding="utf-8"))["banks"]
    return {row["code"]: Bank(**row) for row in rows}


@cache
def test_bank() -> Bank:
    """The integration self-test's bank (``internal``: the self-test itself reports its results). Kept apart from the
    collecting banks on purpose: ``get_bank`` and ``bank_registry`` never return it, so no citizen can choose it and
    no callback route can reach it; it only ever pays test payments (payments.services.test_payments)."""
    return Bank(**json.loads(_DATA_FILE.read_text(encoding="utf-8"))["test_bank"])


def is_test_bank(code: str) -> bool:
    return isinstance(code, str) and code.strip().upper() == test_bank().code


def bank_name(code: str) -> str:
    """The Vietnamese name of a collecting bank or of the test bank (receipts name the bank that collected)."""
    return test_bank().name_vi if is_test_bank(code) else get_bank(code).name_vi


def bank_registry() -> dict[str, Bank]:
    """All collecting banks by code (VCB, ICB, BIDV, VBA, MB); read once, and a copy so callers cannot alter it."""
    return dict(_load_banks())


def get_bank(code: str) -> Bank:
    """The bank with this code (case and surrounding spaces ignored); an unknown code is refused with BANK_UNKNOWN."""
    bank = _load_banks().get(code.strip().upper()) if isinstance(code, str) else None
    if bank is None:
        raise InvalidValueError("BANK_UNKNOWN", "Ngân hàng không được hỗ trợ thanh toán nghĩa vụ tài chính về đất đai.")
    return bank


def settlement_day(bank_code: str, paid_at: datetime | str) -> date:
    """The day whose settlement file should carry a payment paid at ``paid_at`` (aware, or ISO 8601 with offset):
    its calendar day in Vietnam, or the next day when paid at or after the bank's cut-off."""
    moment = datetime.fromisoformat(paid_at) if isinstance(paid_at, str) else paid_at
    local = moment.astimezone(VN_TZ)
    cutoff = get_bank(bank_code).settlement_cutoff
    if cutoff is not None and local.time() >= time.fromisoformat(cutoff):
        return local.date() + timedelta(days=1)
    return local.date()
