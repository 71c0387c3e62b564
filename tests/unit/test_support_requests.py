"""Support-request use cases through in-memory fakes: filing (scope, attachments by content, the API check and
sealed credentials), processing and applying, comments, the clock's alerts and the monthly report."""
from __future__ import annotations

import pytest

from chalicelib.core.errors import AppError
from chalicelib.onboarding.domain.requests import Caller, Party
from chalicelib.onboarding.domain.search import ListQuery
from chalicelib.onboarding.services import apply, attachments, clock, filing, processing, progress
from chalicelib.provinces.domain.delivery import ApiType
from tests.fakes_onboarding import MONDAY, make_onboarding_services

QN = "000.00.00.H49"  # Quảng Ninh
HN = "000.00.00.H26"  # Hà Nội
ADMIN_QN = Caller("admin-qn", Party.REQUESTER, QN)
ADMIN_HN = Caller("admin-hn", Party.REQUESTER, HN)
OPERATOR = Caller("op-1", Party.OPERATOR)
PDF = b"%PDF-1.7\n" + b"x" * 2000
HOST = "https://motcua.quangninh.gov.vn"


def refused(fn, status: int, code: str) -> AppError:
    with pytest.raises(AppError) as exc:
        fn()
    codes = [exc.value.code, *(e.code for e in exc.value.errors)]
    assert exc.value.status == status and code in codes, (exc.value, exc.value.errors)
    text = exc.value.detail + "".join(e.message for e in exc.value.errors)
    assert any(ord(ch) > 0x7F for ch in text), text  # Vietnamese, with its diacritics
    return exc.value


def config_form(**over) -> dict:
    return {"request_type": "api_configuration", "service_group": "dvcqg_integration",
            "service": "land_financial_obligations", "requester_name": "Trần Thị Hoa",
            "requester_phone": "0912345678", "feedback_email": "hoa@quangninh.gov.vn",
            "title": "Tỉnh Quảng Ninh- hỗ trợ cấu hình URL API thanh toán nghĩa vụ tài chính đất đai",
            "description": "API BNDP thanh toán thuế đất: https://motcua.quangninh.gov.vn/tt",
            "apis": [{"api_type": t, "session_url": f"{HOST}/session", "data_url": f"{HOST}/{t}",
                      "credentials": {"username": "user", "password": "secret-pass"}}
                     for t in ("notice", "payment_result", "receipt_file")], **over}


def upload(ctx, caller: Caller, name: str, content: bytes) -> dict:
    form = attachments.upload_form(ctx, caller, {"file_name": name})
    ctx.support_files.upload(form["upload"]["fields"]["key"], content, ctx.support_files.forms[-1]["metadata"])
    return {"attachment_id": form["attachment_id"], "file_name": name}


def emails_to(ctx, address: str) -> list[dict]:
    return [e for e in ctx.alerts.emails if address in e["recipients"]]


# --- filing --------------------------------------------------------------------------------------------------------

def test_a_configuration_request_is_checked_sealed_and_stored_without_credentials():
    ctx = make_onboarding_services()
    view = filing.file_request(ctx, ADMIN_QN, config_form())
    assert view["status"] == "new" and view["unit_code"] == QN and view["unit_name"] == "Tỉnh Quảng Ninh"
    assert view["request_id"].startswith("YC") and view["sla"]["running"] and view["sla"]["due_at"]
    assert "secret-pass" not in str(view) and all(a["has_credentials"] for a in view["apis"])
    assert all(a["check"]["session"]["token_received"] for a in view["apis"])
    assert all(not a["check"]["data_url_called"] for a in view["apis"])  # no sample payment to a real province
    stored = ctx.support_requests.requests[view["request_id"]]
    assert "secret-pass" not in stored and stored.count("kms:") == 3  # ciphertext only
    assert ctx.registry.apis == {}  # nothing configured before an operator applies it
    assert ctx.alerts.subscribed == {"hoa@quangninh.gov.vn"}
    (email,) = emails_to(ctx, "hoa@quangninh.gov.vn")
    assert "Mới gửi" in email["subject"] and "đã tiếp nhận" in email["text"] and view["link"] in email["text"]
    assert [r["action"] for r in ctx.registry.audits[QN]] == ["api_check"] * 3  # the checks are audited


