"""The phone change in a real browser: the current phone refused as the new one (beside the field), the code sent
to the new phone, a wrong password refused beside its field without using the verified code up, then the change,
the new phone shown and the old phone told by SMS."""
from __future__ import annotations

import requests

from chalicelib.local.identities import new_identity
from web import testing


def test_phone_change_by_otp_to_the_new_phone(browsing, site, stack):
    page, watch = browsing
    old, new = testing.fresh_phone(), testing.fresh_phone()
    citizen = new_identity(stack.api_url, "citizen", phone=old)
    testing.sign_in_citizen(page, site, citizen.login, citizen.password, then="/tai-khoan/doi-so-dien-thoai.html")
    current = page.locator("#so-hien-tai")
    current.get_by_text(old[-3:]).wait_for()
    assert testing.axe_violations(page) == []
    page.get_by_label("Số điện thoại di động mới").fill(old.replace("+84", "0"))
    watch.expect_failed(422)
    page.get_by_role("button", name="Gửi mã OTP đến số mới").click()
    page.locator("#phone-error").get_by_text("trùng với số điện thoại hiện tại").wait_for()

    page.get_by_label("Số điện thoại di động mới").fill(new.replace("+84", "0"))
    page.get_by_role("button", name="Gửi mã OTP đến số mới").click()
    page.get_by_role("heading", name="Xác nhận đổi số điện thoại").wait_for()
    code = testing.otp_code(new, 0)
    page.get_by_label("Mã OTP gửi đến số mới (6 chữ số)").fill(code)
    page.get_by_label("Mật khẩu hiện tại").fill("KhongDung2026x")
    page.get_by_role("button", name="Đổi số điện thoại").click()
    page.locator("#password-error").wait_for()
    assert page.evaluate("document.activeElement.id") == "password"
    assert testing.axe_violations(page) == []
    page.get_by_label("Mật khẩu hiện tại").fill(citizen.password)
    page.get_by_role("button", name="Đổi số điện thoại").click()
    page.get_by_text("Đã đổi số điện thoại thành").wait_for()
    assert current.inner_text().replace(" ", "") == new.replace("+84", "0")
    assert "đã được đổi sang" in testing.sms_to(old, at_least=2)[-1]
    r = requests.get(f"{stack.api_url}/v1/citizens/me", headers=citizen.headers, timeout=20)
    assert r.json()["phone"] == new
    assert [u for u in watch.urls if new[3:] in u or old[3:] in u] == []
    watch.assert_clean()
