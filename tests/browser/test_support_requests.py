"""Support requests in a real browser (/can-bo/tinh/ho-tro.html): a province administrator files one (a refused
phone beside its field), reads the clock and comments; an operator moves it, applies a configuration request and
reads the monthly report; attachments chosen in the page go straight to S3 (a refused type is said beside the field
before any request) and are listed with short-lived links; and the refusals: another province's request, an administrator's apply, an operator's move
without its reason. Each test has a province of its own (tests.e2e.provinces)."""
from __future__ import annotations

import re

import requests
from playwright.sync_api import expect

from chalicelib.local.identities import new_identity
from tests.e2e.provinces import next_province
from web import testing

PAGE = "/can-bo/tinh/ho-tro.html"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + b"%" * 3000 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + b"\0" * 200


def _open(page, site, path=PAGE):
    page.goto(f"{site}{path}")
    page.locator("html.js").wait_for(state="attached")


def test_a_province_admin_files_a_request_and_follows_it(browsing, site, stack):
    page, watch = browsing
    short = next_province().agency_code
    admin = new_identity(stack.api_url, "province_admin", province=short)
    testing.sign_in_staff(page, site, admin.login, admin.password, then=PAGE)
    page.locator("html.js").wait_for(state="attached")
    page.get_by_text("Không có yêu cầu hỗ trợ nào phù hợp.").wait_for()
    assert testing.axe_violations(page) == []

    page.get_by_role("link", name="Gửi yêu cầu hỗ trợ mới").click()
    page.get_by_role("heading", name="Thông tin yêu cầu hỗ trợ").wait_for()
    assert page.get_by_label("File đính kèm").is_visible()
    assert "Tối đa 10 tệp" in page.locator("#files-hint").inner_text()  # the catalogue's limits
    page.get_by_label("Loại yêu cầu *").select_option("other")
    assert "[Tên đơn vị]- nội dung cần hỗ trợ" in page.locator("#title-hint").inner_text()
    page.get_by_label("Người yêu cầu *").fill("Nguyễn Văn Hùng")
    page.get_by_label("Số điện thoại *").fill("12")
    page.get_by_label("Email phản hồi *").fill("phanhoi@tinh.example.vn")
    page.get_by_label("Tên yêu cầu *").fill(f"Tỉnh {short}- hỗ trợ tra cứu hồ sơ")
    page.get_by_label("Mô tả yêu cầu *").fill("Cán bộ một cửa không tra cứu được hồ sơ.")
    watch.expect_failed(422)
    page.get_by_role("button", name="Gửi yêu cầu").click()
    page.locator("#requester_phone-error").get_by_text("Số điện thoại không hợp lệ").wait_for()
    assert page.evaluate("document.activeElement.id") == "requester_phone"
    assert testing.axe_violations(page) == []
    page.get_by_label("Số điện thoại *").fill("0912345678")
    page.get_by_role("button", name="Gửi yêu cầu").click()

    page.wait_for_url(f"{site}{PAGE}?ma=YC*")
    page.get_by_text("Trạng thái: Mới gửi").wait_for()
    # 8 working hours, less what has run since filing when it was filed within working hours (Vietnam time)
    assert re.search(r"Còn (8 giờ|7 giờ \d{1,2} phút) làm việc", page.locator("#trang-thai").inner_text())
    assert "hạn xử lý dự kiến" in page.locator("#trang-thai").inner_text()
    page.get_by_label("Trạng thái mới").wait_for()  # the requester may cancel, nothing else
    assert page.locator("#status option").all_inner_texts() == ["Hủy yêu cầu"]
    assert page.locator("#ap-dung").is_hidden()
    page.get_by_label("Nội dung trao đổi").fill("Xin gửi thêm ảnh chụp màn hình lỗi.")
    page.get_by_role("button", name="Gửi trao đổi").click()
    page.locator("#trao-doi").get_by_text("Xin gửi thêm ảnh chụp màn hình lỗi.").wait_for()
    page.locator("#nhat-ky").get_by_text("Thêm trao đổi").wait_for()
    assert testing.axe_violations(page) == []

    page.get_by_role("link", name="Danh sách yêu cầu hỗ trợ").click()
    row = page.locator("#ket-qua tbody tr")
    row.first.wait_for()
    expect(row).to_have_count(1)
    assert "Mới gửi" in row.inner_text()
    watch.assert_clean()


