"""The citizen's transaction history in a real browser: payments made signed in (POST /v1/payments with the
Bearer), newest first, ten a page with "Trang sau" / "Trang trước", each state in words; a paid one's receipt opens
from its link with the citizen's token (this tab never held the payment's access secret), its PDF downloads, and a
new tab without any session is sent to sign in and comes back to the receipt."""
from __future__ import annotations

import re

from chalicelib.local.identities import new_identity
from web import testing


def _rows(page) -> list[str]:
    return page.locator("#giao-dich tr[data-payment]").evaluate_all("rows => rows.map(r => r.dataset.payment)")


def test_history_pages_and_opens_each_receipt(browsing, viewport, site, stack):
    page, watch = browsing
    citizen = new_identity(stack.api_url, "citizen")
    payments = testing.seed_history(stack.api_url, stack.bank_url, citizen.headers, count=12, paid=2)
    newest_first = [p["payment_id"] for p in reversed(payments)]
    testing.sign_in_citizen(page, site, citizen.login, citizen.password, then="/tai-khoan/giao-dich.html")
    page.locator("#giao-dich tr[data-payment]").first.wait_for()
    assert _rows(page) == newest_first[:10]
    table = page.locator("table.history").inner_text()
    assert "Đang chờ ngân hàng xác nhận thanh toán" in table and "BIDV" in table and "111.000 đ" in table
    assert page.get_by_role("button", name="Trang trước").is_disabled()
    assert testing.axe_violations(page) == []
    page.get_by_role("button", name="Trang sau").click()
    page.get_by_text("(trang 2)").wait_for()
    assert _rows(page) == newest_first[10:]
    paid = page.locator(f"tr[data-payment='{payments[0]['payment_id']}']")
    assert "Thanh toán thành công" in paid.inner_text() and "Thanh toán:" in paid.inner_text()
    assert page.get_by_role("button", name="Trang sau").is_disabled()
    assert testing.axe_violations(page) == []
    page.get_by_role("button", name="Trang trước").click()
    page.get_by_text("(trang 1)").wait_for()
    assert _rows(page) == newest_first[:10]
    page.get_by_role("button", name="Trang sau").click()
    page.get_by_text("(trang 2)").wait_for()

    paid.get_by_role("link", name="Xem biên lai").click()
    page.get_by_role("heading", name="Biên lai thu tiền điện tử").wait_for()
    receipt_url = page.url
    assert payments[0]["notice_number"] in page.locator("#bien-lai").inner_text()
    assert page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('lfo.attempts')).length") == 0
    if viewport == "desktop":
        with page.expect_download() as download:
            page.get_by_role("button", name="Tải biên lai (PDF)").click()
        assert download.value.suggested_filename.startswith("bien-lai-")
        page.get_by_text("Đã tải biên lai (PDF).").wait_for()

    other = page.context.new_page()  # a new tab: no session, no access secret
    other.goto(receipt_url)
    other.get_by_text("Không mở được biên lai trong trình duyệt này").wait_for()
    assert testing.axe_violations(other) == []
    other.get_by_role("link", name="Đăng nhập tài khoản công dân").click()
    other.get_by_label("Số định danh cá nhân (CCCD)").fill(citizen.login)
    other.get_by_label("Mật khẩu", exact=True).fill(citizen.password)
    other.get_by_role("button", name="Đăng nhập", exact=True).click()
    other.wait_for_url(receipt_url)
    other.get_by_role("heading", name="Biên lai thu tiền điện tử").wait_for()
    jwt = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.")  # a token (the history's cursor is base64 JSON, not one)
    assert [u for u in watch.urls if citizen.login in u or jwt.search(u)] == []
    watch.assert_clean()