def test_a_province_admin_files_and_sees_only_their_own_province():
    ctx = make_onboarding_services()
    refused(lambda: filing.file_request(ctx, ADMIN_QN, config_form(unit_code=HN)), 403, "PROVINCE_FORBIDDEN")
    refused(lambda: filing.file_request(ctx, Caller("x", Party.REQUESTER, None), config_form()), 403,
            "PROVINCE_FORBIDDEN")
    rid = filing.file_request(ctx, ADMIN_QN, config_form())["request_id"]
    refused(lambda: processing.detail(ctx, ADMIN_HN, rid), 403, "PROVINCE_FORBIDDEN")
    refused(lambda: processing.change_status(ctx, ADMIN_HN, rid, {"status": "cancelled"}), 403, "PROVINCE_FORBIDDEN")
    refused(lambda: processing.add_comment(ctx, ADMIN_HN, rid, {"text": "?"}), 403, "PROVINCE_FORBIDDEN")
    refused(lambda: processing.search(ctx, ADMIN_HN, ListQuery(unit_code=QN)), 403, "PROVINCE_FORBIDDEN")
    assert processing.search(ctx, ADMIN_HN, ListQuery())["items"] == []  # their own scope, always
    assert [r["request_id"] for r in processing.search(ctx, OPERATOR, ListQuery())["items"]] == [rid]
    assert processing.detail(ctx, ADMIN_QN, rid)["audit"][0]["action"] == "filed"


def test_urls_are_guarded_and_new_apis_need_credentials():
    ctx = make_onboarding_services()
    form = config_form()
    form["apis"][0]["data_url"] = "https://169.254.169.254/latest"
    form["apis"][1]["session_url"] = "http://motcua.quangninh.gov.vn/session"
    form["apis"][2].pop("credentials")
    err = refused(lambda: filing.file_request(ctx, ADMIN_QN, form), 422, "URL_ADDRESS_NOT_ALLOWED")
    assert {(e.field, e.code) for e in err.errors} == {
        ("apis.0.data_url", "URL_ADDRESS_NOT_ALLOWED"), ("apis.1.session_url", "URL_SCHEME_NOT_ALLOWED"),
        ("apis.2.credentials", "CREDENTIALS_REQUIRED")}
    assert ctx.support_requests.requests == {} and ctx.credential_sealer.sealed == {}


def test_attachments_are_checked_by_content_not_by_name():
    ctx = make_onboarding_services()
    good = upload(ctx, ADMIN_QN, "bien-ban.pdf", PDF)
    lying = upload(ctx, ADMIN_QN, "bao-cao.pdf", b"MZ\x90\x00" + b"\x00" * 500)  # an executable named .pdf
    err = refused(lambda: filing.file_request(ctx, ADMIN_QN, config_form(attachments=[good, lying])), 422,
                  "ATTACHMENT_CONTENT_UNKNOWN")
    assert err.errors[0].field == "attachments.1"
    other = upload(ctx, ADMIN_HN, "cua-tinh-khac.pdf", PDF)
    refused(lambda: filing.file_request(ctx, ADMIN_QN, config_form(attachments=[other])), 422,
            "ATTACHMENT_NOT_UPLOADED")
    renamed = {**good, "file_name": "bien-ban.docx"}
    refused(lambda: filing.file_request(ctx, ADMIN_QN, config_form(attachments=[renamed])), 422,
            "ATTACHMENT_CONTENT_MISMATCH")
    assert set(ctx.support_files.tags.values()) == {"pending"}  # nothing accepted by a refused request
    view = filing.file_request(ctx, ADMIN_QN, config_form(attachments=[good]))
    assert [a["kind"] for a in view["attachments"]] == ["pdf"]
    assert ctx.support_files.tags[f"support-attachments/{good['attachment_id']}"] == "accepted"
    link = attachments.download(ctx, OPERATOR, view["request_id"], good["attachment_id"])
    assert link["file_name"] == "bien-ban.pdf" and "X-Amz-Expires=300" in link["url"]