def test_a_configuration_request_is_filed_through_the_form_with_its_api_checked(desktop, site, stack):
    from chalicelib.local import devkeys

    page, watch = desktop
    short = next_province().agency_code
    admin = new_identity(stack.api_url, "province_admin", province=short)
    testing.sign_in_staff(page, site, admin.login, admin.password, then=f"{PAGE}?tao=1")
    page.get_by_label("Loại yêu cầu *").select_option("api_configuration")
    form = page.locator("#form-tao")
    for label, value in [("Người yêu cầu *", "Nguyễn Văn Hùng"), ("Số điện thoại *", "0912345678"),
                         ("Email phản hồi *", "phanhoi@tinh.example.vn"), ("Mô tả yêu cầu *", "Cấu hình API."),
                         ("Tên yêu cầu *", f"Tỉnh {short}- hỗ trợ cấu hình URL API thanh toán nghĩa vụ tài chính đất đai")]:
        form.get_by_label(label, exact=True).fill(value)
    payment = page.get_by_role("group", name="API BNDP thanh toán thuế đất", exact=True)
    assert payment.get_by_label("Đề nghị cấu hình API này").is_checked()
    payment.get_by_label("URL API lấy session").fill(f"{stack.province_url}/p/{short}/session")
    payment.get_by_label("URL API lấy dữ liệu").fill(f"{stack.province_url}/p/{short}/payment_result")
    payment.get_by_label("Tên đăng nhập API").fill(devkeys.LOCAL_PROVINCE_USERNAME)
    payment.get_by_label("Mật khẩu API").fill(devkeys.LOCAL_PROVINCE_PASSWORD)
    assert testing.axe_violations(page) == []
    page.get_by_role("button", name="Gửi yêu cầu").click()
    page.wait_for_url(f"{site}{PAGE}?ma=YC*")
    apis = page.get_by_role("region", name="Các API đề nghị cấu hình")
    expect(apis.locator("tbody tr")).to_have_count(1)
    assert "mã 200" in apis.inner_text() and "đã nhận token" in apis.inner_text()
    assert devkeys.LOCAL_PROVINCE_PASSWORD not in page.content()
    watch.assert_clean()


def test_an_operator_processes_and_applies_a_configuration_request(desktop, site, stack):
    page, watch = desktop
    short = next_province().agency_code
    admin = new_identity(stack.api_url, "province_admin", province=short)
    filed = testing.file_support_request(stack.api_url, admin.headers, testing.support_form(
        short, "api_configuration", apis=testing.simulated_apis(stack, short)))
    operator = new_identity(stack.api_url, "operator")
    testing.sign_in_staff(page, site, operator.login, operator.password, then=PAGE)
    page.locator("#bang-bao-cao table").wait_for()  # the operators' monthly report
    page.get_by_label("Tên yêu cầu hỗ trợ").fill(filed["title"])
    page.get_by_label("Đơn vị yêu cầu (mã cơ quan)").fill(filed["unit_code"])
    page.get_by_role("button", name="Tìm kiếm").click()
    page.get_by_role("link", name=f"Xem chi tiết: {filed['title']}").first.click()
    page.get_by_role("heading", name=filed["title"]).wait_for()
    apis = page.get_by_role("region", name="Các API đề nghị cấu hình")
    expect(apis.locator("tbody tr")).to_have_count(3)
    assert "Đã niêm phong" in apis.inner_text()
    assert "mã 200" in apis.inner_text() and "dev-only-province-password" not in page.content()
    assert testing.axe_violations(page) == []

    page.get_by_label("Trạng thái mới").select_option("waiting_for_requester")
    watch.expect_failed(422)
    page.get_by_role("button", name="Cập nhật trạng thái").click()
    page.locator("#reason-error").wait_for()
    page.get_by_label("Trạng thái mới").select_option("in_progress")
    page.get_by_role("button", name="Cập nhật trạng thái").click()
    page.get_by_text("Trạng thái: Đang xử lý").wait_for()

    page.get_by_role("button", name="Áp dụng cấu hình API").click()
    page.get_by_text(f"Đã áp dụng 3 API vào danh mục API của {filed['unit_name']}.").wait_for()
    page.get_by_text("Trạng thái: Đã xử lý xong").wait_for()
    assert page.locator("#xu-ly").is_hidden() and page.locator("#form-trao-doi").is_hidden()
    page.locator("#nhat-ky").get_by_text("Áp dụng cấu hình API").wait_for()
    assert testing.axe_violations(page) == []
    configured = requests.get(f"{stack.api_url}/v1/provinces/{filed['unit_code']}/apis", headers=operator.headers,
                              timeout=20).json()["apis"]
    assert sorted(a["api_type"] for a in configured) == ["notice", "payment_result", "receipt_file"]
    watch.assert_clean()


