"""The daily summary table of receipts sent to the tax authority (bảng tổng hợp, form 01/TH-BLĐT): pure rules.

Decree 254/2026 gives receipts no per-receipt code from the tax authority; instead the issuer sends, **on the day of
issue**, one table per collecting unit and day with a row per receipt: form symbol, series, number, date, fee type,
amount, exchange rate, status, adjustment period, related receipt, explanation. A replacing, adjusting or
cancelling receipt is a new row (status Thay thế / Điều chỉnh / Hủy) pointing at the old one; a row is never edited.

What is decided here: a receipt's row, the day it belongs to (Vietnam time), which unit-days are due for sending
(days before today at any time - the catch-up; today's once the late-evening send time has come), the document
sent, and the retry schedule of a refused-by-outage send (as province deliveries: 1 min, 5 min, 30 min, 2 h, then
6 h; 17 attempts, then DEAD and the operators are told).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import Enum
from typing import Any

from chalicelib.core.clock import VN_TZ

FORM = "01/TH-BLĐT"
STATUS = {None: ("0", "Mới"), "replacement": ("1", "Thay thế"), "adjustment": ("2", "Điều chỉnh"),
          "cancellation": ("3", "Hủy")}
BACKOFF_S: tuple[int, ...] = (60, 300, 1800, 7200) + (21600,) * 12
MAX_ATTEMPTS = len(BACKOFF_S) + 1


class ReportState(str, Enum):
    OPEN = "OPEN"  # receipts not yet acknowledged in a report (new day, or a receipt after the last report)
    FAILING = "FAILING"  # the tax authority could not be reached or answered nonsense: retried with backoff
    ACKED = "ACKED"  # the last report was accepted and covers every row of the day
    REFUSED = "REFUSED"  # the tax authority refused the table: operators alerted, resent by an operator
    DEAD = "DEAD"  # still not acknowledged after the last retry: operators alerted


@dataclass(frozen=True)
class ReportPolicy:
    send_after: time = time(22, 30)  # today's table goes from this Vietnam time on (late in the day)

    def due(self, day: str, now: datetime) -> bool:
        local = now.astimezone(VN_TZ)
        today = local.date().isoformat()
        return day < today or (day == today and local.time() >= self.send_after)


@dataclass
class DayReport:
    """A collecting unit's day, as the report store holds it."""

    unit: str
    day: str  # YYYY-MM-DD, Vietnam time
    rows: int  # receipts written for the day
    state: ReportState = ReportState.OPEN
    reported_rows: int = 0  # rows covered by the last acknowledged report
    submissions: int = 0
    attempts: int = 0
    next_attempt_at: int = 0  # epoch; 0 = at once
    last_error: str = ""
    ack_id: str = ""
    history: list[dict] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {"unit_code": self.unit, "day": self.day, "rows": self.rows, "state": self.state.value,
                "reported_rows": self.reported_rows, "submissions": self.submissions, "attempts": self.attempts,
                "last_error": self.last_error or None, "ack_id": self.ack_id or None,
                "history": self.history[-10:]}


def report_day(issued_at: str | datetime) -> str:
    moment = datetime.fromisoformat(issued_at) if isinstance(issued_at, str) else issued_at
    return moment.astimezone(VN_TZ).date().isoformat()


def row_key(receipt: Any) -> str:
    """Sort key of a row within its day: by form, series and number, so the table reads in issuing order."""
    return f"{receipt.template_symbol}#{receipt.series}#{int(receipt.receipt_number):08d}"


def summary_row(receipt: Any) -> dict[str, Any]:
    """One row of 01/TH-BLĐT for a receipt (no personal data: the table is about receipts, not payers)."""
    related = receipt.related_receipt or None
    status_code, status = STATUS[related["relation"] if related else None]
    fee_types = "; ".join(dict.fromkeys(str(item["description"]) for item in receipt.items))
    return {
        "form_symbol": receipt.template_symbol, "series": receipt.series, "number": receipt.receipt_number,
        "issued_on": report_day(receipt.issued_at), "fee_type": fee_types,
        "sub_items": sorted({str(item["sub_item_code"]) for item in receipt.items}),
        "amount_vnd": receipt.amount_vnd, "currency": receipt.currency, "exchange_rate": 1,
        "status_code": status_code, "status": status, "adjustment_period": None,
        "related_receipt": ({"form_symbol": related["template_symbol"], "series": related["series"],
                             "number": related["receipt_number"]} if related else None),
        "explanation": (related or {}).get("note") or "",
    }


def report_document(unit: Any, day: str, rows: list[dict[str, Any]], submission: int, created_at: datetime) -> dict:
    """What is signed and sent: the unit's whole table for the day (a later submission replaces an earlier one)."""
    ordered = sorted(rows, key=lambda r: (r["form_symbol"], r["series"], int(r["number"])))
    return {
        "form": FORM, "unit_code": unit.code, "unit_name": unit.name, "unit_tax_code": unit.tax_code, "day": day,
        "submission": submission, "created_at": created_at.astimezone(VN_TZ).isoformat(),
        "rows": [{"no": i, **row} for i, row in enumerate(ordered, start=1)],
        "row_count": len(ordered), "total_vnd": sum(r["amount_vnd"] for r in ordered),
    }


def retry_after_s(attempts: int) -> int:
    return BACKOFF_S[min(max(attempts, 1), len(BACKOFF_S)) - 1]


def day_of(value: str) -> date:
    return date.fromisoformat(value)