def test_the_total_size_and_count_of_a_requests_files_are_capped():
    from dataclasses import replace

    ctx = make_onboarding_services()
    ctx = ctx.replace(settings=replace(ctx.settings, onboarding=replace(
        ctx.settings.onboarding, attachment_max_total_bytes=5000, attachment_max_files=2)))
    files = [upload(ctx, ADMIN_QN, f"f{i}.pdf", PDF) for i in range(3)]
    refused(lambda: filing.file_request(ctx, ADMIN_QN, config_form(attachments=files)), 422, "ATTACHMENTS_TOO_MANY")
    refused(lambda: filing.file_request(ctx, ADMIN_QN, config_form(attachments=files[:1] + [
        upload(ctx, ADMIN_QN, "big.pdf", PDF * 2)])), 422, "ATTACHMENTS_TOTAL_TOO_LARGE")


# --- processing ----------------------------------------------------------------------------------------------------

def test_an_operator_applies_a_configuration_request_in_one_step():
    ctx = make_onboarding_services()
    rid = filing.file_request(ctx, ADMIN_QN, config_form())["request_id"]
    processing.change_status(ctx, OPERATOR, rid, {"status": "in_progress"})
    refused(lambda: processing.change_status(ctx, OPERATOR, rid, {"status": "done"}), 409, "APPLY_REQUIRED")
    result = apply.apply_configuration(ctx, OPERATOR, rid)
    assert result["request"]["status"] == "done" and result["request"]["applied"]["by"] == "op-1"
    assert sorted(a["api_type"] for a in result["apis"]) == ["notice", "payment_result", "receipt_file"]
    assert ctx.registry.apis[(QN, ApiType.PAYMENT_RESULT)].data_url == f"{HOST}/payment_result"
    assert ctx.registry.apis[(QN, ApiType.PAYMENT_RESULT)].province_code == "22"
    # The sealed credentials reached the secret store through the outbox, and left the request.
    assert ctx.credentials.get(QN, ApiType.NOTICE).password == "secret-pass"
    assert ctx.outbox.states("province_credentials") == ["SENT"] * 3
    assert "kms:" not in ctx.support_requests.requests[rid]
    emails = emails_to(ctx, "hoa@quangninh.gov.vn")
    assert [e["subject"].rsplit(": ", 1)[1] for e in emails] == ["Mới gửi", "Đang xử lý", "Đã xử lý xong"]
    assert f"/{rid}" in emails[-1]["text"] and "Đã áp dụng cấu hình URL API" in emails[-1]["text"]
    trail = [r["action"] for r in ctx.registry.audits[QN]]
    assert trail.count("api_created") == 3
    refused(lambda: apply.apply_configuration(ctx, OPERATOR, rid), 409, "STATUS_TRANSITION_NOT_ALLOWED")


def test_status_moves_need_their_party_and_reasons():
    ctx = make_onboarding_services()
    rid = filing.file_request(ctx, ADMIN_QN, config_form())["request_id"]
    refused(lambda: processing.change_status(ctx, ADMIN_QN, rid, {"status": "in_progress"}), 403,
            "STATUS_TRANSITION_FORBIDDEN")
    refused(lambda: processing.change_status(ctx, OPERATOR, rid, {"status": "rejected"}), 422, "REASON_REQUIRED")
    refused(lambda: processing.change_status(ctx, OPERATOR, rid, {"status": "cancelled"}), 403,
            "STATUS_TRANSITION_FORBIDDEN")
    view = processing.change_status(ctx, OPERATOR, rid, {"status": "rejected", "reason": "URL không đúng"})
    assert view["status"] == "rejected" and view["reason"] == "URL không đúng"
    assert "kms:" not in ctx.support_requests.requests[rid]  # credentials never applied are not kept
    assert "Lý do: URL không đúng" in emails_to(ctx, "hoa@quangninh.gov.vn")[-1]["text"]
    refused(lambda: processing.add_comment(ctx, ADMIN_QN, rid, {"text": "?"}), 409, "SUPPORT_REQUEST_CLOSED")
    other = filing.file_request(ctx, ADMIN_QN, config_form())["request_id"]
    assert processing.change_status(ctx, ADMIN_QN, other, {"status": "cancelled"})["status"] == "cancelled"


