"""Screen 1, the citizen without an account, in a real browser: lookup -> the notices as the seed shows them ->
one notice -> a bank -> the simulated bank's pages -> the live return page -> the receipt and its PDF; at a phone's
360 px and on a desktop, keyboard only, and with every page scanned by axe-core, free of console errors and of
anything the Content-Security-Policy blocked."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from web import testing

# Signed JSON callbacks both; desktop takes the single-sign-on bank (an anonymous citizen signs in at the bank).
# MB (VNPay-style) waits for the API to sign its redirect URL, which the simulated gateway now requires.
BANK_BY_VIEWPORT = {"phone": "BIDV", "desktop": "VCB"}


def _accessible(page, where: str) -> None:
    assert testing.axe_violations(page) == [], where


def test_pays_one_notice_end_to_end(browsing, viewport, site, stack, seed):
    page, watch = browsing
    first = next(iter(seed.notices))
    testing.open_lookup(page, site)
    _accessible(page, "lookup form")
    testing.look_up(page, seed)
    results = page.locator("#ket-qua")
    for text in ("Thửa đất số 12, tờ bản đồ số 5", "120,5 m²", "Lệ phí trước bạ nhà đất", "1.378.500",
                 "Thuế thu nhập từ chuyển nhượng bất động sản", "5.514.000", "Nguyễn Thị Trang", "Tổng tiền",
                 "Ngày thông báo: 20/05/2026", "Hạn nộp: 18/06/2026"):
        assert text in results.inner_text(), text
    paid = page.locator(".notice[data-status=paid]")
    assert paid.count() == 1 and "Đã nộp" in paid.inner_text() and seed.paid in paid.inner_text()
    assert paid.locator("input[type=radio]").is_disabled()
    _accessible(page, "lookup results")

    testing.choose_notice(page, first)
    banks = page.locator("#ds-ngan-hang .bank")
    assert banks.count() == 5
    assert [banks.nth(i).locator(".bank__short").inner_text() for i in range(5)] == \
        ["Vietcombank", "VietinBank", "BIDV", "Agribank", "MB"]
    sso_note = page.locator("#nh-VCB-note").inner_text()
    assert "đăng nhập" in sso_note and "liên kết tài khoản" in sso_note
    assert "1.378.500 đ" in page.locator("#da-chon").inner_text()
    _accessible(page, "bank choice")

    testing.choose_bank(page, BANK_BY_VIEWPORT[viewport], stack.bank_url)
    testing.sign_in_at_bank(page)
    assert "1.378.500 đ" in page.content()  # the simulated bank's page shows what our API sent it
    testing.pay_at_bank(page, site)
    page.get_by_text("Thanh toán thành công").wait_for()
    assert page.locator("#trang-thai").get_attribute("role") == "status"
    _accessible(page, "return page (paid)")

    testing.open_receipt(page)
    receipt = page.locator(".receipt").inner_text()
    for text in ("Mẫu số", "Ký hiệu", "Số biên lai", "Đơn vị thu", "Nguyễn Thị Trang", seed.dossier_code, first,
                 "Mã giao dịch ngân hàng", "Thời gian thanh toán", "1.378.500 đ", "Số tiền bằng chữ",
                 "Một triệu ba trăm bảy mươi tám nghìn năm trăm đồng"):
        assert text in receipt, text
    _accessible(page, "receipt")
    with page.expect_download() as download:
        page.get_by_role("button", name="Tải biên lai (PDF)").click()
    assert download.value.suggested_filename.startswith("bien-lai-")
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    page.get_by_text("Đã tải biên lai (PDF).").wait_for()
    watch.assert_clean()


def _tab_to(page, selector: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"{selector}: no visible focus"
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_only_completes_the_payment(desktop, site, stack, seed):
    page, watch = desktop
    keys = page.keyboard
    testing.open_lookup(page, site)
    _tab_to(page, "a.skip")
    keys.press("Enter")  # skip link: focus goes to the main content
    _tab_to(page, "#dossier_code")
    keys.type(seed.dossier_code)
    _tab_to(page, "#id_number")
    keys.type(seed.id_number)
    _tab_to(page, "#tra-cuu [type=submit]")
    keys.press("Enter")
    page.locator("#ket-qua").wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "buoc-thong-bao"  # focus follows the new step
    _tab_to(page, "input[name=notice_number]")
    keys.press("Space")
    _tab_to(page, "#chon-thong-bao [type=submit]")
    keys.press("Enter")
    page.locator("#nh-VCB").wait_for()
    _tab_to(page, "input[name=bank_code]")
    for _ in range(2):
        keys.press("ArrowDown")  # Vietcombank -> VietinBank -> BIDV
    assert page.locator("#nh-BIDV").is_checked()
    _tab_to(page, "#thanh-toan [type=submit]")
    keys.press("Enter")
    page.wait_for_url(f"{stack.bank_url}/**")
    _tab_to(page, "form[action='/ib/login'] button, form[action='/pay'] button")  # the bank's sign-in
    keys.press("Enter")
    page.wait_for_url("**/pay?**")
    _tab_to(page, "form[action='/pay/confirm'] button")
    keys.press("Enter")
    page.wait_for_url(f"{site}/thanh-toan-dat-dai/ket-qua.html**")
    page.get_by_text("Thanh toán thành công").wait_for()
    page.wait_for_function("document.activeElement && document.activeElement.id === 'xem-bien-lai'")
    keys.press("Enter")
    page.get_by_role("heading", name="Biên lai thu tiền điện tử").wait_for()
    _tab_to(page, "#tai-pdf")
    with page.expect_download() as download:
        keys.press("Enter")
    assert download.value.suggested_filename.endswith(".pdf")
    watch.assert_clean()


def test_double_click_and_reload_never_make_two_payments(desktop, site, stack, seed):
    page, watch = desktop
    posts, at_bank = [], []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" and r.url.endswith("/v1/payments")
            else None)

    def bank(route):  # hold the citizen on a stand-in bank page and note which payment was sent there
        at_bank.append(parse_qs(urlsplit(route.request.url).query)["payment_id"][0])
        route.fulfill(status=200, content_type="text/html", body="<!DOCTYPE html><title>Ngân hàng</title>")

    page.route(f"{stack.bank_url}/**", bank)
    notice = list(seed.notices)[1]
    testing.open_lookup(page, site)
    testing.look_up(page, seed)
    testing.choose_notice(page, notice)
    page.locator("#nh-ICB").check()
    page.get_by_role("button", name="Thanh toán", exact=True).dblclick()
    page.wait_for_url(f"{stack.bank_url}/**")
    assert len(posts) == 1, posts

    page.go_back()
    page.reload()
    testing.open_lookup(page, site)
    testing.look_up(page, seed)
    assert "Đang thanh toán" in page.locator(".notice[data-status=in_payment]").inner_text()
    testing.choose_notice(page, notice)
    page.locator("#nh-ICB").check()
    page.get_by_role("button", name="Thanh toán", exact=True).click()
    page.wait_for_url(f"{stack.bank_url}/**")
    # The second POST replayed the first answer (same Idempotency-Key): the same payment, not a 409 or a new one.
    assert len(at_bank) == 2 and at_bank[0] == at_bank[1], at_bank
    watch.assert_clean()


def test_cancelled_at_the_bank_then_paid_again(browser, site, stack, seed):
    context = browser.new_context(**testing.PHONE)
    watch = testing.Watch(site).attach(context)
    page = context.new_page()
    notice = list(seed.notices)[1]
    testing.open_lookup(page, site)
    testing.look_up(page, seed)
    testing.choose_notice(page, notice)
    testing.choose_bank(page, "VBA", stack.bank_url)
    first = parse_qs(urlsplit(page.url).query)["payment_id"][0]
    testing.pay_at_bank(page, site, outcome="cancel")
    page.locator(".status__title", has_text="Giao dịch không thành công").wait_for()
    assert "bạn có thể thanh toán lại" in page.locator("#trang-thai").inner_text()
    _accessible(page, "return page (failed)")
    page.get_by_role("link", name="Thanh toán lại").click()
    testing.look_up(page, seed)
    testing.choose_notice(page, notice)
    testing.choose_bank(page, "VBA", stack.bank_url)
    assert parse_qs(urlsplit(page.url).query)["payment_id"][0] != first  # a new attempt, a new key
    watch.assert_clean()
    context.close()
