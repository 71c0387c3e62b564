"""Integration progress in a real browser (/can-bo/tinh/tich-hop.html): a province administrator lands on their own
province's six steps, runs a self-test against the simulated province (the page polls it to its verdict), gets the
evidence links and goes on to the step-5 request with the run prefilled; an operator reads every province's step
and overrides steps with a reason and a confirmation; and the refusals: another province's progress, a self-test of a
province with no API configured. Each test has a province of its own (tests.e2e.provinces)."""
from __future__ import annotations

import requests
from playwright.sync_api import expect

from chalicelib.local.identities import new_identity
from tests.e2e.provinces import next_province
from web import testing

PAGE = "/can-bo/tinh/tich-hop.html"


def test_a_province_admin_runs_a_self_test_and_gets_its_evidence(browsing, site, stack):
    page, watch = browsing
    province = next_province()
    operator = new_identity(stack.api_url, "operator")
    testing.configure_simulated_province(stack, province, operator.headers)
    admin = new_identity(stack.api_url, "province_admin", province=province.agency_code)
    testing.sign_in_staff(page, site, admin.login, admin.password, then=PAGE)
    page.get_by_role("heading", name=f"{province.name} (000.00.00.{province.agency_code})").wait_for()
    steps = page.locator("#cac-buoc > li")
    expect(steps).to_have_count(6)
    assert "Đang thực hiện" in steps.first.inner_text() and "Chưa đến" in steps.nth(5).inner_text()
    assert page.locator("#xac-nhan-thay").is_hidden()  # operators only
    page.get_by_text("Tỉnh chưa có lượt tự kiểm thử nào.").wait_for()
    assert testing.axe_violations(page) == []

    page.get_by_role("button", name="Chạy tự kiểm thử").click()
    page.get_by_text("Đạt — Kết luận: ĐẠT").wait_for(timeout=60_000)
    table = page.get_by_role("region", name="Các bước kiểm thử")
    expect(table.locator("tbody tr")).to_have_count(10)
    assert "✗" not in table.inner_text()
    assert "?tinh=" in page.url and "&lan=ST" in page.url
    page.get_by_role("region", name="Các lượt tự kiểm thử (mới nhất trước)").locator("tbody tr").first.wait_for()
    assert testing.axe_violations(page) == []

    page.get_by_role("button", name="Lấy liên kết tải báo cáo minh chứng").click()
    pdf = page.get_by_role("link", name="Tải báo cáo minh chứng (PDF)")
    pdf.wait_for()
    assert requests.get(pdf.get_attribute("href"), timeout=20).content.startswith(b"%PDF")
    run_id = page.url.split("&lan=")[1]
    page.get_by_role("link", name="Gửi yêu cầu xác nhận tích hợp kèm lượt kiểm thử này").click()
    page.get_by_role("heading", name="Thông tin yêu cầu hỗ trợ").wait_for()
    assert page.get_by_label("Loại yêu cầu *").input_value() == "integration_confirmation"
    assert page.get_by_label("Mã lượt tự kiểm thử đạt").input_value() == run_id
    watch.assert_clean()


def test_an_operator_reads_every_province_and_overrides_with_a_reason(desktop, site, stack):
    page, watch = desktop
    province = next_province()
    agency = f"000.00.00.{province.agency_code}"
    operator = new_identity(stack.api_url, "operator")
    testing.sign_in_staff(page, site, operator.login, operator.password, then=PAGE)
    table = page.get_by_role("region", name="Tiến độ tích hợp của từng tỉnh")
    table.locator("tbody tr").first.wait_for()
    expect(table.locator("tbody tr")).to_have_count(34)
    assert testing.axe_violations(page) == []

    page.get_by_role("link", name=f"Xem chi tiết: {province.name}").click()
    page.wait_for_url(f"{site}{PAGE}?tinh={agency}")
    page.get_by_role("heading", name="Xác nhận thay bước tích hợp").wait_for()
    page.get_by_label("Hoàn thành đến bước").select_option("3")
    page.get_by_label("Lý do (ít nhất 10 ký tự)").fill("ngắn")
    page.get_by_role("button", name="Xác nhận thay").click()
    page.locator("#confirm-error").wait_for()  # the confirmation first, before any call
    page.get_by_label("Tôi xác nhận cho các bước này hoàn thành mà không có minh chứng.").check()
    watch.expect_failed(422)
    page.get_by_role("button", name="Xác nhận thay").click()
    page.locator("#reason-error").wait_for()
    assert testing.axe_violations(page) == []
    page.get_by_label("Lý do (ít nhất 10 ký tự)").fill("Tỉnh đã cấu hình API trước khi có hệ thống theo dõi")
    page.get_by_label("Tôi xác nhận cho các bước này hoàn thành mà không có minh chứng.").check()
    page.get_by_role("button", name="Xác nhận thay").click()
    page.get_by_text("Đã hoàn thành 3/6 bước").wait_for()
    steps = page.locator("#cac-buoc > li")
    assert "Xác nhận thay bởi " + operator.login in steps.nth(2).inner_text()
    assert "Đang thực hiện" in steps.nth(3).inner_text()
    expect(page.locator("#step option")).to_have_count(3)  # steps 4-6 remain
    got = requests.get(f"{stack.api_url}/v1/onboarding/provinces/{agency}", headers=operator.headers, timeout=20)
    assert got.json()["completed_steps"] == 3
    watch.assert_clean()


def test_another_province_and_an_unconfigured_self_test_are_refused(desktop, site, stack):
    page, watch = desktop
    mine, other = next_province(), next_province()
    admin = new_identity(stack.api_url, "province_admin", province=mine.agency_code)
    testing.sign_in_staff(page, site, admin.login, admin.password, then=PAGE)
    page.get_by_role("heading", name=f"{mine.name} (000.00.00.{mine.agency_code})").wait_for()
    watch.expect_failed(409)
    page.get_by_role("button", name="Chạy tự kiểm thử").click()
    page.locator("#form-chay [data-form-error]").get_by_text("Tỉnh chưa khai báo API nào").wait_for()
    assert testing.axe_violations(page) == []

    watch.expect_failed(403)
    page.goto(f"{site}{PAGE}?tinh=000.00.00.{other.agency_code}")
    page.locator("#loi-trang").get_by_text("Bạn chỉ được xem tiến độ tích hợp của tỉnh mình.").wait_for()
    assert page.locator("#tinh").is_hidden()
    r = requests.post(f"{stack.api_url}/v1/onboarding/provinces/000.00.00.{mine.agency_code}/override",
                      headers=admin.headers, json={"step": 1, "reason": "Không được phép tự xác nhận"}, timeout=20)
    assert r.status_code == 403
    watch.assert_clean()