def test_the_requesters_answer_restarts_a_waiting_request():
    ctx = make_onboarding_services()
    rid = filing.file_request(ctx, ADMIN_QN, config_form())["request_id"]
    ctx.clock.advance(hours=2)
    view = processing.change_status(ctx, OPERATOR, rid, {"status": "waiting_for_requester",
                                                          "reason": "Thiếu URL API file đính kèm"})
    assert not view["sla"]["running"] and view["sla"]["elapsed_seconds"] == 2 * 3600
    assert rid not in ctx.support_requests.timers  # no alert while the clock stands still
    ctx.clock.advance(days=1)
    proof = upload(ctx, ADMIN_QN, "url.txt", "URL: https://motcua.quangninh.gov.vn/file\n".encode())
    comment = processing.add_comment(ctx, ADMIN_QN, rid, {"text": "Đã bổ sung", "attachments": [proof]})
    assert comment["party"] == "requester" and comment["attachment_ids"] == [proof["attachment_id"]]
    detail = processing.detail(ctx, OPERATOR, rid)
    assert detail["status"] == "in_progress" and detail["sla"]["running"]
    assert detail["sla"]["elapsed_seconds"] == 2 * 3600 and rid in ctx.support_requests.timers
    assert [c["text"] for c in detail["comments"]] == ["Đã bổ sung"]
    assert [a["action"] for a in detail["audit"]] == ["filed", "status_changed", "comment_added"]
    reply = processing.add_comment(ctx, OPERATOR, rid, {"text": "Cảm ơn"})
    assert reply["party"] == "operator"


def test_the_clock_alerts_the_operators_at_75_percent_and_at_breach_once_each():
    ctx = make_onboarding_services()  # Monday 09:00: 75 % at 16:00, due Tuesday 09:00
    rid = filing.file_request(ctx, ADMIN_QN, config_form())["request_id"]
    at = MONDAY.replace(hour=15, minute=59)
    assert clock.run_clock_alerts(ctx, at)["alerts_sent"] == 0
    assert clock.run_clock_alerts(ctx, MONDAY.replace(hour=16))["alerts_sent"] == 1
    assert clock.run_clock_alerts(ctx, MONDAY.replace(hour=16, minute=30))["alerts_sent"] == 0
    tuesday = MONDAY.replace(day=19, hour=9, minute=0)
    assert clock.run_clock_alerts(ctx, tuesday)["alerts_sent"] == 1
    assert clock.run_clock_alerts(ctx, tuesday.replace(hour=11))["alerts_sent"] == 0
    kinds = [k for k, _, _ in ctx.alerts.ops_alerts]
    assert kinds == ["SUPPORT_REQUEST_75", "SUPPORT_REQUEST_BREACH"]
    assert ctx.alerts.ops_alerts[1][2]["request_id"] == rid and "quá hạn" in ctx.alerts.ops_alerts[1][1]
    assert rid not in ctx.support_requests.timers


