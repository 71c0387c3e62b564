"""The one-stop officer's desk and the accounts list (web/screens.py runs JOURNEYS in order): every step of account
creation, a refused field, a refused OTP, the result, an existing account, the refusal without the right, and the
list with its filters."""
from __future__ import annotations

import uuid

from chalicelib.local.identities import new_identity
from web import testing

DESK = "/can-bo/mot-cua.html"
LIST = "/can-bo/tai-khoan-da-tao.html"


def _unit() -> str:
    n = uuid.uuid4().int
    return f"000.{n % 900 + 100}.{n // 900 % 90 + 10:02d}.H35"


def _desk(page, stack, shot) -> None:
    site = stack.api_url
    officer = new_identity(site, "officer", unit="000.00.15.H35")
    id_number, phone = testing.fresh_citizen_id(), testing.fresh_mobile()
    testing.sign_in_staff(page, site, officer.login, officer.password, then=DESK)
    page.get_by_role("heading", name="Bước 1. Tra cứu số định danh").wait_for()
    shot("mot-cua-tra-cuu")
    testing.desk_search(page, id_number)
    page.get_by_role("heading", name="Bước 2. Thông tin công dân").wait_for()
    testing.desk_fill_citizen(page, "12345")
    page.get_by_role("button", name="Lập phiếu đề nghị").click()
    page.locator("#phone-error").wait_for()
    shot("mot-cua-thong-tin-loi")
    testing.desk_fill_citizen(page, phone, email="an@example.vn")
    page.get_by_role("button", name="Lập phiếu đề nghị").click()
    page.get_by_role("heading", name="Bước 3. Phiếu đề nghị tạo tài khoản").wait_for()
    shot("mot-cua-phieu-de-nghi")
    page.get_by_role("button", name="Công dân đã kiểm tra phiếu, tiếp tục").click()
    shot("mot-cua-ban-quet")
    testing.desk_upload_scan(page)
    page.get_by_role("heading", name="Bước 5. Gửi mã OTP tới công dân").wait_for()
    shot("mot-cua-gui-otp")
    page.get_by_role("button", name="Gửi mã OTP", exact=True).click()
    page.get_by_role("heading", name="Bước 6. Nhập mã OTP công dân đọc").wait_for()
    code = testing.newest_otp(phone)
    page.get_by_label("Nhập mã OTP *").fill(f"{(int(code) + 1) % 10**6:06d}")
    page.get_by_role("button", name="Xác nhận mã").click()
    page.locator("#code-error").wait_for()
    shot("mot-cua-otp-sai")
    page.get_by_label("Nhập mã OTP *").fill(code)
    page.get_by_role("button", name="Xác nhận mã").click()
    page.get_by_role("heading", name="Bước 7. Tạo tài khoản").wait_for()
    shot("mot-cua-tao")
    page.get_by_role("button", name="Tạo tài khoản", exact=True).click()
    page.get_by_role("heading", name="Đã tạo tài khoản").wait_for()
    shot("mot-cua-da-tao")
    page.get_by_role("button", name="Tạo tài khoản khác").click()
    testing.desk_search(page, id_number)
    page.get_by_text("Công dân đã có tài khoản").wait_for()
    shot("mot-cua-da-co-tai-khoan")


def _accounts(page, stack, shot) -> None:
    site, unit = stack.api_url, _unit()
    officer = new_identity(site, "officer", unit=unit)
    testing.seed_unit_accounts(unit, "can-bo-khac", 20)
    testing.seed_unit_accounts(unit, officer.login, 2, name="Lê Văn Minh")
    testing.sign_in_staff(page, site, officer.login, officer.password, then=LIST)
    page.locator("#so-ket-qua").get_by_text("Tìm thấy").wait_for()
    shot("tai-khoan-da-tao")
    page.get_by_role("button", name="Tài khoản tôi tạo").click()
    page.locator("#so-ket-qua").get_by_text("Tìm thấy 2 kết quả.").wait_for()
    shot("tai-khoan-da-tao-cua-toi")


def _refused(page, stack, shot) -> None:
    site = stack.api_url
    officer = new_identity(site, "officer", unit="000.00.15.H35", grant=False)
    testing.sign_in_staff(page, site, officer.login, officer.password, then=DESK)
    page.locator("#tu-choi").wait_for()
    shot("mot-cua-khong-co-quyen")


JOURNEYS = [_desk, _accounts, _refused]
