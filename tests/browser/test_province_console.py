"""The province administrator's console in a real browser, against the simulated province software of the local
stack: the API registry (create with the refusals beside their fields, credentials write-only, disable with
confirmation), the API check "like Postman" on the configured API and on a new URL, the audit trail, delivery
health with its lists and the operator-only re-drive, alert contacts with a field error on the right row, and the
refusal a province administrator sees on another province."""
from __future__ import annotations

import re

import requests

from chalicelib.local.identities import new_identity
from tests.e2e.provinces import next_province
from web import testing

API_PAGE = "/can-bo/tinh/api.html"
DELIVERY_PAGE = "/can-bo/tinh/gui-nhan.html"
ALERTS_PAGE = "/can-bo/tinh/canh-bao.html"


def _admin(page, site, stack, then=API_PAGE):
    province = next_province()
    admin = new_identity(stack.api_url, "province_admin", province=province.agency_code)
    testing.sign_in_staff(page, site, admin.login, admin.password, then=then)
    return province, f"000.00.00.{province.agency_code}"


def _row(page, label: str):
    return page.locator("#bang-api tbody tr", has=page.locator("th", has_text=label))


def test_province_admin_registers_checks_and_disables_the_payment_result_api(browsing, site, stack):
    page, watch = browsing
    province, agency = _admin(page, site, stack)
    short = province.agency_code
    row = _row(page, "API BNDP thanh toán thuế đất")
    row.get_by_text("Chưa khai báo").wait_for()
    assert page.locator("#tinh").input_value() == agency and f"tinh={agency}" in page.url
    assert testing.axe_violations(page) == []

    row.get_by_role("button", name="Khai báo").click()
    form = page.locator("#form-api")
    assert form.get_by_label("Mã tỉnh (mã thống kê, 2 chữ số)").input_value() == province.stats_code
    form.get_by_label("URL API lấy session").fill(f"{stack.province_url}/p/{short}/session")
    form.get_by_label("URL API lấy dữ liệu").fill(f"{stack.province_url}/p/{short}/payment_result")
    watch.expect_failed(422)
    form.get_by_role("button", name="Lưu cấu hình").click()
    page.locator("#credentials-error").get_by_text("Cần thông tin xác thực khi khai báo API lần đầu.").wait_for()
    assert testing.axe_violations(page) == []
    from chalicelib.local import devkeys

    form.get_by_label("Tên đăng nhập").fill(devkeys.LOCAL_PROVINCE_USERNAME)
    form.get_by_label("Mật khẩu").fill(devkeys.LOCAL_PROVINCE_PASSWORD)
    form.get_by_role("button", name="Lưu cấu hình").click()
    page.get_by_text("Đã lưu cấu hình API BNDP thanh toán thuế đất.").wait_for()
    assert row.locator("td").nth(3).inner_text() == "Đã lưu"  # credentials: never shown, only that they are kept
    assert devkeys.LOCAL_PROVINCE_PASSWORD not in page.content()

    # Moving the session URL to another host without the credentials again: the API's refusal beside them.
    row.get_by_role("button", name="Sửa API BNDP thanh toán thuế đất").click()
    assert form.get_by_label("Mật khẩu").input_value() == ""
    assert "Đã lưu" in page.locator("#credentials-hint").inner_text()
    form.get_by_label("URL API lấy session").fill(f"http://localhost:{stack.province_url.rsplit(':', 1)[1]}/p/x")
    form.get_by_role("button", name="Lưu cấu hình").click()
    page.locator("#credentials-error").get_by_text("chuyển sang máy chủ khác").wait_for()
    form.get_by_role("button", name="Hủy").click()

    # The API check of the configured API: sample body prefilled, session then data, the answer shown as text.
    testing.wait_for_credentials(stack.api_url, agency, "payment_result",
                                 new_identity(stack.api_url, "operator").headers)
    check = page.locator("#form-kiem-tra")
    check.get_by_label("Loại API").select_option("payment_result")
    assert '"message_id": "RCPKIEMTRAAPI0001:payment_result"' in check.get_by_label("Dữ liệu gửi (JSON)").input_value()
    check.get_by_role("button", name="Gửi kiểm tra").click()
    result = page.locator("#ket-qua")
    result.get_by_text("Đã nhận token (không hiển thị)").wait_for()
    verdicts = result.locator(".province-verdict").all_inner_texts()
    assert verdicts == ["✓ HTTP 200", "✓ HTTP 200"]
    assert "Đã tiếp nhận" in result.locator(".province-body").inner_text()
    headers = result.locator("table").all_inner_texts()
    assert len(headers) == 2 and all("content-type" in t.lower() and "application/json" in t for t in headers)
    assert testing.axe_violations(page) == []

    # A new URL: a metadata address is refused beside the URL; bad JSON is caught before sending.
    check.get_by_label("Một URL mới (chưa khai báo)").check()
    check.get_by_label("URL cần kiểm tra").fill("http://169.254.169.254/latest/meta-data")
    watch.expect_failed(422)
    check.get_by_role("button", name="Gửi kiểm tra").click()
    page.locator("#url-error").wait_for()
    assert check.get_by_label("URL cần kiểm tra").get_attribute("aria-invalid") == "true"
    check.get_by_label("Dữ liệu gửi (JSON)").fill("{ không phải json")
    check.get_by_role("button", name="Gửi kiểm tra").click()
    page.locator("#body-error").get_by_text("không phải JSON hợp lệ").wait_for()

    # Disable, after a confirmation; the audit trail says who did what.
    row.get_by_role("button", name="Tắt API BNDP thanh toán thuế đất").click()
    page.get_by_role("button", name="Xác nhận tắt API").click()
    page.get_by_text("Đã tắt API BNDP thanh toán thuế đất.").wait_for()
    assert row.locator("td").nth(2).inner_text() == "✗ Đã tắt"
    trail = page.locator("#bang-nhat-ky").inner_text()
    for action in ("Tắt API", "Kiểm tra API bị từ chối", "Kiểm tra API", "Khai báo API"):
        assert action in trail
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", row.locator("td").nth(4).inner_text())
    assert testing.axe_violations(page) == []
    watch.assert_clean()


