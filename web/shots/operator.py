"""The operator / administrator console (web/screens.py runs JOURNEYS in order): units and users, a user's detail
and audit trail, a province administrator's refusal; reconciliation runs, a run's discrepancies, a refund and its
approval refused to the requester; reports and the tax authority's receipt tables."""
from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

from chalicelib.local.identities import new_identity
from web import testing

ADMIN = "/can-bo/quan-tri/don-vi.html"
RECON = "/can-bo/quan-tri/doi-soat.html"
REPORTS = "/can-bo/quan-tri/bao-cao.html"


def _units(page, stack, shot) -> None:
    site = stack.api_url
    operator = new_identity(site, "operator")
    unit = testing.fresh_unit_code("H35")
    testing.ensure_unit(unit, "Bộ phận một cửa phường Phủ Lý")
    officer = new_identity(site, "officer", unit=unit, grant=False)
    testing.sign_in_staff(page, site, operator.login, operator.password, then=ADMIN)
    page.locator("#ket-qua-tim table").wait_for()
    shot("quan-tri-don-vi")
    page.locator("#q_unit_code").select_option(unit)
    page.get_by_role("button", name="Tìm", exact=True).click()
    page.get_by_role("button", name=f"Xem người dùng {officer.login}").click()
    page.get_by_role("button", name="Cấp quyền tạo tài khoản công dân").click()
    page.get_by_text("Đã cấp quyền tạo tài khoản công dân.").wait_for()
    shot("quan-tri-nguoi-dung")
    page.get_by_role("button", name="Xóa người dùng").click()
    shot("quan-tri-xac-nhan-xoa")
    page.locator("summary", has_text="Tạo người dùng cán bộ").click()
    page.locator("#user_id").fill(f"canbo-{uuid.uuid4().hex[:6]}")
    page.locator("#full_name").fill("Trần Văn Bình")
    page.locator("#phone").fill("12345")
    page.get_by_role("button", name="Tạo người dùng").click()
    page.locator("#phone-error").wait_for()
    shot("quan-tri-tao-nguoi-dung-loi")


def _refused(page, stack, shot) -> None:
    admin = new_identity(stack.api_url, "province_admin", province="H35")
    testing.sign_in_staff(page, stack.api_url, admin.login, admin.password, then=RECON)
    page.locator("#tu-choi").wait_for()
    shot("doi-soat-tu-choi")


def _reconciliation(page, stack, shot) -> None:
    site = stack.api_url
    run = testing.settled_run(stack, ["amount_mismatch", "duplicate_at_bank"])
    payment, ref = testing.double_payment(stack)
    operator = new_identity(site, "operator")
    testing.sign_in_staff(page, site, operator.login, operator.password, then=RECON)
    page.locator("#ds-dot table").wait_for()
    shot("doi-soat")
    shown = run["day"].strftime("%d/%m/%Y")
    page.locator("#r_date_from").fill(run["day"].isoformat())
    page.locator("#r_date_to").fill(run["day"].isoformat())
    page.get_by_role("button", name="Lọc", exact=True).first.click()
    page.get_by_role("button", name=f"Xem lượt VCB ngày {shown}").click()
    page.locator("#ds-cl table").wait_for()
    page.locator("#ds-cl tbody tr").first.get_by_role("button", name="Đánh dấu đã xử lý").click()
    shot("doi-soat-luot")
    page.locator("summary", has_text="Yêu cầu hoàn tiền").click()
    page.locator("#payment_id").fill(payment["payment_id"])
    page.locator("#bank_txn_ref").fill(ref)
    page.locator("#amount_vnd").fill("1.378.500")
    page.get_by_label("Lý do", exact=True).fill("Thu trùng sau khi giao dịch hết hạn")
    page.get_by_role("button", name="Gửi yêu cầu hoàn tiền").click()
    page.get_by_role("button", name="Phê duyệt và gửi ngân hàng").click()
    page.locator("#form-duyet [data-form-error]").wait_for()
    shot("hoan-tien-tu-duyet")


def _reports(page, stack, shot) -> None:
    site = stack.api_url
    day = date(2080, 1, 1) + timedelta(days=random.randrange(0, 3000))
    testing.paid_in_province(site, "H35", day, [("VCB", 1_250_000), ("BIDV", 3_400_000), ("VCB", 780_000)])
    operator = new_identity(site, "operator")
    testing.sign_in_staff(page, site, operator.login, operator.password, then=REPORTS)
    page.locator("#ket-qua-thu h3").wait_for()
    page.locator("#date_from").fill(day.isoformat())
    page.locator("#date_to").fill(day.isoformat())
    page.locator("#province").fill("H35")
    page.get_by_role("button", name="Xem báo cáo").click()
    page.locator("#ket-qua-thu h3", has_text=day.strftime("%d/%m/%Y")).wait_for()
    page.locator("#t_unit_code").fill("000.00.00.H35")
    page.get_by_role("button", name="Xem bảng đã gửi").click()
    page.locator("#ds-bang-thue table").wait_for()
    shot("bao-cao")


JOURNEYS = [_units, _refused, _reconciliation, _reports]
