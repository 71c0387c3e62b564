"""Reports in a real browser (/can-bo/quan-tri/bao-cao.html): payments of a province no other test uses, paid on
a day of their own, read back in the collections and accounts reports; the Excel export downloaded by the browser
from its presigned link and opened with openpyxl; the day's receipt table resent to the tax authority; a province
administrator held to their province and refused the tax tables, each refusal explained beside its field."""
from __future__ import annotations

import io
import random
from datetime import date, timedelta
from pathlib import Path

from chalicelib.local.identities import new_identity
from tests.e2e.provinces import next_province
from web import testing

PAGE = "/can-bo/quan-tri/bao-cao.html"


def _range(page, day: date, province: str = "") -> None:
    page.get_by_label("Từ ngày", exact=True).first.fill(day.isoformat())
    page.get_by_label("Đến ngày", exact=True).first.fill(day.isoformat())
    page.locator("#province").fill(province)
    page.get_by_role("button", name="Xem báo cáo").click()


def test_operator_reads_a_province_exports_excel_and_resends_a_tax_table(desktop, site, stack):
    from openpyxl import load_workbook

    page, watch = desktop
    province = next_province()
    day = date(2070, 1, 1) + timedelta(days=random.randrange(0, 3000))
    testing.paid_in_province(stack.api_url, province.agency_code, day, [("VCB", 1_250_000), ("BIDV", 3_400_000)])
    operator = new_identity(stack.api_url, "operator")
    testing.sign_in_staff(page, site, operator.login, operator.password, then=PAGE)
    page.locator("#ket-qua-thu h3").wait_for()  # the country, last 30 days
    _range(page, day, province.agency_code)
    page.locator("#ket-qua-thu h3", has_text=province.name).wait_for()
    figures = page.locator("#ket-qua-thu .console-figures").inner_text()
    assert "4.650.000 đ" in figures
    banks = page.locator("#ket-qua-thu table", has_text="Theo ngân hàng").inner_text()
    assert "Vietcombank (VCB)" in banks and "1.250.000 đ" in banks and "3.400.000 đ" in banks
    accounts = page.locator("#ket-qua-tk", has_text=province.name)  # drawn after the collections: await it
    accounts.wait_for()
    assert "0 tài khoản" in accounts.inner_text()
    assert testing.axe_violations(page) == []

    with page.expect_download() as got:
        page.get_by_role("button", name="Tạo tệp và tải về").click()
    download = got.value
    assert download.suggested_filename == f"bao-cao-thu-{province.stats_code}-{day}-{day}.xlsx"
    assert not download.url.startswith(site)  # the presigned link of the storage, another origin
    book = load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    totals = book["Tổng hợp"]
    assert totals["D2"].value == 2 and totals["E2"].value == 4_650_000 and totals["H2"].value == 4_650_000
    by_bank = [[c.value for c in row][:4] for row in book["Theo ngân hàng"].iter_rows(min_row=2, max_row=3)]
    assert by_bank == [["BIDV", "BIDV", 1, 3_400_000], ["VCB", "Vietcombank", 1, 1_250_000]]
    page.get_by_role("link", name=download.suggested_filename).wait_for()  # the link stays, should it not start

    page.locator("#t_unit_code").fill("000.00.00.H99")  # no such collecting unit
    watch.expect_failed(404)
    page.get_by_role("button", name="Xem bảng đã gửi").click()
    page.locator("#t_unit_code-error").wait_for()
    page.locator("#t_unit_code").fill(f"000.00.00.{province.agency_code}")
    page.get_by_role("button", name="Xem bảng đã gửi").click()
    row = page.locator("#ds-bang-thue tbody tr").first
    row.wait_for()
    assert "Chờ gửi" in row.inner_text() or "Cơ quan thuế đã nhận" in row.inner_text()
    row.get_by_role("button", name="Gửi lại").click()
    page.locator("#kq-bang-thue", has_text="Cơ quan thuế đã nhận").wait_for()
    assert "Cơ quan thuế đã nhận" in page.locator("#ds-bang-thue tbody tr").first.inner_text()
    assert testing.axe_violations(page) == []
    watch.assert_clean()


def test_a_province_administrator_sees_their_province_only(browsing, site, stack):
    page, watch = browsing
    province = next_province()
    admin = new_identity(stack.api_url, "province_admin", province=province.agency_code)
    testing.sign_in_staff(page, site, admin.login, admin.password, then=PAGE)
    page.locator("#ket-qua-thu h3", has_text=province.name).wait_for()  # their own, by default
    watch.expect_failed(403)
    _range(page, date(2026, 5, 20), "H35")
    page.locator("#province-error").wait_for()
    assert page.locator("#province").get_attribute("aria-invalid") == "true"
    page.locator("#t_unit_code").fill("000.00.00.H35")
    page.get_by_role("button", name="Xem bảng đã gửi").click()
    refused = page.locator("#form-bang-thue [data-form-error]")
    refused.wait_for()
    assert "chỉ dành cho quản trị hệ thống" in refused.inner_text()
    assert testing.axe_violations(page) == []
    watch.assert_clean()
