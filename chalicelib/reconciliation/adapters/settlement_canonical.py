"""The portal's canonical settlement CSV (RECONCILIATION.md), row by row.

``settlement_date,bank_code,bank_txn_ref,payment_id,amount_vnd,currency,paid_at,status``: ISO date, integer đồng,
``VND``, ISO 8601 time with offset, ``SUCCESS`` or ``REVERSED``. The banks onboarded onto it (VCB, ICB, BIDV, VBA)
deliver it as is, so the mapping is the identity with checks.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Sequence

from chalicelib.reconciliation.domain.settlement import (
    REVERSED,
    SUCCESS,
    LineContext,
    LineError,
    SettlementLine,
    parse_amount,
    require_text,
)

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_STATUSES = (SUCCESS, REVERSED)


def to_line(row: Sequence[str], ctx: LineContext) -> SettlementLine:
    day, bank_code, ref, payment_id, amount, currency, paid_at, status = row
    if currency != "VND":
        raise LineError("Đơn vị tiền (currency) phải là VND.")
    if status not in _STATUSES:
        raise LineError("Trạng thái (status) phải là SUCCESS hoặc REVERSED.")
    return SettlementLine(
        line_no=ctx.line_no, settlement_date=_date(day), bank_code=require_text(bank_code, "Mã ngân hàng"),
        bank_txn_ref=require_text(ref, "Mã giao dịch ngân hàng"), payment_id=require_text(payment_id, "Mã thanh toán"),
        amount_vnd=parse_amount(amount, 1, "Số tiền (amount_vnd)"), currency=currency, paid_at=_moment(paid_at),
        status=status,
    )


def from_line(line: SettlementLine) -> list[str]:
    return [line.settlement_date.isoformat(), line.bank_code, line.bank_txn_ref, line.payment_id,
            str(line.amount_vnd), line.currency, line.paid_at.isoformat(), line.status]


def _date(raw: str) -> date:
    try:
        if _DATE.fullmatch(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise LineError("Ngày đối soát (settlement_date) phải có dạng YYYY-MM-DD.")


def _moment(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw) if 19 <= len(raw) <= 35 else None
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise LineError("Thời điểm thanh toán (paid_at) phải theo ISO 8601, có múi giờ.")
    return moment
