"""Reconciliation and refunds in a real browser (/can-bo/quan-tri/doi-soat.html): a bank's settlement file with
planted discrepancies lands in the documents bucket, the operator finds its run, reads and filters the
discrepancies, resolves one with a note, requests a refund from the duplicate line and withdraws it, re-runs the day
(and a day without a file is refused beside its field); a double payment's refund is refused to its requester and
approved by a second operator; a province administrator sees the API's 403 explained, not a broken page."""
from __future__ import annotations

from playwright.sync_api import expect

from chalicelib.local.identities import new_identity
from web import testing

PAGE = "/can-bo/quan-tri/doi-soat.html"


def test_operator_reads_resolves_and_reruns_a_settlement_day(desktop, site, stack):
    page, watch = desktop
    run = testing.settled_run(stack, ["amount_mismatch", "duplicate_at_bank"])
    day, shown = run["day"].isoformat(), run["day"].strftime("%d/%m/%Y")
    operator = new_identity(stack.api_url, "operator")
    testing.sign_in_staff(page, site, operator.login, operator.password, then=PAGE)
    page.locator("#ds-dot table, #ds-dot .console-empty").first.wait_for()
    page.locator("#r_bank_code").select_option("VCB")
    page.locator("#r_date_from").fill(day)
    page.locator("#r_date_to").fill(day)
    page.get_by_role("button", name="Lọc", exact=True).first.click()
    row = page.locator("#ds-dot tbody tr")
    row.filter(has_text=shown).wait_for()
    expect(row).to_have_count(1)
    assert "Hoàn thành" in row.inner_text()
    assert testing.axe_violations(page) == []

    page.get_by_role("button", name=f"Xem lượt VCB ngày {shown}").click()
    page.get_by_role("heading", name=f"Lượt đối soát Vietcombank (VCB) ngày {shown}").wait_for()
    kinds = page.locator("#theo-loai").inner_text()
    assert "Lệch số tiền" in kinds and "Ngân hàng thu trùng" in kinds
    expect(page.locator("#ds-cl tbody tr")).to_have_count(2)
    assert testing.axe_violations(page) == []

    page.locator("#category").select_option("AMOUNT_MISMATCH")
    page.get_by_role("button", name="Lọc chênh lệch").click()
    page.locator("#ds-cl tbody tr", has_text="Ngân hàng thu trùng").wait_for(state="detached")
    mismatch = page.locator("#ds-cl tbody tr").first
    mismatch.get_by_role("button", name="Đánh dấu đã xử lý").click()
    page.get_by_label("Ghi chú (đã kiểm tra gì, đã làm gì)").fill("Ngân hàng xác nhận nhập sai số tiền")
    page.get_by_role("button", name="Lưu đã xử lý").click()
    page.locator("#ds-cl tbody tr", has_text=f"Đã xử lý bởi {operator.login}").wait_for()

    page.locator("#category").select_option("")
    page.get_by_role("button", name="Lọc chênh lệch").click()
    duplicate = page.locator("#ds-cl tbody tr", has_text="Ngân hàng thu trùng")
    duplicate.get_by_role("button", name="Yêu cầu hoàn tiền").click()
    assert page.locator("#payment_id").input_value() == run["payments"]["duplicate_at_bank"]["payment_id"]
    page.get_by_label("Lý do", exact=True).fill("Ngân hàng thu trùng theo tệp quyết toán")
    page.get_by_role("button", name="Gửi yêu cầu hoàn tiền").click()
    page.get_by_text("Cần một quản trị viên khác phê duyệt.").wait_for()
    page.get_by_label("Lý do từ chối").fill("Rút lại: cần đối chiếu với ngân hàng trước")
    page.get_by_role("button", name="Từ chối yêu cầu").click()
    page.get_by_text("Trạng thái mới: Đã từ chối.").wait_for()
    assert "Từ chối" in page.locator("#nhat-ky-ht").inner_text()

    page.locator("summary", has_text="Chạy lại đối soát một ngày").click()
    page.locator("#bank_code").select_option("VCB")
    page.locator("#settlement_date").fill("2059-12-31")  # no file was ever delivered for that day
    watch.expect_failed(404)
    page.get_by_role("button", name="Chạy lại", exact=True).click()
    page.locator("#settlement_date-error").wait_for()
    page.locator("#settlement_date").fill(day)
    page.get_by_role("button", name="Chạy lại", exact=True).click()
    page.get_by_text(f"Đã chạy lại đối soát Vietcombank (VCB) ngày {shown}").wait_for()
    assert run["run_id"] in page.locator("#thong-tin-luot").inner_text()  # the run it ran again
    assert testing.axe_violations(page) == []
    watch.assert_clean()