def test_a_province_admin_opening_another_provinces_console_sees_the_refusal(desktop, site, stack):
    page, watch = desktop
    _admin(page, site, stack, then=None)
    watch.expect_failed(403)
    for path in (API_PAGE, DELIVERY_PAGE):
        page.goto(f"{site}{path}?tinh=000.00.00.H35")
        refusal = page.locator("#tu-choi")
        refusal.get_by_text("Bạn chỉ được quản lý cấu hình của tỉnh mình.").wait_for()
        assert page.locator("#bang-dieu-khien").is_hidden()
        assert page.evaluate("document.activeElement.id") == "tu-choi"
        assert testing.axe_violations(page) == []
    watch.assert_clean()


def test_delivery_health_lists_dead_letters_and_only_an_operator_redrives(desktop, site, stack):
    page, watch = desktop
    province, agency = _admin(page, site, stack, then=None)
    short = province.agency_code
    operator = new_identity(stack.api_url, "operator")
    testing.configure_province(stack.api_url, stack.province_url, province, operator.headers)
    stack.province.control(short, mode="500")
    receipts = [testing.paid_receipt(stack.api_url, stack.bank_url, short) for _ in range(3)]
    testing.wait_for_deliveries(stack.api_url, agency, operator.headers, "dead", 6)  # 3 receipts + their notices

    page.goto(f"{site}{DELIVERY_PAGE}?tinh={agency}")
    page.locator("#bang-gui-nhan").wait_for()
    assert page.locator("#so-dead").inner_text() == "6" and page.locator("#so-delivered").inner_text() == "0"
    assert "Có biên lai đang lỗi hoặc không gửi được từ" in page.locator("#loi-tu-luc").inner_text()
    page.get_by_label("Loại dữ liệu").select_option("receipt")
    page.get_by_label("Số dòng mỗi trang").select_option("10")
    with page.expect_response(lambda r: "kind=receipt" in r.url):
        page.get_by_role("button", name="Xem danh sách").click()
    page.locator("#bang-gui-nhan caption").get_by_text("Không gửi được: trang 1").wait_for()
    table = page.locator("#bang-gui-nhan").inner_text()
    assert all(r in table for r in receipts) and "1.378.500 đ" in table and "Thông báo thuế" not in table
    assert testing.axe_violations(page) == []

    # A province admin: re-drive explained and disabled; forced anyway, the API's refusal is shown.
    redrive = page.get_by_role("button", name="Gửi lại các biên lai không gửi được")
    assert redrive.is_disabled() and page.locator("#chi-quan-tri").is_visible()
    redrive.evaluate("b => { b.disabled = false; }")
    redrive.click()
    watch.expect_failed(403)
    page.get_by_role("button", name="Xác nhận gửi lại").click()
    page.locator("#gui-lai-loi").wait_for()
    assert "không có quyền" in page.locator("#gui-lai-loi").inner_text().lower()
    assert testing.axe_violations(page) == []

    # The operator re-drives once the province is back.
    stack.province.control(short, mode="ok")
    testing.sign_in_staff(page, site, operator.login, operator.password, then=f"{DELIVERY_PAGE}?tinh={agency}")
    page.locator("#bang-gui-nhan").wait_for()
    assert page.locator("#chi-quan-tri").is_hidden()
    page.get_by_role("button", name="Gửi lại các biên lai không gửi được").click()
    page.get_by_role("button", name="Xác nhận gửi lại").click()
    page.get_by_text("Đã đưa 6 biên lai, thông báo vào hàng đợi gửi lại.").wait_for()
    testing.wait_for_deliveries(stack.api_url, agency, operator.headers, "delivered", 6)
    page.get_by_label("Trạng thái", exact=True).select_option("delivered")
    page.get_by_role("button", name="Xem danh sách").click()
    page.locator("#bang-gui-nhan caption").get_by_text("Đã gửi: trang 1").wait_for()
    assert page.locator("#so-delivered").inner_text() == "6" and page.locator("#so-dead").inner_text() == "0"
    watch.assert_clean()


