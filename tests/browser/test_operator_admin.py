"""The administration console in a real browser (/can-bo/quan-tri/don-vi.html): an operator creates a unit and a
staff user, assigns the unit, grants the right, locks and deletes the user (with its confirmation), and reads the
audit trail; a province administrator is held to their province (the API's refusals shown beside the field or above
the user), and a field the API refuses is answered beside it."""
from __future__ import annotations

import uuid

from chalicelib.local.identities import new_identity
from tests.e2e.provinces import next_province
from web import testing

PAGE = "/can-bo/quan-tri/don-vi.html"


def test_operator_creates_a_unit_and_a_user_grants_locks_and_deletes(browsing, site, stack):
    page, watch = browsing
    province = next_province()
    unit = testing.fresh_unit_code(province.agency_code)
    operator = new_identity(stack.api_url, "operator")
    testing.sign_in_staff(page, site, operator.login, operator.password, then=PAGE)
    page.locator("#ket-qua-tim table").wait_for()
    assert page.locator("nav.console-nav a[aria-current=page]").inner_text() == "Đơn vị, cán bộ và quyền"
    assert testing.axe_violations(page) == []

    page.locator("summary", has_text="Thêm đơn vị mới").click()
    page.get_by_label("Mã định danh đơn vị").fill("abc")
    page.get_by_label("Tên đơn vị").fill("Bộ phận một cửa thử nghiệm")
    watch.expect_failed(422)
    page.get_by_role("button", name="Thêm đơn vị").click()
    page.locator("#code-error").wait_for()
    assert page.locator("#code").get_attribute("aria-invalid") == "true"
    page.get_by_label("Mã định danh đơn vị").fill(unit)
    page.get_by_role("button", name="Thêm đơn vị").click()
    page.get_by_text(f"Đã thêm đơn vị {unit}").wait_for()
    assert page.locator("#ds-don-vi tr", has_text=unit).inner_text().count("Có") == 1  # a one-stop unit

    user_id = f"canbo-{uuid.uuid4().hex[:8]}"
    page.locator("summary", has_text="Tạo người dùng cán bộ").click()
    page.locator("#user_id").fill(user_id)
    page.locator("#full_name").fill("Trần Văn Bình")
    page.locator("#phone").fill("0912345679")
    page.get_by_label("Số định danh cá nhân (CCCD)").fill(testing.fresh_id_number())
    page.get_by_role("button", name="Tạo người dùng").click()
    page.get_by_role("heading", name=f"Người dùng {user_id}").wait_for()
    assert "Chưa có" in page.locator("#thong-tin").inner_text()  # no role before the first unit
    assert testing.axe_violations(page) == []

    page.locator("#unit_code").select_option(unit)
    page.get_by_role("button", name="Gán đơn vị").click()
    page.get_by_text(f"Đã gán đơn vị {unit}.").wait_for()
    page.get_by_role("button", name="Cấp quyền tạo tài khoản công dân").click()
    page.get_by_text("Đã cấp quyền tạo tài khoản công dân.").wait_for()
    facts = page.locator("#thong-tin").inner_text()
    assert "Cán bộ một cửa" in facts and "Quyền tạo tài khoản công dân" in facts
    page.get_by_role("button", name="Khóa tài khoản").click()
    page.get_by_text("Đã khóa tài khoản").wait_for()
    assert page.get_by_role("button", name="Mở khóa tài khoản").is_visible()

    page.get_by_role("button", name="Xóa người dùng").click()
    page.get_by_role("button", name="Không xóa").click()
    assert page.get_by_role("button", name="Xóa người dùng").is_visible()
    page.get_by_role("button", name="Xóa người dùng").click()
    assert testing.axe_violations(page) == []
    page.get_by_role("button", name="Xác nhận xóa").click()
    page.get_by_text(f"Đã xóa người dùng {user_id}.").wait_for()
    audit = page.locator("#nhat-ky table")
    page.locator("#nhat-ky tr", has_text="Xóa người dùng").wait_for()
    actions = audit.locator("tbody tr td:nth-child(3)").all_inner_texts()
    assert actions == ["Tạo người dùng", "Gán đơn vị", "Cấp quyền", "Khóa tài khoản", "Xóa người dùng"]
    assert audit.locator("tbody tr").first.locator("td").first.inner_text() == operator.login
    watch.assert_clean()


def test_a_province_administrator_is_held_to_their_province(desktop, site, stack):
    page, watch = desktop
    province = next_province()
    plain = testing.fresh_unit_code(province.agency_code)
    testing.ensure_unit(plain, "Phòng Tài nguyên và Môi trường")  # not a one-stop unit
    officer = new_identity(stack.api_url, "officer", unit=plain, grant=False)
    admin = new_identity(stack.api_url, "province_admin", province=province.agency_code)
    testing.sign_in_staff(page, site, admin.login, admin.password, then=PAGE)
    page.locator("#ds-don-vi tr", has_text=plain).wait_for()
    assert "H35" not in page.locator("#ds-don-vi").inner_text()  # only the units of their province

    page.locator("summary", has_text="Thêm đơn vị mới").click()
    page.get_by_label("Mã định danh đơn vị").fill("000.00.77.H35")
    page.get_by_label("Tên đơn vị").fill("Bộ phận một cửa tỉnh khác")
    watch.expect_failed(403)
    page.get_by_role("button", name="Thêm đơn vị").click()
    page.locator("#code-error", has_text="không thuộc phạm vi quản trị").wait_for()

    page.get_by_label("Số điện thoại").first.fill("12345")
    watch.expect_failed(422)
    page.get_by_role("button", name="Tìm", exact=True).click()
    page.locator("#q_phone-error").wait_for()
    assert page.evaluate("document.activeElement.id") == "q_phone"
    assert testing.axe_violations(page) == []

    page.get_by_label("Số điện thoại").first.fill("")
    page.locator("#q_unit_code").select_option(plain)
    page.get_by_role("button", name="Tìm", exact=True).click()
    page.get_by_role("button", name=f"Xem người dùng {officer.login}").click()
    page.get_by_role("button", name="Cấp quyền tạo tài khoản công dân").click()
    error = page.locator("#chi-tiet > [data-form-error]")
    error.wait_for()
    assert "Trung tâm phục vụ hành chính công" in error.inner_text()
    assert testing.axe_violations(page) == []
    watch.assert_clean()