def test_a_refund_is_refused_to_its_requester_and_approved_by_another_operator(desktop, site, stack):
    page, watch = desktop
    payment, ref = testing.double_payment(stack)
    alice, bob = new_identity(stack.api_url, "operator"), new_identity(stack.api_url, "operator")
    testing.sign_in_staff(page, site, alice.login, alice.password, then=PAGE)
    page.locator("summary", has_text="Yêu cầu hoàn tiền").click()
    page.locator("#payment_id").fill(payment["payment_id"])
    page.get_by_label("Mã giao dịch ngân hàng cần hoàn").fill(ref)
    page.get_by_label("Số tiền hoàn (đồng)").fill(f"{payment['amount_vnd'] + 1:,}".replace(",", "."))
    page.get_by_label("Lý do", exact=True).fill("Thu trùng sau khi giao dịch hết hạn")
    watch.expect_failed(422)
    page.get_by_role("button", name="Gửi yêu cầu hoàn tiền").click()
    error = page.locator("#amount_vnd-error")
    error.wait_for()
    assert "Số tiền còn có thể hoàn: 1.378.500 đ." in error.inner_text()
    page.get_by_label("Số tiền hoàn (đồng)").fill("1.378.500")
    page.get_by_role("button", name="Gửi yêu cầu hoàn tiền").click()
    page.get_by_text("Cần một quản trị viên khác phê duyệt.").wait_for()
    watch.expect_failed(403)
    page.get_by_role("button", name="Phê duyệt và gửi ngân hàng").click()
    refused = page.locator("#form-duyet [data-form-error]")
    refused.wait_for()
    assert "không được tự phê duyệt" in refused.inner_text()
    assert testing.axe_violations(page) == []

    testing.sign_in_staff(page, site, bob.login, bob.password, then=PAGE)
    page.get_by_label("Mã giao dịch (payment)").first.fill(payment["payment_id"])
    page.locator("#form-loc-ht").get_by_role("button", name="Lọc").click()
    page.locator("#ds-ht tbody tr", has_text=payment["payment_id"]).get_by_role("button").click()
    page.get_by_label("Ghi chú (không bắt buộc)").fill("Đã kiểm tra với ngân hàng")
    page.get_by_role("button", name="Phê duyệt và gửi ngân hàng").click()
    page.get_by_text("Trạng thái mới: Đã hoàn tiền.").wait_for()
    steps = page.locator("#nhat-ky-ht tbody td:nth-child(2)").all_inner_texts()
    assert steps == ["Yêu cầu hoàn tiền", "Phê duyệt", "Gửi ngân hàng", "Ngân hàng đã hoàn tiền"]
    facts = page.locator("#thong-tin-ht").inner_text()
    assert alice.login in facts and bob.login in facts
    assert testing.axe_violations(page) == []
    watch.assert_clean()


def test_a_province_administrator_sees_the_refusal_explained(browsing, site, stack):
    page, watch = browsing
    admin = new_identity(stack.api_url, "province_admin", province="H35")
    watch.expect_failed(403)
    testing.sign_in_staff(page, site, admin.login, admin.password, then=PAGE)
    refusal = page.locator("#tu-choi")
    refusal.wait_for()
    text = refusal.inner_text()
    assert "Không có quyền truy cập" in text and "chỉ dành cho quản trị hệ thống" in text and "ROLE_FORBIDDEN" in text
    assert page.locator("#doi-soat").is_hidden() and page.locator("#hoan-tien").is_hidden()
    assert page.evaluate("document.activeElement.id") == "tu-choi"
    assert testing.axe_violations(page) == []
    watch.assert_clean()
