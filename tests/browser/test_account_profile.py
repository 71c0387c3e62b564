"""The citizen's account home in a real browser: email and tax code saved (a 12-digit tax code that is not the
citizen's own ID number refused beside the field, a malformed email beside its field), the password changed (a
wrong current password beside its field; the tab keeps the fresh tokens the change answers)."""
from __future__ import annotations

import requests

from chalicelib.local.identities import new_identity
from web import testing


def test_profile_saves_email_and_tax_code_and_changes_the_password(browsing, site, stack):
    page, watch = browsing
    citizen = new_identity(stack.api_url, "citizen")
    testing.sign_in_citizen(page, site, citizen.login, citizen.password)
    page.locator("#thong-tin").get_by_text("Nguyễn Thị Trang").wait_for()
    form = page.locator("#form-lien-he")
    form.get_by_label("Thư điện tử").fill("trang@@example")
    form.get_by_label("Mã số thuế cá nhân").fill("035095001234")  # someone else's ID number
    watch.expect_failed(422)
    form.get_by_role("button", name="Lưu thay đổi").click()
    page.locator("#email-error").wait_for()
    assert page.locator("#email").get_attribute("aria-invalid") == "true"
    assert testing.axe_violations(page) == []
    form.get_by_label("Thư điện tử").fill("trang@example.vn")
    form.get_by_role("button", name="Lưu thay đổi").click()
    error = page.locator("#tax_code-error")
    error.wait_for()
    assert "số định danh" in error.inner_text().lower() and page.locator("#email-error").is_hidden()
    form.get_by_label("Mã số thuế cá nhân").fill(citizen.login)  # the own ID number is the personal tax code
    form.get_by_role("button", name="Lưu thay đổi").click()
    page.get_by_text("Đã lưu thư điện tử và mã số thuế.").wait_for()
    facts = page.locator("#thong-tin").inner_text()
    assert "trang@example.vn" in facts and citizen.login in facts

    pw = page.locator("#form-mat-khau")
    pw.get_by_label("Mật khẩu hiện tại").fill("KhongPhaiMatKhau1")
    pw.get_by_label("Mật khẩu mới", exact=True).fill("DoiMoi2026xyz")
    pw.get_by_label("Nhập lại mật khẩu mới").fill("DoiMoi2026xyz")
    pw.get_by_role("button", name="Đổi mật khẩu").click()
    page.locator("#current_password-error").wait_for()
    assert page.evaluate("document.activeElement.id") == "current_password"
    pw.get_by_label("Mật khẩu hiện tại").fill(citizen.password)
    pw.get_by_role("button", name="Đổi mật khẩu").click()
    page.get_by_text("Đã đổi mật khẩu.").wait_for()
    assert testing.axe_violations(page) == []
    page.reload()  # the fresh tokens were kept: still signed in
    page.locator("#thong-tin").get_by_text("trang@example.vn").wait_for()
    r = requests.post(f"{stack.api_url}/v1/auth/sign-in", timeout=20,
                      json={"id_number": citizen.login, "password": "DoiMoi2026xyz"})
    assert r.status_code == 200
    watch.assert_clean()
