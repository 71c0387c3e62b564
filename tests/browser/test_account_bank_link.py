"""The bank-account link in a real browser: the four conditions shown one by one as the API checks them (no tax
code; no such internet-banking account; another ID number at the bank; another OTP phone at the bank), each with
its own result and what to do; then the OTP (a wrong code beside its field, the code from the SMS), the link shown,
and the unlink after a confirmation."""
from __future__ import annotations

import uuid

import requests

from chalicelib.local.identities import new_identity
from web import testing


def _results(page) -> list[str]:
    return page.locator("#dieu-kien li").evaluate_all("items => items.map(i => i.dataset.result)")


def _check(page, watch, username: str, refused: bool = True) -> None:
    page.get_by_label("Tên đăng nhập Internet Banking").fill(username)
    if refused:
        watch.expect_failed(422)
    page.get_by_role("button", name="Kiểm tra điều kiện và gửi mã OTP").click()
    page.wait_for_function("() => !document.querySelector('#form-lien-ket').hasAttribute('aria-busy')")


def test_four_conditions_one_by_one_then_the_otp_links_and_unlinks(desktop, site, stack):
    page, watch = desktop
    phone = testing.fresh_phone()
    citizen = new_identity(stack.api_url, "citizen", phone=phone)
    testing.sign_in_citizen(page, site, citizen.login, citizen.password, then="/tai-khoan/lien-ket-ngan-hang.html")
    page.get_by_role("heading", name="Liên kết tài khoản Internet Banking").wait_for()
    assert testing.axe_violations(page) == []
    page.get_by_label("Ngân hàng", exact=True).select_option("VCB")
    user = f"trang{uuid.uuid4().hex[:8]}"

    _check(page, watch, user)  # 1: no tax code
    assert _results(page) == ["fail", "skip", "skip", "skip"]
    failed = page.locator("#dieu-kien li[data-result=fail]")
    assert "Không đạt" in failed.inner_text() and "chưa có mã số thuế" in failed.inner_text()
    assert "Chưa kiểm tra" in page.locator("#dieu-kien li").nth(1).inner_text()
    assert failed.get_by_role("link", name="Cập nhật mã số thuế").is_visible()
    assert testing.axe_violations(page) == []
    r = requests.patch(f"{stack.api_url}/v1/citizens/me", json={"tax_code": citizen.login}, headers=citizen.headers,
                       timeout=20)
    assert r.status_code == 200, r.text

    _check(page, watch, user)  # 2: no such internet-banking account
    assert _results(page) == ["pass", "fail", "skip", "skip"]
    assert "Đạt" in page.locator("#dieu-kien li").first.inner_text()
    testing.add_bank_account(stack.bank_url, user + "a", "035095001234", phone)
    _check(page, watch, user + "a")  # 3: another ID number at the bank
    assert _results(page) == ["pass", "pass", "fail", "skip"]
    assert "liên hệ ngân hàng" in page.locator("#dieu-kien li[data-result=fail]").inner_text()
    testing.add_bank_account(stack.bank_url, user + "b", citizen.login, testing.fresh_phone())
    _check(page, watch, user + "b")  # 4: another OTP phone at the bank
    assert _results(page) == ["pass", "pass", "pass", "fail"]
    assert page.locator("#dieu-kien li[data-result=fail]").get_by_role("link", name="Đổi số điện thoại trên Cổng")
    assert testing.axe_violations(page) == []

    testing.add_bank_account(stack.bank_url, user + "c", citizen.login, phone)
    before = len(testing.sms_to(phone, at_least=1))
    _check(page, watch, user + "c", refused=False)
    assert _results(page) == ["pass", "pass", "pass", "pass"]
    page.get_by_label("Mã OTP (6 chữ số)").wait_for()
    code = testing.otp_code(phone, before)
    page.get_by_label("Mã OTP (6 chữ số)").fill("000000" if code != "000000" else "111111")
    watch.expect_failed(422)
    page.get_by_role("button", name="Xác nhận liên kết").click()
    page.locator("#code-error").wait_for()
    assert testing.axe_violations(page) == []
    page.get_by_label("Mã OTP (6 chữ số)").fill(code)
    page.get_by_role("button", name="Xác nhận liên kết").click()
    page.get_by_role("heading", name="Tài khoản ngân hàng đã liên kết").wait_for()
    linked = page.locator("#lien-ket").inner_text()
    assert "Vietcombank" in linked and "4567" in linked and "NGUYEN THI TRANG" in linked
    assert testing.axe_violations(page) == []

    page.get_by_role("button", name="Hủy liên kết").click()
    page.get_by_role("button", name="Giữ liên kết").click()
    assert page.locator("#xac-nhan-huy").is_hidden()
    page.get_by_role("button", name="Hủy liên kết").click()
    page.get_by_role("button", name="Xác nhận hủy liên kết").click()
    page.get_by_text("Đã hủy liên kết tài khoản ngân hàng.").wait_for()
    r = requests.get(f"{stack.api_url}/v1/citizens/me/bank-links", headers=citizen.headers, timeout=20)
    assert r.json() == {"link": None}
    watch.assert_clean()
