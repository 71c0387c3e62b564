"""The daily summary table to the tax authority (01/TH-BLĐT): per unit and day with receipts, exactly the day's
receipts, sent late on the day of issue, caught up after an outage, refused days alerted, visible to operators."""
from __future__ import annotations

from datetime import datetime, time

import pytest

from chalicelib.core.clock import VN_TZ, FixedClock
from chalicelib.core.errors import AppError
from chalicelib.receipts.reporting import MAX_ATTEMPTS, ReportPolicy, summary_row
from chalicelib.receipts.services.corrections import correct_receipt
from chalicelib.receipts.services.reports import list_reports, resend_report, send_due_reports
from tests.unit.test_receipt_issuance import SECOND, UNIT, pay, receipt_of, services

LATE = datetime(2026, 12, 2, 22, 45, tzinfo=VN_TZ)


def test_nothing_goes_before_the_late_evening_send_time_of_the_day():
    svc = services()
    pay(svc)
    assert send_due_reports(svc)["due"] == 0
    assert svc.tax_reports.sent == []


def test_the_days_table_is_exactly_its_receipts_and_sent_on_the_day():
    svc = services()
    receipts = [receipt_of(svc, pay(svc)), receipt_of(svc, pay(svc, SECOND, 2_450_000))]
    svc.clock = FixedClock(LATE)
    assert send_due_reports(svc) == {"due": 1, "acked": 1, "failed": 0, "refused": 0}
    (document,) = svc.tax_reports.sent
    assert (document["unit_code"], document["day"], document["form"]) == (UNIT, "2026-12-02", "01/TH-BLĐT")
    assert document["rows"] == [{"no": i, **summary_row(r)} for i, r in enumerate(receipts, start=1)]
    assert document["row_count"] == 2 and document["total_vnd"] == sum(r.amount_vnd for r in receipts)
    assert {row["status"] for row in document["rows"]} == {"Mới"} and document["rows"][0]["exchange_rate"] == 1
    assert "Nguyễn" not in str(document)  # a table of receipts, not of payers
    assert send_due_reports(svc)["due"] == 0  # acknowledged: not sent again
    (day,) = list_reports(svc, UNIT, None, "2026-12-02")["days"]
    assert (day["state"], day["reported_rows"], day["ack_id"]) == ("ACKED", 2, "ACK-1")


def test_an_outage_is_retried_with_backoff_and_the_day_caught_up_later():
    svc = services()
    pay(svc)
    svc.clock = FixedClock(LATE)
    svc.tax_reports.mode = "down"
    assert send_due_reports(svc)["failed"] == 1
    assert send_due_reports(svc)["due"] == 0  # waiting for its retry time
    svc.clock.advance(minutes=2)
    svc.tax_reports.mode = "ok"
    assert send_due_reports(svc)["acked"] == 1
    day = svc.reports.get_day(UNIT, "2026-12-02")
    assert (day.state.value, day.attempts, day.submissions) == ("ACKED", 0, 1)
    assert [h["outcome"] for h in day.history] == ["failed", "acked"]


def test_a_day_missed_entirely_is_sent_by_the_next_run_whenever_it_comes():
    svc = services()
    pay(svc)
    svc.clock = FixedClock(datetime(2026, 12, 3, 8, 0, tzinfo=VN_TZ))  # the evening run never happened
    assert send_due_reports(svc)["acked"] == 1
    assert svc.tax_reports.sent[0]["day"] == "2026-12-02"


def test_a_receipt_after_the_report_reopens_the_day_and_the_whole_table_goes_again():
    svc = services()
    pay(svc)
    svc.clock = FixedClock(LATE)
    send_due_reports(svc)
    pay(svc, SECOND, 2_450_000)  # 22:45: issued after the day's report
    assert send_due_reports(svc)["acked"] == 1
    first, second = svc.tax_reports.sent
    assert (first["row_count"], second["row_count"], second["submission"]) == (1, 2, 2)


def test_a_refused_day_alerts_the_operators_and_waits_for_them():
    svc = services()
    pay(svc)
    svc.clock = FixedClock(LATE)
    svc.tax_reports.mode = "refuse"
    assert send_due_reports(svc)["refused"] == 1
    assert svc.alerts.kinds == ["TAX_REPORT_REFUSED"]
    assert send_due_reports(svc)["due"] == 0  # not resent on its own
    svc.tax_reports.mode = "ok"
    assert resend_report(svc, "operator-1", UNIT, "2026-12-02")["state"] == "ACKED"


def test_a_day_still_unsent_after_the_last_retry_is_dead_and_alerted():
    svc = services()
    pay(svc)
    svc.clock = FixedClock(LATE)
    svc.tax_reports.mode = "down"
    for _ in range(MAX_ATTEMPTS):
        send_due_reports(svc)
        svc.clock.advance(hours=7)
    assert svc.reports.get_day(UNIT, "2026-12-02").state.value == "DEAD"
    assert "TAX_REPORT_DEAD" in svc.alerts.kinds
    with pytest.raises(AppError) as exc:
        resend_report(svc, "operator-1", UNIT, "2026-12-02")
    assert exc.value.code == "TAX_AUTHORITY_UNAVAILABLE"


def test_a_correction_is_a_new_row_pointing_at_the_old_receipt():
    svc = services()
    old = receipt_of(svc, pay(svc))
    correct_receipt(svc, "op", old.receipt_id, {"relation": "cancellation", "note": "Nộp nhầm, đã hoàn tiền"})
    svc.clock = FixedClock(LATE)
    send_due_reports(svc)
    rows = svc.tax_reports.sent[0]["rows"]
    assert [r["status"] for r in rows] == ["Mới", "Hủy"]
    assert rows[1]["related_receipt"] == {"form_symbol": "EBL01", "series": old.series, "number": old.receipt_number}
    assert rows[1]["explanation"] == "Nộp nhầm, đã hoàn tiền"


def test_the_send_time_is_configuration():
    policy = ReportPolicy(send_after=time(20, 0))
    assert policy.due("2026-12-02", datetime(2026, 12, 2, 20, 0, tzinfo=VN_TZ))
    assert not policy.due("2026-12-02", datetime(2026, 12, 2, 19, 59, tzinfo=VN_TZ))
    assert policy.due("2026-12-01", datetime(2026, 12, 2, 0, 1, tzinfo=VN_TZ))
