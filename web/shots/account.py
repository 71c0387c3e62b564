"""The citizen account (screen 2): sign-in, first sign-in, forgotten password, profile, history with a receipt,
bank-account link with its conditions and OTP, phone change (web/screens.py runs JOURNEYS in order)."""
from __future__ import annotations

import uuid

import requests

from chalicelib.local.identities import new_identity
from web import testing


def _sign_in_and_profile(page, stack, shot) -> None:
    site = stack.api_url
    citizen = new_identity(site, "citizen")
    page.goto(site + "/tai-khoan/dang-nhap.html")
    shot("tk-dang-nhap")
    page.get_by_label("Số định danh cá nhân (CCCD)").fill(citizen.login)
    page.get_by_label("Mật khẩu", exact=True).fill("SaiMatKhau2026")
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.locator("#form-dang-nhap [data-form-error]").wait_for()
    shot("tk-dang-nhap-sai")
    testing.sign_in_citizen(page, site, citizen.login, citizen.password)
    page.locator("#thong-tin").get_by_text("Nguyễn Thị Trang").wait_for()
    shot("tk-thong-tin")
    page.get_by_label("Mã số thuế cá nhân").fill("035095001234")
    page.get_by_role("button", name="Lưu thay đổi").click()
    page.locator("#tax_code-error").wait_for()
    shot("tk-thong-tin-loi-mst")


def _first_sign_in(page, stack, shot) -> None:
    site = stack.api_url
    citizen = new_identity(site, "citizen")
    testing.temporary_password(citizen.login, "TamThoi2026x")
    page.goto(site + "/tai-khoan/dang-nhap.html")
    page.get_by_label("Số định danh cá nhân (CCCD)").fill(citizen.login)
    page.get_by_label("Mật khẩu", exact=True).fill("TamThoi2026x")
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.get_by_role("heading", name="Đặt mật khẩu mới").wait_for()
    shot("tk-mat-khau-moi")
    page.get_by_role("button", name="Đặt mật khẩu và đăng nhập").click()
    page.locator("#new_password-error").wait_for()
    shot("tk-mat-khau-moi-loi")


def _forgotten(page, stack, shot) -> None:
    site = stack.api_url
    citizen = new_identity(site, "citizen")
    page.goto(site + "/tai-khoan/dang-nhap.html")
    page.get_by_label("Số định danh cá nhân (CCCD)").fill(citizen.login)
    page.get_by_role("button", name="Quên mật khẩu").click()
    shot("tk-quen-mat-khau")
    page.get_by_role("button", name="Gửi mã xác nhận").click()
    page.get_by_label("Mã xác nhận (6 chữ số)").wait_for()
    shot("tk-quen-mat-khau-nhap-ma")


def _history(page, stack, shot) -> None:
    site = stack.api_url
    citizen = new_identity(site, "citizen")
    testing.seed_history(site, stack.bank_url, citizen.headers, count=12, paid=2)
    testing.sign_in_citizen(page, site, citizen.login, citizen.password, then="/tai-khoan/giao-dich.html")
    page.locator("#giao-dich tr[data-payment]").first.wait_for()
    shot("tk-giao-dich")
    page.get_by_role("button", name="Trang sau").click()
    page.get_by_text("(trang 2)").wait_for()
    shot("tk-giao-dich-trang-2")
    page.get_by_role("link", name="Xem biên lai").first.click()
    page.get_by_role("heading", name="Biên lai thu tiền điện tử").wait_for()
    shot("tk-bien-lai")


def _bank_link(page, stack, shot) -> None:
    site = stack.api_url
    phone = testing.fresh_phone()
    citizen = new_identity(site, "citizen", phone=phone)
    user = f"trang{uuid.uuid4().hex[:8]}"
    testing.add_bank_account(stack.bank_url, user, citizen.login, testing.fresh_phone())
    testing.sign_in_citizen(page, site, citizen.login, citizen.password, then="/tai-khoan/lien-ket-ngan-hang.html")
    page.get_by_role("heading", name="Liên kết tài khoản Internet Banking").wait_for()
    shot("tk-lien-ket")

    def check(username: str) -> None:
        page.get_by_label("Ngân hàng", exact=True).select_option("VCB")
        page.get_by_label("Tên đăng nhập Internet Banking").fill(username)
        page.get_by_role("button", name="Kiểm tra điều kiện và gửi mã OTP").click()
        page.wait_for_function("() => !document.querySelector('#form-lien-ket').hasAttribute('aria-busy')")

    check(user)
    shot("tk-lien-ket-thieu-mst")
    requests.patch(f"{site}/v1/citizens/me", json={"tax_code": citizen.login}, headers=citizen.headers, timeout=20)
    check(user)
    shot("tk-lien-ket-sai-so-dien-thoai")
    testing.add_bank_account(stack.bank_url, user + "ok", citizen.login, phone)
    before = len(testing.sms_to(phone, at_least=1))
    check(user + "ok")
    page.get_by_label("Mã OTP (6 chữ số)").wait_for()
    shot("tk-lien-ket-otp")
    page.get_by_label("Mã OTP (6 chữ số)").fill(testing.otp_code(phone, before))
    page.get_by_role("button", name="Xác nhận liên kết").click()
    page.get_by_role("heading", name="Tài khoản ngân hàng đã liên kết").wait_for()
    shot("tk-da-lien-ket")


def _phone(page, stack, shot) -> None:
    site = stack.api_url
    citizen = new_identity(site, "citizen")
    testing.sign_in_citizen(page, site, citizen.login, citizen.password, then="/tai-khoan/doi-so-dien-thoai.html")
    page.locator("#so-hien-tai").get_by_text("09").wait_for()
    shot("tk-doi-so")
    page.get_by_label("Số điện thoại di động mới").fill(testing.fresh_phone().replace("+84", "0"))
    page.get_by_role("button", name="Gửi mã OTP đến số mới").click()
    page.get_by_role("heading", name="Xác nhận đổi số điện thoại").wait_for()
    shot("tk-doi-so-xac-nhan")


JOURNEYS = [_sign_in_and_profile, _first_sign_in, _forgotten, _history, _bank_link, _phone]
