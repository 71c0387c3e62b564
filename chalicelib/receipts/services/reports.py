"""The daily summary table of receipts to the tax authority (01/TH-BLĐT), per collecting unit and day with receipts,
sent on the day of issue: a late-evening run sends today's tables, every run also catches up days still open (a
missed run, an outage, a receipt issued after the day's report). Sending is signed (the collecting organisation's
key over the table; the request itself per Standard Webhooks), acknowledged by the tax authority (ack id), retried
with backoff like province deliveries when it cannot be reached, and a refused table alerts the operators at once
(an alert intent written with the day's state: the outbox publishes it, whichever function ran the send).
Operators see every day's state and can resend one.
"""
from __future__ import annotations

import logging
from datetime import date, timedelta

from chalicelib.core.clock import epoch
from chalicelib.core.errors import AppError, not_found
from chalicelib.outbox import domain as outbox
from chalicelib.receipts.ports import ReceiptsContext, TaxAuthorityError
from chalicelib.receipts.reporting import MAX_ATTEMPTS, DayReport, ReportState, report_document, retry_after_s
from chalicelib.receipts.units import UnknownCollectingUnitError, collecting_unit

log = logging.getLogger(__name__)
STOPPED = (ReportState.REFUSED, ReportState.DEAD)  # waiting for an operator (or a new receipt of the day)


def send_due_reports(svc: ReceiptsContext, limit: int = 100) -> dict:
    """The scheduled run: every open unit-day that is due (days before today; today once the send time has come)."""
    now = svc.clock.now()
    policy = svc.settings.receipt_reports
    outcome = {"due": 0, "acked": 0, "failed": 0, "refused": 0}
    for report in svc.reports.open_days(limit):
        if report.state in STOPPED or not policy.due(report.day, now) or report.next_attempt_at > epoch(now):
            continue
        outcome["due"] += 1
        state = send_day(svc, report)
        outcome["acked" if state == ReportState.ACKED else
                "refused" if state == ReportState.REFUSED else "failed"] += 1
    if outcome["due"]:
        log.info("receipt reports sent", extra=outcome)
    return outcome


def send_day(svc: ReceiptsContext, report: DayReport) -> ReportState:
    """Sign and send one unit-day's whole table; record what the tax authority said."""
    now = svc.clock.now()
    rows = svc.reports.rows(report.unit, report.day)
    document = report_document(collecting_unit(report.unit), report.day, rows, report.submissions + 1, now)
    entry = {"at": now.isoformat(), "submission": report.submissions + 1, "rows": len(rows)}
    try:
        ack = svc.tax_reports.send_report(document)
    except TaxAuthorityError as exc:
        return _failed(svc, report, exc, entry, now)
    report.attempts, report.next_attempt_at = 0, 0
    report.submissions += 1
    if not ack.accepted:
        report.state, report.last_error = ReportState.REFUSED, "; ".join(ack.errors)[:300] or "REFUSED"
        report.history.append({**entry, "outcome": "refused", "errors": list(ack.errors)[:5]})
        svc.reports.save_outcome(report, None, [outbox.ops_alert(
            "TAX_REPORT_REFUSED", f"Cơ quan thuế từ chối bảng tổng hợp biên lai ngày {report.day}",
            {"unit_code": report.unit, "day": report.day, "errors": list(ack.errors)[:5]})])
        svc.count("TaxReportsRefused")
        return ReportState.REFUSED
    report.state, report.reported_rows, report.ack_id, report.last_error = ReportState.ACKED, len(rows), ack.ack_id, ""
    report.history.append({**entry, "outcome": "acked", "ack_id": ack.ack_id})
    if not svc.reports.save_outcome(report, len(rows)):
        log.info("receipt issued during the report: the day stays open", extra={"unit": report.unit})
    svc.count("TaxReportsAcked")
    return ReportState.ACKED


def _failed(svc: ReceiptsContext, report: DayReport, exc: TaxAuthorityError, entry: dict, now) -> ReportState:
    report.attempts += 1
    dead = report.attempts >= MAX_ATTEMPTS
    report.state = ReportState.DEAD if dead else ReportState.FAILING
    report.next_attempt_at = 0 if dead else epoch(now) + retry_after_s(report.attempts)
    report.last_error = exc.code
    report.history.append({**entry, "outcome": "failed", "error": exc.code})
    alert = [outbox.ops_alert("TAX_REPORT_DEAD", f"Không gửi được bảng tổng hợp biên lai ngày {report.day} cho cơ "
                              "quan thuế", {"unit_code": report.unit, "day": report.day, "attempts": report.attempts})]
    svc.reports.save_outcome(report, None, alert if dead else [])
    svc.count("TaxReportsFailed")
    log.warning("receipt report not sent", extra={"unit": report.unit, "day": report.day, "error": exc.code,
                                                  "attempts": report.attempts})
    return report.state


def list_reports(svc: ReceiptsContext, unit: str, first_day: str | None, last_day: str | None) -> dict:
    try:
        code = collecting_unit(unit).code
    except UnknownCollectingUnitError:
        raise not_found("COLLECTING_UNIT_NOT_FOUND", "Không có đơn vị thu này trong danh mục.") from None
    today = svc.clock.now().date()
    last = last_day or today.isoformat()
    first = first_day or (date.fromisoformat(last) - timedelta(days=31)).isoformat()
    return {"unit_code": code, "days": [r.view() for r in svc.reports.days(code, first, last)]}


def resend_report(svc: ReceiptsContext, actor: str, unit: str, day: str) -> dict:
    """An operator sends a day again now (after a refusal was sorted out, or a dead outage)."""
    try:
        code = collecting_unit(unit).code
    except UnknownCollectingUnitError:
        raise not_found("COLLECTING_UNIT_NOT_FOUND", "Không có đơn vị thu này trong danh mục.") from None
    report = svc.reports.get_day(code, day)
    if report is None:
        raise not_found("TAX_REPORT_NOT_FOUND", "Không có biên lai nào của đơn vị thu trong ngày này.")
    report.history.append({"at": svc.clock.now().isoformat(), "outcome": "resend_requested", "by": actor})
    report.attempts = 0
    state = send_day(svc, report)
    if state not in (ReportState.ACKED, ReportState.REFUSED):
        raise AppError("TAX_AUTHORITY_UNAVAILABLE", "Hệ thống cơ quan thuế đang không phản hồi; bảng tổng hợp sẽ "
                       "được gửi lại tự động.", 503, "Dịch vụ tạm thời gián đoạn")
    return svc.reports.get_day(report.unit, report.day).view()
