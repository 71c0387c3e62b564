"""The province console: API registry and check, delivery health, alert contacts (web/screens.py runs JOURNEYS in
order, once per viewport, on one stack: each walk takes a province of its own)."""
from __future__ import annotations

from chalicelib.local.identities import new_identity
from web import testing

_taken: set[str] = set()


def _province():
    """A province no other walk of this run has used (the stack registers H35 and H49 itself: not those)."""
    from chalicelib.core import admin_units

    free = [p for p in sorted(admin_units.provinces(), key=lambda p: p.agency_code)
            if p.agency_code not in _taken | {"H35", "H49"}]
    _taken.add(free[0].agency_code)
    return free[0]


def _registry(page, stack, shot) -> None:
    province = _province()
    operator = new_identity(stack.api_url, "operator")
    testing.configure_province(stack.api_url, stack.province_url, province, operator.headers,
                               types=("payment_result",))
    admin = new_identity(stack.api_url, "province_admin", province=province.agency_code)
    testing.sign_in_staff(page, stack.api_url, admin.login, admin.password, then="/can-bo/tinh/api.html")
    page.locator("#bang-api").get_by_text("Đã lưu").wait_for()
    shot("tinh-api-danh-muc")
    page.get_by_role("button", name="Khai báo").first.click()
    page.get_by_label("URL API lấy session").fill("https://motcua.example.vn/api/session")
    page.get_by_label("URL API lấy dữ liệu").fill("https://motcua.example.vn/api/thong-bao")
    page.get_by_role("button", name="Lưu cấu hình").click()
    page.locator("#credentials-error").wait_for()
    shot("tinh-api-khai-bao-loi")
    page.get_by_role("button", name="Hủy").click()
    page.locator("#form-kiem-tra").get_by_label("Loại API").select_option("payment_result")
    page.get_by_role("button", name="Gửi kiểm tra").click()
    page.locator("#ket-qua .province-verdict").first.wait_for()
    page.locator("#ket-qua").scroll_into_view_if_needed()
    shot("tinh-api-kiem-tra")
    page.get_by_role("button", name="Tắt API BNDP thanh toán thuế đất").click()
    shot("tinh-api-xac-nhan-tat")
    page.goto(f"{stack.api_url}/can-bo/tinh/api.html?tinh=000.00.00.H35")
    page.locator("#tu-choi").get_by_text("tỉnh mình").wait_for()
    shot("tinh-api-tu-choi")


def _deliveries(page, stack, shot) -> None:
    province = _province()
    short = province.agency_code
    operator = new_identity(stack.api_url, "operator")
    agency = testing.configure_province(stack.api_url, stack.province_url, province, operator.headers)
    testing.paid_receipt(stack.api_url, stack.bank_url, short)
    testing.wait_for_deliveries(stack.api_url, agency, operator.headers, "delivered", 2)
    stack.province.control(short, mode="500")
    testing.paid_receipt(stack.api_url, stack.bank_url, short)
    testing.wait_for_deliveries(stack.api_url, agency, operator.headers, "dead", 2)
    admin = new_identity(stack.api_url, "province_admin", province=short)
    testing.sign_in_staff(page, stack.api_url, admin.login, admin.password, then="/can-bo/tinh/gui-nhan.html")
    page.locator("#bang-gui-nhan").wait_for()
    shot("tinh-gui-nhan-khong-gui-duoc")
    testing.sign_in_staff(page, stack.api_url, operator.login, operator.password,
                          then=f"/can-bo/tinh/gui-nhan.html?tinh={agency}")
    page.locator("#bang-gui-nhan").wait_for()
    page.get_by_role("button", name="Gửi lại các biên lai không gửi được").click()
    shot("tinh-gui-nhan-xac-nhan-gui-lai")
    stack.province.control(short, mode="ok")


def _alerts(page, stack, shot) -> None:
    province = _province()
    admin = new_identity(stack.api_url, "province_admin", province=province.agency_code)
    testing.sign_in_staff(page, stack.api_url, admin.login, admin.password, then="/can-bo/tinh/canh-bao.html")
    page.get_by_role("button", name="Đăng ký cho một đơn vị").click()
    form = page.locator("#form-canh-bao")
    form.get_by_label("Số điện thoại 1", exact=True).fill("0912345601")
    form.get_by_role("button", name="Thêm số điện thoại").click()
    form.get_by_label("Số điện thoại 2", exact=True).fill("0987654321")
    form.get_by_role("button", name="Thêm số điện thoại").click()
    form.get_by_label("Số điện thoại 3", exact=True).fill("0123")
    form.get_by_label("Thư điện tử 1", exact=True).fill("canhbao@tinh.example.vn")
    form.get_by_role("button", name="Lưu đăng ký").click()
    page.locator("[id='phones.2-error']").wait_for()
    shot("tinh-canh-bao-loi")
    form.get_by_role("button", name="Xóa số điện thoại 3").click()
    form.get_by_role("button", name="Lưu đăng ký").click()
    page.locator("#bang-canh-bao").wait_for()
    shot("tinh-canh-bao-danh-sach")


JOURNEYS = [_registry, _deliveries, _alerts]
