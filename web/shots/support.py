"""Support requests and integration progress (screen 4): the province administrator's list, form (with a refused
field, then a refused file type beside the file field), a filed request with comments and an attachment; the
operator's list with the monthly report, a configuration request before and after applying; the operator's
dashboard and override; a province's self-test run to its verdict (web/screens.py runs JOURNEYS in order)."""
from __future__ import annotations

from chalicelib.local.identities import new_identity
from tests.e2e.provinces import next_province
from web import testing

SUPPORT = "/can-bo/tinh/ho-tro.html"
ONBOARDING = "/can-bo/tinh/tich-hop.html"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + b"%" * 3000 + b"\n%%EOF\n"


def _province_admin(page, stack, shot) -> None:
    short = next_province().agency_code
    admin = new_identity(stack.api_url, "province_admin", province=short)
    ref = testing.upload_support_attachment(stack.api_url, admin.headers, "bien-ban-loi.pdf", PDF)
    testing.file_support_request(stack.api_url, admin.headers, testing.support_form(
        short, title=f"Tỉnh {short}- không tra cứu được hồ sơ", attachments=[ref]))
    testing.sign_in_staff(page, stack.api_url, admin.login, admin.password, then=SUPPORT)
    page.locator("#ket-qua tbody tr").first.wait_for()
    shot("ho-tro-danh-sach")
    page.get_by_role("link", name="Gửi yêu cầu hỗ trợ mới").click()
    page.get_by_label("Loại yêu cầu *").select_option("api_configuration")
    page.get_by_label("Người yêu cầu *").fill("Nguyễn Văn Hùng")
    page.get_by_label("Số điện thoại *").fill("12")
    page.get_by_role("button", name="Gửi yêu cầu").click()
    page.locator("#requester_phone-error").wait_for()
    shot("ho-tro-tao-loi")
    page.get_by_label("File đính kèm").set_input_files([
        {"name": "bien-ban-loi.pdf", "mimeType": "application/pdf", "buffer": PDF},
        {"name": "cai-dat.exe", "mimeType": "application/octet-stream", "buffer": b"MZ" + b"\0" * 64}])
    page.locator("#attachments-error").wait_for()
    page.locator("#files").scroll_into_view_if_needed()
    shot("ho-tro-tao-tep-loi")
    page.goto(stack.api_url + SUPPORT)
    page.locator("#ket-qua a.support-link").first.click()
    page.get_by_label("Nội dung trao đổi").fill("Xin gửi ảnh chụp màn hình lỗi kèm theo.")
    page.get_by_role("button", name="Gửi trao đổi").click()
    page.locator("#trao-doi").get_by_text("Xin gửi ảnh chụp").wait_for()
    page.get_by_role("button", name="Lấy liên kết tải bien-ban-loi.pdf").click()
    page.get_by_role("link", name="Tải bien-ban-loi.pdf").wait_for()
    shot("ho-tro-chi-tiet")


def _operator(page, stack, shot) -> None:
    short = next_province().agency_code
    admin = new_identity(stack.api_url, "province_admin", province=short)
    filed = testing.file_support_request(stack.api_url, admin.headers, testing.support_form(
        short, "api_configuration", apis=testing.simulated_apis(stack, short)))
    operator = new_identity(stack.api_url, "operator")
    testing.sign_in_staff(page, stack.api_url, operator.login, operator.password, then=SUPPORT)
    page.locator("#bang-bao-cao table").wait_for()
    shot("ho-tro-van-hanh-danh-sach")
    page.goto(f"{stack.api_url}{SUPPORT}?ma={filed['request_id']}")
    page.get_by_role("region", name="Các API đề nghị cấu hình").wait_for()
    shot("ho-tro-van-hanh-chi-tiet")
    page.get_by_role("button", name="Áp dụng cấu hình API").click()
    page.get_by_text("Trạng thái: Đã xử lý xong").wait_for()
    shot("ho-tro-van-hanh-da-ap-dung")
    page.goto(stack.api_url + ONBOARDING)
    page.get_by_role("region", name="Tiến độ tích hợp của từng tỉnh").wait_for()
    shot("tich-hop-tong-quan")
    page.goto(f"{stack.api_url}{ONBOARDING}?tinh={filed['unit_code']}")
    page.get_by_role("heading", name="Xác nhận thay bước tích hợp").wait_for()
    page.get_by_label("Lý do (ít nhất 10 ký tự)").fill("Tỉnh đã kiểm tra API trước khi có hệ thống theo dõi")
    page.get_by_label("Tôi xác nhận cho các bước này hoàn thành mà không có minh chứng.").check()
    page.get_by_role("button", name="Xác nhận thay").click()
    page.get_by_text("Xác nhận thay bởi").first.wait_for()
    shot("tich-hop-xac-nhan-thay")


def _self_test(page, stack, shot) -> None:
    province = next_province()
    operator = new_identity(stack.api_url, "operator")
    testing.configure_simulated_province(stack, province, operator.headers)
    stack.province.control(province.agency_code, mode="500", api_type="receipt_file")
    admin = new_identity(stack.api_url, "province_admin", province=province.agency_code)
    testing.sign_in_staff(page, stack.api_url, admin.login, admin.password, then=ONBOARDING)
    page.get_by_text("Tỉnh chưa có lượt tự kiểm thử nào.").wait_for()
    shot("tich-hop-tinh")
    try:
        page.get_by_role("button", name="Chạy tự kiểm thử").click()
        page.get_by_text("Không đạt — Kết luận: KHÔNG ĐẠT").wait_for(timeout=60_000)
    finally:
        stack.province.control(province.agency_code, mode="ok")
    shot("tich-hop-kiem-thu-khong-dat")
    page.get_by_role("button", name="Chạy tự kiểm thử").click()
    page.get_by_text("Đạt — Kết luận: ĐẠT").wait_for(timeout=60_000)
    page.get_by_role("button", name="Lấy liên kết tải báo cáo minh chứng").click()
    page.get_by_role("link", name="Tải báo cáo minh chứng (PDF)").wait_for()
    shot("tich-hop-kiem-thu-dat")


JOURNEYS = [_province_admin, _operator, _self_test]
