"""The one-stop officer's desk in a real browser (screen 3): search the citizen's ID number, the citizen's data, the
request form PDF, the ID-card scan uploaded straight to the documents bucket (the site's CSP and the bucket's CORS
rule), the OTP read from the SMS the local stack delivered, a wrong code refused, creation and its result; an
existing account stops the desk; resending waits for the API's Retry-After; an officer without the right, or acting
for a unit taken away meanwhile, gets the API's refusal."""
from __future__ import annotations

import uuid

import requests

from chalicelib.local.identities import new_identity
from web import testing

DESK = "/can-bo/mot-cua.html"
UNIT = "000.00.15.H35"


def _open_desk(page, site, officer) -> None:
    testing.sign_in_staff(page, site, officer.login, officer.password, then=DESK)
    page.get_by_role("heading", name="Bước 1. Tra cứu số định danh").wait_for()
    page.wait_for_function("document.documentElement.classList.contains('js')")


def test_officer_creates_an_account_in_the_seeds_order(browsing, site, stack):
    page, watch = browsing
    officer = new_identity(stack.api_url, "officer", unit=UNIT)
    id_number, phone = testing.fresh_citizen_id(), testing.fresh_mobile()
    _open_desk(page, site, officer)
    assert page.locator("#tien-do [aria-current=step]").inner_text().startswith("1")
    assert testing.axe_violations(page) == []

    testing.desk_search(page, id_number)
    page.get_by_role("heading", name="Bước 2. Thông tin công dân").wait_for()
    assert page.locator("#buoc-hien-tai").inner_text() == "Bước 2/7: Nhập thông tin công dân."
    assert "Chưa có tài khoản" in page.locator("#chua-co").inner_text()
    assert page.locator("#so-dinh-danh").inner_text() == id_number
    watch.expect_failed(422)  # the API's own checks, shown beside their fields
    testing.desk_fill_citizen(page, "12345")
    page.get_by_role("button", name="Lập phiếu đề nghị").click()
    page.locator("#phone-error").wait_for()
    assert "Số điện thoại" in page.locator("#phone-error").inner_text()
    testing.desk_fill_citizen(page, phone, sex="Nữ")  # a man's CCCD: the API refuses the sex
    page.get_by_role("button", name="Lập phiếu đề nghị").click()
    page.locator("#sex-error").wait_for()
    assert "Giới tính không khớp" in page.locator("#sex-error").inner_text()
    assert testing.axe_violations(page) == []
    testing.desk_fill_citizen(page, phone, email="an@example.vn")
    page.get_by_role("button", name="Lập phiếu đề nghị").click()

    page.get_by_role("heading", name="Bước 3. Phiếu đề nghị tạo tài khoản").wait_for()
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải phiếu đề nghị (PDF)").click()
    assert download.value.suggested_filename == "phieu-de-nghi-tao-tai-khoan.pdf"
    assert open(download.value.path(), "rb").read(5) == b"%PDF-"
    page.get_by_role("button", name="Công dân đã kiểm tra phiếu, tiếp tục").click()

    page.get_by_role("heading", name="Bước 4. Đính kèm bản quét CMND/CCCD").wait_for()
    testing.desk_upload_scan(page, name="CCCD.png")  # not a scan format: refused before any request
    assert "PDF, DOC hoặc DOCX" in page.locator("#file_name-error").inner_text()
    testing.desk_upload_scan(page)
    page.get_by_role("heading", name="Bước 5. Gửi mã OTP tới công dân").wait_for()
    assert "Đã tải lên bản quét: CCCD.pdf" in page.locator("#da-tai-len").inner_text()
    assert testing.axe_violations(page) == []
    page.get_by_role("button", name="Gửi mã OTP", exact=True).click()

    page.get_by_role("heading", name="Bước 6. Nhập mã OTP công dân đọc").wait_for()
    assert "Đã gửi mã OTP tới số" in page.locator("#da-gui-otp").inner_text()
    assert page.get_by_role("button", name="Gửi lại mã OTP").is_disabled()  # until the API's resend time
    code = testing.newest_otp(phone)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    page.get_by_label("Nhập mã OTP *").fill(wrong)
    page.get_by_role("button", name="Xác nhận mã").click()
    page.locator("#code-error").wait_for()
    assert "không đúng" in page.locator("#code-error").inner_text().lower()
    assert page.locator("#code").get_attribute("aria-invalid") == "true"
    assert testing.axe_violations(page) == []
    page.get_by_label("Nhập mã OTP *").fill(code)
    page.get_by_role("button", name="Xác nhận mã").click()

    page.get_by_role("heading", name="Bước 7. Tạo tài khoản").wait_for()
    summary = page.locator("#tom-tat").inner_text()
    assert "Nguyễn Văn An" in summary and "14/03/1995" in summary and "CCCD.pdf" in summary
    page.get_by_role("button", name="Tạo tài khoản", exact=True).click()

    page.get_by_role("heading", name="Đã tạo tài khoản").wait_for()
    assert page.locator("#ket-qua-tieu-de").inner_text() == "Đã tạo tài khoản cho công dân Nguyễn Văn An."
    assert "Mật khẩu tạm thời đã được gửi bằng tin nhắn SMS" in page.locator("#ket-qua-sms").inner_text()
    assert page.locator("#buoc-hien-tai").inner_text() == "Hoàn tất: đã tạo tài khoản."
    assert "Mật khẩu tạm thời" in testing.sms_to(phone, at_least=2)[-1]  # the OTP, then the password
    assert testing.axe_violations(page) == []

    page.get_by_role("button", name="Tạo tài khoản khác").click()
    testing.desk_search(page, id_number)
    found = page.locator("#ket-qua-tra-cuu")
    found.get_by_text("Công dân đã có tài khoản").wait_for()
    assert "không tạo tài khoản mới" in found.inner_text()
    assert page.locator("#buoc-2").is_hidden()
    assert all(id_number not in u and phone not in u and "eyJ" not in u for u in watch.urls), "personal data in a URL"
    watch.assert_clean()