def test_the_monthly_report_counts_requests_handled_within_the_clock():
    ctx = make_onboarding_services()
    quick = filing.file_request(ctx, ADMIN_QN, config_form())["request_id"]
    slow = filing.file_request(ctx, ADMIN_QN, config_form())["request_id"]
    dropped = filing.file_request(ctx, ADMIN_QN, config_form())["request_id"]
    ctx.clock.advance(hours=2)
    apply.apply_configuration(ctx, OPERATOR, quick)
    processing.change_status(ctx, ADMIN_QN, dropped, {"status": "cancelled"})
    ctx.clock.advance(days=2)
    processing.change_status(ctx, OPERATOR, slow, {"status": "rejected", "reason": "Trùng yêu cầu trước"})
    report = clock.monthly_report(ctx, clock.ReportQuery(from_month="2026-04", to_month="2026-05"))
    april, may = report["months"]
    assert april == {"month": "2026-04", "handled": 0, "within_clock": 0, "late": 0, "done": 0, "rejected": 0,
                     "cancelled": 0, "share_within_clock": None, "average_working_hours": None}
    assert (may["handled"], may["within_clock"], may["late"], may["done"], may["rejected"], may["cancelled"]) == \
        (2, 1, 1, 1, 1, 1)
    assert may["share_within_clock"] == 50.0 and may["average_working_hours"] == (2 + 18) / 2  # Mon 9-17 (7 h), Tue 8 h, Wed 8-11


def test_search_filters_pages_and_refuses_forged_cursors():
    ctx = make_onboarding_services()
    ids = []
    for i in range(5):
        ids.append(filing.file_request(ctx, ADMIN_QN, config_form(title=f"Yêu cầu số {i} cấu hình"))["request_id"])
        ctx.clock.advance(minutes=1)
    processing.change_status(ctx, OPERATOR, ids[1], {"status": "in_progress"})
    first = processing.search(ctx, OPERATOR, ListQuery(limit=2))
    assert [r["request_id"] for r in first["items"]] == ids[:2:-1][:2]
    assert first["items"][0]["sla"]["time_left"] == "Còn 7 giờ 59 phút làm việc" and first["items"][0]["sla"]["running"]
    second = processing.search(ctx, OPERATOR, ListQuery(limit=2, cursor=first["next_cursor"]))
    assert [r["request_id"] for r in second["items"]] == [ids[2], ids[1]]
    found = processing.search(ctx, OPERATOR, ListQuery(status="in_progress", title="CAU HINH"))
    assert [r["request_id"] for r in found["items"]] == [ids[1]]
    assert processing.search(ctx, OPERATOR, ListQuery(requester="hoa", unit_code="22"))["count"] == 5
    refused(lambda: processing.search(ctx, OPERATOR, ListQuery(cursor="Zm9yZ2Vk")), 422, "CURSOR_INVALID")


def test_a_confirmation_needs_step_4_and_its_completion_is_step_6():
    ctx = make_onboarding_services()
    proof = upload(ctx, ADMIN_QN, "minh-chung.pdf", PDF)
    form = config_form(request_type="integration_confirmation", apis=[], attachments=[proof],
                       evidence={"attachment_ids": [proof["attachment_id"]]},
                       title="Tỉnh Quảng Ninh- Đề nghị xác nhận tích hợp thành công")
    refused(lambda: filing.file_request(ctx, ADMIN_QN, form), 409, "ONBOARDING_STEP_NOT_REACHED")
    progress.override(ctx, OPERATOR, QN, {"step": 4, "reason": "Đã kiểm thử trực tiếp với Văn phòng Chính phủ"})
    runs = ctx.self_test_runs.runs
    runs["run-failed-1"] = {"run_id": "run-failed-1", "province": QN, "passed": False}
    runs["run-hn-0001"] = {"run_id": "run-hn-0001", "province": HN, "passed": True}
    for run_id, code in (("run-unknown", "SELF_TEST_RUN_NOT_FOUND"), ("run-failed-1", "SELF_TEST_RUN_FAILED"),
                         ("run-hn-0001", "SELF_TEST_RUN_OTHER_PROVINCE")):
        refused(lambda r=run_id: filing.file_request(ctx, ADMIN_QN, {**form, "evidence": {"self_test_run_id": r}}),
                422, code)
    rid = filing.file_request(ctx, ADMIN_QN, form)["request_id"]
    assert progress.province_progress(ctx, ADMIN_QN, QN)["completed_steps"] == 5
    assert not progress.is_live(ctx, QN)
    processing.change_status(ctx, OPERATOR, rid, {"status": "done"})
    assert progress.is_live(ctx, QN) and progress.province_progress(ctx, OPERATOR, "22")["live"]