def test_another_province_and_a_province_admin_are_refused(desktop, site, stack):
    page, watch = desktop
    a, b = next_province().agency_code, next_province().agency_code
    admin_a = new_identity(stack.api_url, "province_admin", province=a)
    admin_b = new_identity(stack.api_url, "province_admin", province=b)
    filed = testing.file_support_request(stack.api_url, admin_a.headers, testing.support_form(a))
    r = requests.post(f"{stack.api_url}/v1/support-requests/{filed['request_id']}/apply", headers=admin_a.headers,
                      timeout=20)
    assert r.status_code == 403 and r.json()["code"] == "ROLE_FORBIDDEN"
    r = requests.post(f"{stack.api_url}/v1/support-requests/{filed['request_id']}/status", headers=admin_a.headers,
                      json={"status": "done"}, timeout=20)
    assert r.status_code == 403 and r.json()["code"] == "STATUS_TRANSITION_FORBIDDEN"

    testing.sign_in_staff(page, site, admin_b.login, admin_b.password, then=PAGE)
    page.get_by_text("Không có yêu cầu hỗ trợ nào phù hợp.").wait_for()  # B's list holds none of A's
    watch.expect_failed(403)
    _open(page, site, f"{PAGE}?ma={filed['request_id']}")
    page.locator("#loi-trang").get_by_text("Bạn chỉ được xem và gửi yêu cầu hỗ trợ của tỉnh mình.").wait_for()
    assert page.locator("#chi-tiet").count() == 0 or page.locator("#chi-tiet").is_hidden()
    assert testing.axe_violations(page) == []
    watch.assert_clean()


