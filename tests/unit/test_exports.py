"""Report exports: Excel read back cell by cell with openpyxl, CSV with the csv module."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook

from chalicelib.reconciliation.exports import VND_NOTE, Column, SheetSpec, sheet_title, write_csv, write_xlsx

VN = timezone(timedelta(hours=7))
COLUMNS = [Column("province", "Tỉnh/thành phố"), Column("count", "Số giao dịch", "int"),
           Column("amount", "Số tiền (đồng)", "vnd"), Column("last_paid_at", "Thanh toán gần nhất", "datetime"),
           Column("day", "Ngày", "date")]
ROWS = [
    {"province": "Quảng Ninh", "count": 4_200, "amount": 10_500_000_000,
     "last_paid_at": datetime(2026, 11, 30, 16, 59, 58, tzinfo=timezone.utc), "day": date(2026, 11, 30)},
    {"province": "Thành phố Hồ Chí Minh", "count": 2_300, "amount": 5_600_000_000, "last_paid_at": None,
     "day": date(2026, 11, 30)},
    {"province": "=HYPERLINK(\"http://x\")", "count": 1, "amount": 1, "last_paid_at": None, "day": None},
]


def workbook(sheets):
    out = io.BytesIO()
    write_xlsx(out, sheets)
    return load_workbook(io.BytesIO(out.getvalue()))


def test_excel_cell_by_cell():
    sheet = workbook([SheetSpec("Theo tỉnh", COLUMNS, ROWS)])["Theo tỉnh"]
    assert sheet.freeze_panes == "A2"
    header = [cell for cell in sheet[1]]
    assert [c.value for c in header] == ["Tỉnh/thành phố", "Số giao dịch", "Số tiền (đồng)", "Thanh toán gần nhất",
                                         "Ngày"]
    assert all(c.font.b for c in header)
    first = sheet[2]
    assert first[0].value == "Quảng Ninh"
    assert (first[2].value, first[2].number_format) == (10_500_000_000, "#,##0")
    # Excel has no time zones: Vietnam wall-clock time.
    assert (first[3].value, first[3].number_format) == (datetime(2026, 11, 30, 23, 59, 58), "dd/mm/yyyy hh:mm:ss")
    assert first[4].value == datetime(2026, 11, 30, 0, 0) and first[4].number_format == "dd/mm/yyyy"
    hostile = sheet[4][0]
    assert hostile.value == "=HYPERLINK(\"http://x\")" and hostile.data_type == "s"  # text, never a formula
    totals = sheet[5]
    assert [c.value for c in totals] == ["Tổng cộng", 6_501, 16_100_000_001, None, None]
    assert totals[2].number_format == "#,##0" and totals[0].font.b
    assert sheet.cell(7, 1).value == VND_NOTE
    assert sheet.max_row == 7


def test_one_sheet_per_breakdown_with_valid_unique_names():
    long = "Giao dịch theo tỉnh/thành phố: tháng 11/2026 [bản chính]"
    book = workbook([SheetSpec(long, COLUMNS, ROWS[:1]), SheetSpec(long, COLUMNS, []),
                     SheetSpec("Theo đơn vị", [Column("unit", "Đơn vị"), Column("accounts", "Số tài khoản", "int")],
                               [{"unit": "UBND xã Ba Đình", "accounts": 12}], note="")])
    titles = book.sheetnames
    assert len(titles) == 3 and len(set(t.lower() for t in titles)) == 3
    assert all(len(t) <= 31 and not set(t) & set("[]:*?/\\") for t in titles)
    assert titles[1].endswith(" (2)")
    empty = book[titles[1]]
    assert [c.value for c in empty[2]][:3] == ["Tổng cộng", 0, 0]  # a totals row even without data
    units = book["Theo đơn vị"]
    assert [[c.value for c in row] for row in units.iter_rows()] == [["Đơn vị", "Số tài khoản"],
                                                                      ["UBND xã Ba Đình", 12], ["Tổng cộng", 12]]


@pytest.mark.parametrize("name, taken, title", [
    ("Sheet", [], "Sheet"), ("a/b:c", [], "a-b-c"), ("x" * 40, [], "x" * 31), ("x" * 40, ["x" * 31], "x" * 27 + " (2)"),
    ("", [], "Sheet"), ("Báo cáo", ["BÁO CÁO"], "Báo cáo (2)"),
])
def test_sheet_title(name, taken, title):
    assert sheet_title(name, taken) == title


def test_large_export_streams_in_write_only_mode():
    rows = ({"province": f"Tỉnh {i}", "count": 1, "amount": 1_000, "last_paid_at": None, "day": None}
            for i in range(5_000))
    sheet = workbook([SheetSpec("Lớn", COLUMNS, rows)])["Lớn"]
    assert sheet.max_row == 5_000 + 1 + 1 + 2
    assert sheet.cell(5_002, 3).value == 5_000_000


def test_csv_utf8_with_bom_read_back_with_the_csv_module():
    out = io.BytesIO()
    assert write_csv(out, COLUMNS, ROWS) == 3
    raw = out.getvalue()
    assert raw.startswith(b"\xef\xbb\xbf") and not out.closed
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["Tỉnh/thành phố", "Số giao dịch", "Số tiền (đồng)", "Thanh toán gần nhất", "Ngày"]
    assert rows[1] == ["Quảng Ninh", "4200", "10500000000", "2026-11-30T16:59:58+00:00", "2026-11-30"]
    assert rows[2][3:] == ["", "2026-11-30"]
    assert rows[3][0] == "'=HYPERLINK(\"http://x\")"  # neutralised for spreadsheet programs
    assert rows[4] == ["Tổng cộng", "6501", "16100000001", "", ""]
    assert len(rows) == 5


def test_csv_without_totals():
    out = io.BytesIO()
    write_csv(out, COLUMNS[:2], ROWS[:1], totals=False)
    assert out.getvalue().decode("utf-8-sig").splitlines() == ["Tỉnh/thành phố,Số giao dịch", "Quảng Ninh,4200"]


def test_bad_specs_are_refused():
    with pytest.raises(ValueError):
        Column("x", "X", "money")
    with pytest.raises(ValueError):
        write_xlsx(io.BytesIO(), [])