def test_sending_again_too_soon_shows_the_apis_wait(desktop, site, stack):
    page, watch = desktop
    officer = new_identity(stack.api_url, "officer", unit=UNIT)
    id_number, phone = testing.fresh_citizen_id(), testing.fresh_mobile()
    _open_desk(page, site, officer)
    testing.desk_search(page, id_number)
    page.get_by_role("heading", name="Bước 2. Thông tin công dân").wait_for()
    testing.desk_fill_citizen(page, phone)
    page.get_by_role("button", name="Lập phiếu đề nghị").click()
    page.get_by_role("button", name="Công dân đã kiểm tra phiếu, tiếp tục").click()
    testing.desk_upload_scan(page)
    page.get_by_role("heading", name="Bước 5. Gửi mã OTP tới công dân").wait_for()
    # A code went to this phone a moment ago (another tab of the desk): the API says when the next may go.
    r = requests.post(f"{site}/v1/otp", json={"phone": phone, "purpose": "account_creation", "subject": id_number},
                      headers=officer.headers, timeout=20)
    assert r.status_code == 202, r.text
    watch.expect_failed(429)
    page.get_by_role("button", name="Gửi mã OTP", exact=True).click()
    alert = page.locator("#form-gui-otp [data-form-error]")
    alert.wait_for()
    assert "thử lại sau" in alert.inner_text()
    button = page.locator("#form-gui-otp [type=submit]")
    assert button.is_disabled() and "giây" in button.inner_text()
    assert testing.axe_violations(page) == []
    watch.assert_clean()


def test_an_officer_without_the_right_is_told_why(browsing, site, stack):
    page, watch = browsing
    officer = new_identity(stack.api_url, "officer", unit=UNIT, grant=False)
    watch.expect_failed(403)
    testing.sign_in_staff(page, site, officer.login, officer.password, then=DESK)
    refusal = page.locator("#tu-choi")
    refusal.wait_for()
    assert "Bạn chưa được cấp Quyền tạo tài khoản công dân." in refusal.inner_text()
    assert page.locator("#quy-trinh").is_hidden()
    assert testing.axe_violations(page) == []
    page.goto(f"{site}/can-bo/tai-khoan-da-tao.html")
    refusal.wait_for()
    assert "Bạn chưa được cấp Quyền tạo tài khoản công dân." in refusal.inner_text()
    assert page.locator("#danh-sach").is_hidden()
    watch.assert_clean()


def test_a_unit_taken_away_meanwhile_is_refused_beside_the_form(desktop, site, stack):
    page, watch = desktop
    n = uuid.uuid4().int
    other = f"000.{n % 900 + 100}.{n // 900 % 90 + 10:02d}.H35"
    officer = new_identity(stack.api_url, "officer", unit=UNIT)
    operator = new_identity(stack.api_url, "operator")
    from chalicelib.local.identities import ensure_unit

    ensure_unit(other, "Bộ phận một cửa UBND xã thử nghiệm")
    r = requests.post(f"{site}/v1/admin/users/{officer.login}/units", json={"unit_code": other},
                      headers=operator.headers, timeout=20)
    assert r.status_code == 200, r.text
    _open_desk(page, site, officer)
    testing.desk_search(page, testing.fresh_citizen_id())
    page.get_by_role("heading", name="Bước 2. Thông tin công dân").wait_for()
    testing.desk_fill_citizen(page, testing.fresh_mobile())
    page.get_by_label("Đơn vị tạo tài khoản *").select_option(other)
    r = requests.delete(f"{site}/v1/admin/users/{officer.login}/units/{other}", headers=operator.headers, timeout=20)
    assert r.status_code == 200, r.text
    watch.expect_failed(403)
    page.get_by_role("button", name="Lập phiếu đề nghị").click()
    alert = page.locator("#form-thong-tin [data-form-error]")
    alert.wait_for()
    assert "Bạn chỉ được thao tác với tài khoản của đơn vị mình được phân công." in alert.inner_text()
    assert page.locator("#buoc-3").is_hidden()
    assert testing.axe_violations(page) == []
    watch.assert_clean()