def test_a_file_chosen_in_the_page_is_uploaded_attached_and_downloaded(desktop, site, stack):
    page, watch = desktop
    short = next_province().agency_code
    admin = new_identity(stack.api_url, "province_admin", province=short)
    testing.sign_in_staff(page, site, admin.login, admin.password, then=f"{PAGE}?tao=1")
    form = page.locator("#form-tao")
    page.get_by_label("Loại yêu cầu *").select_option("other")
    for label, value in [("Người yêu cầu *", "Nguyễn Văn Hùng"), ("Số điện thoại *", "0912345678"),
                         ("Email phản hồi *", "phanhoi@tinh.example.vn"), ("Mô tả yêu cầu *", "Biên bản lỗi kèm theo."),
                         ("Tên yêu cầu *", f"Tỉnh {short}- hỗ trợ lỗi tra cứu")]:
        form.get_by_label(label, exact=True).fill(value)
    files = page.get_by_label("File đính kèm")
    hint = page.locator("#files-hint").inner_text()
    assert "mỗi tệp không quá 10 MB" in hint and "pdf, doc, docx" in hint  # the catalogue's limits

    # A type the API does not take: said beside the field as soon as it is chosen, and again on submit, no request.
    files.set_input_files({"name": "cai-dat.exe", "mimeType": "application/octet-stream", "buffer": b"MZ" + b"\0" * 64})
    error = page.locator("#attachments-error")
    error.get_by_text("Tệp “cai-dat.exe” không được chấp nhận: chỉ chấp nhận tệp jpg, png, pdf").wait_for()
    assert files.get_attribute("aria-invalid") == "true"
    assert page.locator("[data-upload-status]").inner_text() == "cai-dat.exe (1 KB): không được chấp nhận."
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/v1/support-requests" in r.url else None)
    page.get_by_role("button", name="Gửi yêu cầu").click()
    page.get_by_role("button", name="Gửi yêu cầu").wait_for()  # the submit has settled
    assert error.is_visible() and page.evaluate("document.activeElement.id") == "files"
    assert asked == [] and page.url.endswith("?tao=1")
    assert testing.axe_violations(page) == []

    files.set_input_files({"name": "bien-ban-loi.pdf", "mimeType": "application/pdf", "buffer": PDF})
    assert error.is_hidden() and files.get_attribute("aria-invalid") is None
    page.locator("[data-upload-status]").get_by_text("bien-ban-loi.pdf (3 KB): chờ gửi.").wait_for()
    page.get_by_role("button", name="Gửi yêu cầu").click()
    page.wait_for_url(f"{site}{PAGE}?ma=YC*")
    page.get_by_role("heading", name="File đính kèm", exact=True).wait_for()
    assert "bien-ban-loi.pdf (pdf, 3 KB" in page.locator("#tep-dinh-kem").inner_text()
    page.get_by_role("button", name="Lấy liên kết tải bien-ban-loi.pdf").click()
    link = page.get_by_role("link", name="Tải bien-ban-loi.pdf")
    link.wait_for()
    assert requests.get(link.get_attribute("href"), timeout=20).content == PDF

    # A comment carries a file too; it joins the request's list and the form starts afresh.
    page.get_by_label("Nội dung trao đổi").fill("Gửi thêm ảnh chụp màn hình.")
    page.locator("#comment-files").set_input_files({"name": "man-hinh.png", "mimeType": "image/png", "buffer": PNG})
    page.get_by_role("button", name="Gửi trao đổi").click()
    page.locator("#trao-doi").get_by_text("1 tệp đính kèm (xem mục File đính kèm).").wait_for()
    assert "man-hinh.png (png," in page.locator("#tep-dinh-kem").inner_text()
    assert page.locator("#form-trao-doi [data-upload-status]").is_hidden()
    assert testing.axe_violations(page) == []
    watch.assert_clean()


def test_attachments_are_listed_with_short_lived_links_and_the_requester_cancels(desktop, site, stack):
    page, watch = desktop
    short = next_province().agency_code
    admin = new_identity(stack.api_url, "province_admin", province=short)
    ref = testing.upload_support_attachment(stack.api_url, admin.headers, "bien-ban-kiem-thu.pdf", PDF)
    filed = testing.file_support_request(stack.api_url, admin.headers,
                                         testing.support_form(short, attachments=[ref]))
    testing.sign_in_staff(page, site, admin.login, admin.password, then=f"{PAGE}?ma={filed['request_id']}")
    page.get_by_role("heading", name="File đính kèm").wait_for()
    assert "bien-ban-kiem-thu.pdf (pdf," in page.locator("#tep-dinh-kem").inner_text()
    page.get_by_role("button", name="Lấy liên kết tải bien-ban-kiem-thu.pdf").click()
    link = page.get_by_role("link", name="Tải bien-ban-kiem-thu.pdf")
    link.wait_for()
    assert requests.get(link.get_attribute("href"), timeout=20).content == PDF
    assert testing.axe_violations(page) == []

    page.get_by_label("Trạng thái mới").select_option("cancelled")
    page.get_by_role("button", name="Cập nhật trạng thái").click()
    page.get_by_text("Trạng thái: Hủy yêu cầu").wait_for()
    assert page.locator("#xu-ly").is_hidden()
    watch.assert_clean()