def test_alert_contacts_several_phones_and_emails_with_the_error_on_its_row(browsing, site, stack):
    page, watch = browsing
    province, agency = _admin(page, site, stack, then=ALERTS_PAGE)
    page.get_by_text("chưa đăng ký đơn vị nào nhận cảnh báo").wait_for()
    assert testing.axe_violations(page) == []
    page.get_by_role("button", name="Đăng ký cho một đơn vị").click()
    form = page.locator("#form-canh-bao")
    assert form.get_by_label("Mã định danh đơn vị").input_value() == agency
    form.get_by_label("Số điện thoại 1", exact=True).fill("0912 345 601")
    form.get_by_role("button", name="Thêm số điện thoại").click()
    form.get_by_label("Số điện thoại 2", exact=True).fill("0987654321")
    form.get_by_role("button", name="Thêm số điện thoại").click()
    form.get_by_label("Số điện thoại 3", exact=True).fill("0123")
    form.get_by_label("Thư điện tử 1", exact=True).fill(f"canhbao-{province.agency_code.lower()}@tinh.example.vn")
    form.get_by_role("button", name="Thêm thư điện tử").click()
    form.get_by_label("Thư điện tử 2", exact=True).fill("it@tinh.example.vn")
    watch.expect_failed(422)
    form.get_by_role("button", name="Lưu đăng ký").click()
    third = form.get_by_label("Số điện thoại 3", exact=True)
    page.locator("[id='phones.2-error']").wait_for()
    assert third.get_attribute("aria-invalid") == "true"
    assert form.get_by_label("Số điện thoại 1", exact=True).get_attribute("aria-invalid") is None
    assert page.evaluate("document.activeElement.id") == "phones.2"
    assert testing.axe_violations(page) == []

    form.get_by_role("button", name="Xóa số điện thoại 3").click()
    form.get_by_role("button", name="Lưu đăng ký").click()
    page.get_by_text(f"Đã lưu đăng ký nhận cảnh báo của {agency}.").wait_for()
    table = page.locator("#bang-canh-bao").inner_text()
    assert "+84912345601" in table and "+84987654321" in table and "it@tinh.example.vn" in table
    assert "Thanh toán thuế đất" in table

    # Another province's unit is refused by the API, above the form.
    page.get_by_role("button", name="Đăng ký cho một đơn vị").click()
    form.get_by_label("Mã định danh đơn vị").fill("000.00.00.H35")
    form.get_by_label("Số điện thoại 1", exact=True).fill("0912345602")
    watch.expect_failed(403)
    form.get_by_role("button", name="Lưu đăng ký").click()
    form.locator("[data-form-error]").get_by_text("Bạn chỉ được quản lý cấu hình của tỉnh mình.").wait_for()
    form.get_by_role("button", name="Hủy").click()

    page.get_by_role("button", name=f"Xóa đăng ký của {agency}").click()
    page.get_by_role("button", name="Xác nhận xóa").click()
    page.get_by_text(f"Đã xóa đăng ký nhận cảnh báo của {agency}.").wait_for()
    r = requests.get(f"{stack.api_url}/v1/alert-contacts", headers=new_identity(stack.api_url, "operator").headers,
                     timeout=20)
    assert all(c["unit_code"] != agency for c in r.json()["contacts"])
    watch.assert_clean()
