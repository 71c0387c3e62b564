"""The accounts the officer's units created, in a real browser: the table newest first with paging, the seed's
filters (name, phone, ID number, creating officer, unit, dates), a filter the API refuses shown beside its field,
and another unit's officer seeing none of them."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from playwright.sync_api import expect

from chalicelib.local.identities import new_identity
from web import testing

LIST = "/can-bo/tai-khoan-da-tao.html"


def _unit() -> str:
    n = uuid.uuid4().int
    return f"000.{n % 900 + 100}.{n // 900 % 90 + 10:02d}.H35"


def _open(page, site, officer) -> None:
    testing.sign_in_staff(page, site, officer.login, officer.password, then=LIST)
    page.locator("#so-ket-qua").get_by_text("Tìm thấy").wait_for()


def test_officer_lists_filters_and_pages_their_units_accounts(browsing, site, stack):
    page, watch = browsing
    unit = _unit()
    officer = new_identity(stack.api_url, "officer", unit=unit)
    testing.seed_unit_accounts(unit, "can-bo-khac", 20, name="Trần Thị Hoa")
    testing.seed_unit_accounts(unit, officer.login, 2, name="Lê Văn Minh")
    _open(page, site, officer)
    assert page.locator("#so-ket-qua").inner_text() == "Tìm thấy 22 kết quả."
    table = page.get_by_role("table")
    assert "Tài khoản công dân (1–20 trên 22)" in table.locator("caption").inner_text()
    first = table.locator("tbody tr").first.inner_text()
    assert "Lê Văn Minh 2" in first and "14/03/1995" in first and "(bạn)" in first and "*********" in first
    assert "Chưa đổi mật khẩu lần đầu" in first
    assert testing.axe_violations(page) == []
    page.get_by_role("button", name="Trang sau").click()
    assert page.locator("#trang-so").inner_text() == "Trang 2/2"
    expect(table.locator("tbody tr")).to_have_count(2)
    assert page.get_by_role("button", name="Trang sau").is_disabled()

    page.get_by_role("button", name="Tài khoản tôi tạo").click()
    page.locator("#so-ket-qua").get_by_text("Tìm thấy 2 kết quả.").wait_for()
    assert page.locator("#phan-trang").is_hidden()
    page.get_by_role("button", name="Xóa điều kiện").click()
    page.get_by_label("Tên công dân").fill("hoa 1")  # case and diacritics as typed by people
    page.get_by_role("button", name="Tìm kiếm").click()
    page.locator("#so-ket-qua").get_by_text("Tìm thấy 11 kết quả.").wait_for()  # Hoa 1, Hoa 10 ... Hoa 19
    today = datetime.now(timezone(timedelta(hours=7))).strftime("%d/%m/%Y")
    page.get_by_label("Từ ngày").fill(today)
    page.get_by_label("Đến ngày").fill(today)
    page.get_by_role("button", name="Tìm kiếm").click()
    page.locator("#so-ket-qua").get_by_text("Tìm thấy 11 kết quả.").wait_for()
    page.get_by_label("Từ ngày").fill("01/01/2000")
    page.get_by_label("Đến ngày").fill("31/12/2000")
    page.get_by_role("button", name="Tìm kiếm").click()
    page.get_by_text("Không tìm thấy tài khoản thỏa mãn các tiêu chí trên.").wait_for()

    watch.expect_failed(422)
    page.get_by_role("button", name="Xóa điều kiện").click()
    page.get_by_label("Số điện thoại").fill("12345")
    page.get_by_role("button", name="Tìm kiếm").click()
    page.locator("#phone-error").wait_for()
    assert "Số điện thoại" in page.locator("#phone-error").inner_text()
    assert testing.axe_violations(page) == []
    watch.assert_clean()


def test_another_units_officer_sees_none_of_them(desktop, site, stack):
    page, watch = desktop
    unit = _unit()
    testing.seed_unit_accounts(unit, "can-bo-a", 1, name="Đỗ Thị Lan")
    other = new_identity(stack.api_url, "officer", unit=_unit())
    _open(page, site, other)
    options = page.get_by_label("Đơn vị tạo").locator("option").all_inner_texts()
    assert options[0] == "Tất cả đơn vị của tôi" and len(options) == 2 and unit not in " ".join(options)
    page.get_by_label("Tên công dân").fill("Đỗ Thị Lan")
    page.get_by_role("button", name="Tìm kiếm").click()
    page.get_by_text("Không tìm thấy tài khoản thỏa mãn các tiêu chí trên.").wait_for()
    watch.assert_clean()
