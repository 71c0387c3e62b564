"""Citizen sign-in in a real browser: a signed-out visit goes to the sign-in page and comes back, a wrong password
is answered above the form, the profile and sign-out; a new account's first sign-in sets a new password (the rules
shown, the two entries compared, the API's password rules beside the field); a forgotten password by the SMS code."""
from __future__ import annotations

import re

import requests

from chalicelib.local.identities import new_identity
from web import testing


def _sign_in_form(page, login: str, password: str) -> None:
    page.get_by_label("Số định danh cá nhân (CCCD)").fill(login)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()


def test_citizen_signs_in_sees_the_profile_and_signs_out(browsing, site, stack):
    page, watch = browsing
    citizen = new_identity(stack.api_url, "citizen")
    page.goto(f"{site}/tai-khoan/giao-dich.html")
    page.wait_for_url(f"{site}/tai-khoan/dang-nhap.html?tiep=%2Ftai-khoan%2Fgiao-dich.html")
    assert testing.axe_violations(page) == []
    watch.expect_failed(401)
    _sign_in_form(page, citizen.login, "SaiMatKhau2026")
    alert = page.locator("#form-dang-nhap [data-form-error]")
    alert.wait_for()
    assert "không đúng" in alert.inner_text()
    page.get_by_label("Mật khẩu", exact=True).fill(citizen.password)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_url(f"{site}/tai-khoan/giao-dich.html")
    page.get_by_role("link", name="Thông tin tài khoản").click()
    facts = page.locator("#thong-tin")
    facts.get_by_text("Nguyễn Thị Trang").wait_for()
    text = facts.inner_text()
    assert citizen.login not in text and citizen.login[-3:] in text  # the ID number masked
    assert "01/01/1990" in text and "Chưa có" in text and "Chưa liên kết" in text
    assert page.locator(".console-nav a[aria-current=page]").inner_text() == "Thông tin tài khoản"
    assert testing.axe_violations(page) == []
    assert [u for u in watch.urls if citizen.login in u or re.search(r"eyJ[\w-]+\.eyJ", u)] == []
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(f"{site}/tai-khoan/dang-nhap.html")
    page.goto(f"{site}/tai-khoan/index.html")
    page.wait_for_url(f"{site}/tai-khoan/dang-nhap.html?tiep=*")
    watch.assert_clean()


def test_first_sign_in_sets_a_new_password(desktop, site, stack):
    page, watch = desktop
    citizen = new_identity(stack.api_url, "citizen")
    testing.temporary_password(citizen.login, "TamThoi2026x")
    page.goto(f"{site}/tai-khoan/dang-nhap.html")
    _sign_in_form(page, citizen.login, "TamThoi2026x")
    page.get_by_role("heading", name="Đặt mật khẩu mới").wait_for()
    assert "Không chứa số định danh cá nhân" in page.locator("#quy-tac-mat-khau").inner_text()
    assert testing.axe_violations(page) == []
    page.get_by_label("Mật khẩu mới", exact=True).fill("MoiHon2026abc")
    page.get_by_label("Nhập lại mật khẩu mới").fill("KhacHan2026abc")
    page.get_by_role("button", name="Đặt mật khẩu và đăng nhập").click()
    page.get_by_text("Hai lần nhập mật khẩu mới không khớp.").wait_for()
    page.get_by_label("Mật khẩu mới", exact=True).fill("password123")
    page.get_by_label("Nhập lại mật khẩu mới").fill("password123")
    watch.expect_failed(422)
    page.get_by_role("button", name="Đặt mật khẩu và đăng nhập").click()
    error = page.locator("#new_password-error")
    error.wait_for()
    assert "phổ biến" in error.inner_text() and page.evaluate("document.activeElement.id") == "new_password"
    assert testing.axe_violations(page) == []
    page.get_by_label("Mật khẩu mới", exact=True).fill("MoiHon2026abc")
    page.get_by_label("Nhập lại mật khẩu mới").fill("MoiHon2026abc")
    page.get_by_role("button", name="Đặt mật khẩu và đăng nhập").click()
    page.wait_for_url(f"{site}/tai-khoan/index.html")
    page.locator("#thong-tin").get_by_text("Nguyễn Thị Trang").wait_for()
    r = requests.post(f"{stack.api_url}/v1/auth/sign-in", timeout=20,
                      json={"id_number": citizen.login, "password": "MoiHon2026abc"})
    assert r.status_code == 200 and r.json()["must_change_password"] is False
    watch.assert_clean()


def test_forgotten_password_by_the_sms_code(desktop, site, stack):
    page, watch = desktop
    phone = testing.fresh_phone()
    citizen = new_identity(stack.api_url, "citizen", phone=phone)
    before = len(testing.sms_to(phone, at_least=1))  # the seeding's account-creation code
    page.goto(f"{site}/tai-khoan/dang-nhap.html")
    page.get_by_label("Số định danh cá nhân (CCCD)").fill(citizen.login)
    page.get_by_role("button", name="Quên mật khẩu").click()
    page.get_by_role("heading", name="Quên mật khẩu").wait_for()
    assert page.locator("#reset_id_number").input_value() == citizen.login
    page.get_by_role("button", name="Gửi mã xác nhận").click()
    page.get_by_label("Mã xác nhận (6 chữ số)").wait_for()
    code = testing.otp_code(phone, before)
    assert testing.axe_violations(page) == []
    page.get_by_label("Mã xác nhận (6 chữ số)").fill("000000" if code != "000000" else "111111")
    page.get_by_label("Mật khẩu muốn đặt", exact=True).fill("DatLai2026moi")
    page.get_by_label("Nhập lại mật khẩu muốn đặt").fill("DatLai2026moi")
    watch.expect_failed(422)
    page.get_by_role("button", name="Đặt lại mật khẩu").click()
    error = page.locator("#reset_code-error")
    error.wait_for()
    assert "Mã OTP không đúng" in error.inner_text()
    page.get_by_label("Mã xác nhận (6 chữ số)").fill(code)
    page.get_by_role("button", name="Đặt lại mật khẩu").click()
    page.get_by_text("Đã đặt lại mật khẩu.").wait_for()
    assert page.locator("#id_number").input_value() == citizen.login
    page.get_by_label("Mật khẩu", exact=True).fill("DatLai2026moi")
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_url(f"{site}/tai-khoan/index.html")
    watch.assert_clean()
