"""M14 §4: tallies written with the state changes, reports computed from them (sums, breakdowns, median delay),
every scoping refusal, and the exports read back (openpyxl cell by cell, the csv module)."""
from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import pytest

from chalicelib.core import tallies
from chalicelib.core.clock import VN_TZ, FixedClock
from chalicelib.core.context import Context
from chalicelib.core.errors import AppError
from chalicelib.payments.services.bank_results import BankResult, apply_bank_result
from chalicelib.payments.services.intake import ingest_notices
from chalicelib.payments.services.payment_requests import initiate_payment
from chalicelib.reports.domain import Viewer, median_delay
from chalicelib.reports.exports import render
from chalicelib.reports.services import accounts_report, collections_report, export_report
from tests.fakes import make_services, payment_body, sample_batch, sample_notice

D = date(2026, 5, 20)
H35 = "12"  # the current province holding agency code H35 (data/admin_units/agency_codes.json: Lai Châu)
OPERATOR = Viewer("op-1", frozenset({"operator"}))
ADMIN_35 = Viewer("adm-1", frozenset({"province_admin"}), "H35")
OFFICER = Viewer("off-1", frozenset({"officer"}), "35", ("000.00.43.H35",))


class FakeReportDays:
    """The report day items as DynamoDB keeps them: one counter map per (province, day), added to by tallies."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, date], Counter] = defaultdict(Counter)
        self.calls = 0

    def add(self, *added: tallies.Tally) -> None:
        for tally in added:
            self.items[(tally.province, tally.day)].update(tally.as_dict())

    def days(self, province, date_from, date_to):
        self.calls += 1
        return sorted((day, dict(c)) for (p, day), c in self.items.items() if p == province
                      and date_from <= day <= date_to)


class FakeExports:
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}

    def publish(self, key, content, content_type, file_name, expires_s):
        self.files[key] = (content, content_type)
        return f"https://s3.example/{key}?X-Amz-Expires={expires_s}"


def paid_world(amounts=(1_000_000, 2_500_000, 700_000), test_index: int | None = None):
    svc = make_services(clock=FixedClock(datetime(2026, 5, 20, 8, tzinfo=VN_TZ)))
    numbers = [f"TB-R-{i}" for i in range(len(amounts))]
    ingest_notices(svc, sample_batch(*(sample_notice(n, amount=a) for n, a in zip(numbers, amounts, strict=True))))
    for i, (number, amount) in enumerate(zip(numbers, amounts, strict=True)):
        bank = "VCB" if i % 2 else "BIDV"
        pid = initiate_payment(svc, payment_body(number, bank), None, None)[1]["payment_id"]
        if i == test_index:  # a self-test payment: made at the test bank, paid by it alone
            bank = "KTHU"
            stored = svc.ledger.get_payment(pid).model_copy(update={"test": True, "bank_code": bank})
            svc.ledger._payments[pid] = stored.model_dump_json()
        apply_bank_result(svc, BankResult(bank, pid, f"FT{i:08d}", amount, "VND", True,
                                          f"2026-05-{20 + i:02d}T10:00:00+07:00"))
    days = FakeReportDays()
    days.add(*svc.ledger.tallies)
    return svc, days


def report_ctx(days: FakeReportDays) -> Context:
    return make_services(report_days=days, export_files=FakeExports())


def query(**over):
    return {"date_from": "2026-05-01", "date_to": "2026-05-31", **over}


def test_report_figures_are_the_sums_of_the_payments_and_leave_test_payments_out():
    _, days = paid_world(test_index=2)
    report = collections_report(report_ctx(days), OPERATOR, query(province="H35"))

    assert report["province"]["code"] == H35
    assert report["totals"] == {"paid_count": 2, "paid_vnd": 3_500_000, "refunded_count": 0, "refunded_vnd": 0,
                                "net_vnd": 3_500_000}
    assert [r["period"] for r in report["by_period"]] == ["2026-05-20", "2026-05-21"]
    assert {b["bank_code"]: b["paid_vnd"] for b in report["by_bank"]} == {"BIDV": 1_000_000, "VCB": 2_500_000}
    assert report["by_sub_item"] == [{"sub_item_code": "2801", "sub_item_name": report["by_sub_item"][0]
                                      ["sub_item_name"], "paid_count": 2, "paid_vnd": 3_500_000,
                                      "refunded_count": 0, "refunded_vnd": 0}]
    assert report["by_unit"][0]["unit_code"] == "000.00.00.H35"
    monthly = collections_report(report_ctx(days), OPERATOR, query(province="000.00.00.H35", group_by="month"))
    assert monthly["by_period"] == [{"period": "2026-05", **report["totals"]}]


def test_a_month_of_one_province_is_one_read():
    _, days = paid_world()
    collections_report(report_ctx(days), ADMIN_35, query())
    assert days.calls == 1


def test_the_country_reads_every_province_and_breaks_down_by_province():
    _, days = paid_world()
    report = collections_report(report_ctx(days), OPERATOR, query())
    assert report["province"] is None and days.calls == 34
    assert [(r["province_code"], r["paid_count"]) for r in report["by_province"]] == [(H35, 3)]


def test_refunds_and_accounts_and_deliveries_are_tallied_on_their_day():
    days = FakeReportDays()
    at = datetime(2026, 5, 20, 10, tzinfo=VN_TZ)
    days.add(tallies.paid("000.00.00.H35", "VCB", [("2801", 600_000)], 600_000, at),
             tallies.refunded("000.00.00.H35", "VCB", [("2801", 600_000)], 600_000, at + timedelta(days=1), True),
             tallies.account_created("000.00.43.H35", "off-1", at), tallies.account_created("000.00.43.H35", "off-2", at),
             tallies.account_created("000.00.44.H35", "off-3", at),
             *(tallies.delivery("000.00.00.H35", "delivered", at, s) for s in (5, 20, 40, 400, 90_000)),
             tallies.delivery("H35", "failing", at), tallies.delivery("H35", "dead", at))
    report = collections_report(report_ctx(days), ADMIN_35, query())

    assert report["totals"]["refunded_vnd"] == 600_000 and report["totals"]["net_vnd"] == 0
    assert report["by_sub_item"][0]["refunded_count"] == 1
    assert report["deliveries"] == {"delivered": 5, "failing": 1, "dead": 1,
                                    "median_delay": {"from_s": 30, "to_s": 60}, "median_delay_s": 60}
    assert report["accounts"]["total"] == 3
    assert {(r["unit_code"], r["officer"]) for r in report["accounts"]["by_officer"]} == {
        ("000.00.43.H35", "off-1"), ("000.00.43.H35", "off-2"), ("000.00.44.H35", "off-3")}
    mine = accounts_report(report_ctx(days), OFFICER, query())
    assert mine["total"] == 2 and [r["unit_code"] for r in mine["by_unit"]] == ["000.00.43.H35"]


def test_median_of_the_histogram():
    assert median_delay({}) is None
    assert median_delay({0: 1}) == {"from_s": 0, "to_s": 10}
    assert median_delay({0: 1, 3: 2}) == {"from_s": 60, "to_s": 120}
    assert median_delay({14: 1}) == {"from_s": 259200, "to_s": None}


@pytest.mark.parametrize("who, params, code", [
    (ADMIN_35, query(province="01"), "REPORT_PROVINCE_FORBIDDEN"),  # another province
    (Viewer("adm-2", frozenset({"province_admin"}), None), query(), "REPORT_PROVINCE_UNKNOWN"),  # no province
    (Viewer("adm-3", frozenset({"province_admin"}), "999"), query(), "REPORT_PROVINCE_UNKNOWN"),
    (OFFICER, query(), "REPORT_FORBIDDEN"),  # officers see accounts only
    (Viewer("cit", frozenset({"citizen"})), query(), "REPORT_FORBIDDEN"),
], ids=["other-province", "no-claim", "unknown-claim", "officer", "citizen"])
def test_collections_scope_refusals(who, params, code):
    with pytest.raises(AppError) as refused:
        collections_report(report_ctx(FakeReportDays()), who, params)
    assert refused.value.status == 403 and refused.value.code == code


@pytest.mark.parametrize("who, params, code", [
    (OFFICER, query(unit_code="000.00.44.H35"), "UNIT_FORBIDDEN"),  # not the officer's unit
    (Viewer("off-2", frozenset({"officer"}), "35", ()), query(), "REPORT_UNITS_MISSING"),
    (ADMIN_35, query(province="79"), "REPORT_PROVINCE_FORBIDDEN"),
    (Viewer("cit", frozenset({"citizen"})), query(), "REPORT_FORBIDDEN"),
], ids=["other-unit", "no-units", "admin-other-province", "citizen"])
def test_accounts_scope_refusals(who, params, code):
    with pytest.raises(AppError) as refused:
        accounts_report(report_ctx(FakeReportDays()), who, params)
    assert refused.value.status == 403 and refused.value.code == code


def test_a_range_is_checked():
    # One date against the other is a rule no schema states: its own (declared) code, not VALIDATION_FAILED.
    for params, code in ((query(date_to="2026-04-01"), "DATE_RANGE_INVALID"),
                         (query(date_to="2027-06-01"), "DATE_RANGE_TOO_LONG")):
        with pytest.raises(AppError) as refused:
            collections_report(report_ctx(FakeReportDays()), OPERATOR, params)
        assert refused.value.code == code and [e.code for e in refused.value.errors] == [code]
    with pytest.raises(AppError) as unknown:  # not a province code in any form the document allows
        collections_report(report_ctx(FakeReportDays()), OPERATOR, query(province="Atlantis"))
    assert unknown.value.code == "VALIDATION_FAILED"


def test_xlsx_export_read_back_cell_by_cell():
    from openpyxl import load_workbook

    _, days = paid_world()
    ctx = report_ctx(days)
    link = export_report(ctx, ADMIN_35, {**query(), "format": "xlsx"})
    content, content_type = next(iter(ctx.export_files.files.values()))

    assert link["url"].startswith("https://s3.example/report-exports/") and link["size_bytes"] == len(content)
    assert content_type.startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames[:3] == ["Tổng hợp", "Theo kỳ", "Theo đơn vị thu"]
    totals = book["Tổng hợp"]
    assert [c.value for c in totals[1]][:4] == ["Phạm vi", "Từ ngày", "Đến ngày", "Số giao dịch đã thu"]
    assert totals["A2"].value == "Tỉnh Lai Châu"
    assert totals["D2"].value == 3 and totals["E2"].value == 4_200_000 and totals["E2"].number_format == "#,##0"
    assert totals.freeze_panes == "A2"
    period = book["Theo kỳ"]
    assert [[c.value for c in row][:3] for row in period.iter_rows(min_row=2, max_row=5)] == [
        ["2026-05-20", 1, 1_000_000], ["2026-05-21", 1, 2_500_000], ["2026-05-22", 1, 700_000],
        ["Tổng cộng", 3, 4_200_000]]
    banks = book["Theo ngân hàng"]
    assert [c.value for c in banks[1]][:3] == ["Mã ngân hàng", "Ngân hàng", "Số giao dịch đã thu"]
    assert banks["A4"].value == "Tổng cộng" and banks["D4"].value == 4_200_000


def test_csv_export_read_back_with_the_csv_module():
    _, days = paid_world()
    ctx = report_ctx(days)
    export_report(ctx, OPERATOR, {**query(province="H35"), "format": "csv", "breakdown": "by_bank"})
    content, content_type = next(iter(ctx.export_files.files.values()))

    assert content.startswith(b"\xef\xbb\xbf") and content_type.startswith("text/csv")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Mã ngân hàng", "Ngân hàng", "Số giao dịch đã thu"]
    assert rows[1:] == [["BIDV", "BIDV", "2", "1700000", "0", "0"], ["VCB", "Vietcombank", "1", "2500000", "0", "0"],
                        ["Tổng cộng", "", "3", "4200000", "0", "0"]]


def test_an_officer_exports_only_the_accounts_of_their_units():
    days = FakeReportDays()
    at = datetime(2026, 5, 20, 10, tzinfo=VN_TZ)
    days.add(tallies.account_created("000.00.43.H35", "off-1", at), tallies.account_created("000.00.44.H35", "x", at))
    ctx = report_ctx(days)
    export_report(ctx, OFFICER, {**query(), "report": "accounts", "format": "csv"})
    content, _ = next(iter(ctx.export_files.files.values()))
    assert list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))[1:] == [["000.00.43.H35", "1"],
                                                                              ["Tổng cộng", "1"]]
    with pytest.raises(AppError) as refused:
        export_report(ctx, OFFICER, {**query(), "format": "xlsx"})
    assert refused.value.code == "REPORT_FORBIDDEN"


def test_render_refuses_a_breakdown_the_report_lacks():
    report = {"province": None, "date_from": "2026-05-01", "date_to": "2026-05-31", "total": 0, "by_unit": [],
              "by_officer": []}
    with pytest.raises(ValueError):
        render(report, "accounts", "csv", "by_bank")
