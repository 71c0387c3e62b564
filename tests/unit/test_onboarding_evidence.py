"""Self-test evidence: redaction of what is recorded, and the PDF report read back with pypdf.

pypdf may return decomposed letters, so extracted text is NFC-normalised before it is compared.
"""
from __future__ import annotations

import copy
import io
import json
import unicodedata
from datetime import datetime

import pytest
from pydantic import ValidationError
from pypdf import PdfReader

from chalicelib.core.clock import VN_TZ
from chalicelib.onboarding.adapters.evidence_pdf import EvidenceRenderError, render_evidence_pdf
from chalicelib.onboarding.domain.evidence import MAX_STEPS, EvidenceReport, EvidenceStep, record_step
from chalicelib.onboarding.domain.redaction import redact, redact_body, redact_headers, redact_text, redact_url

PASSWORD = "MatKhau@2026!"
CLIENT_SECRET = "S3cr3t-XYZ-987"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkdmNxZyJ9.c2lnbmF0dXJlLXNlY3JldA"
ID_NUMBER = "022203004567"
PHONE = "0912345678"
FULL_NAME = "Nguyễn Thị Hường"
SECRETS = (PASSWORD, CLIENT_SECRET, JWT, ID_NUMBER, PHONE, FULL_NAME, "dvcqg-user")


def token_step() -> EvidenceStep:
    return record_step(
        name="Lấy phiên làm việc (token)", api_type="API BNDP thanh toán thuế đất",
        url=f"https://api.quangninh.gov.vn/dvc/token?client_secret={CLIENT_SECRET}",
        request_body={"TenDangNhap": "dvcqg-user", "MatKhau": PASSWORD}, status=200,
        response_headers={"Content-Type": "application/json", "Set-Cookie": f"sid={JWT}", "Server": "nginx"},
        response_body=json.dumps({"access_token": JWT, "expires_in": 0}), latency_ms=182.4, result="failed",
        fix="Token hết hạn ngay sau khi cấp (expires_in = 0): cấu hình thời hạn token tối thiểu 5 phút.")


def payment_step() -> EvidenceStep:
    return record_step(
        name="Gửi kết quả thanh toán", url="https://api.quangninh.gov.vn/dvc/thanhtoan",
        request_body={"MaHoSo": "000.00.32.H49-260302-0001", "SoCCCD": ID_NUMBER, "HoTen": FULL_NAME,
                      "SoDienThoai": PHONE, "SoTien": 1378500, "GhiChu": f"Liên hệ {PHONE}, CCCD {ID_NUMBER}"},
        status=200, response_headers={"Content-Type": "application/json"},
        response_body='{"status": "1", "message": "Thành công"}', latency_ms=1234.0, result="passed")


def attachment_step() -> EvidenceStep:
    return record_step(
        name="Gửi tệp biên lai", api_type="API file đính kèm", url="https://api.quangninh.gov.vn/dvc/bienlai",
        request_body={"MaHoSo": "000.00.32.H49-260302-0001"}, status=500, response_body="Internal Server Error",
        latency_ms=3050, result="failed", fix="API file đính kèm trả mã 500: kiểm tra xử lý tệp biên lai.")


def report(*steps: EvidenceStep) -> EvidenceReport:
    return EvidenceReport(
        province_name="Tỉnh Quảng Ninh", province_code="000.00.00.H49", run_id="RUN01JQ8Z3K5W7X9Y2B4C6D8E0F",
        started_at=datetime(2026, 3, 2, 10, 0, 5, tzinfo=VN_TZ), finished_at=datetime(2026, 3, 2, 10, 1, 12,
                                                                                     tzinfo=VN_TZ),
        steps=list(steps) or [token_step(), payment_step(), attachment_step()])


def pages_text(pdf: bytes) -> list[str]:
    return [unicodedata.normalize("NFC", page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    return render_evidence_pdf(report())


# --- the PDF ------------------------------------------------------------------------------------------------------


def test_cover_page_shows_the_run_and_the_verdict_in_vietnamese(sample_pdf: bytes) -> None:
    cover = pages_text(sample_pdf)[0]
    for text in ("BÁO CÁO MINH CHỨNG KIỂM THỬ TÍCH HỢP", "Tỉnh Quảng Ninh", "000.00.00.H49",
                 "RUN01JQ8Z3K5W7X9Y2B4C6D8E0F", "02/03/2026 10:00:05 (GMT+7)", "02/03/2026 10:01:12 (GMT+7)",
                 "1 phút 7 giây", "KẾT LUẬN: KHÔNG ĐẠT", "Gửi kết quả thanh toán", "1.234 ms"):
        assert text in cover, text


def test_one_page_per_step_after_the_cover(sample_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(sample_pdf))
    assert len(reader.pages) == 4
    assert all(round(float(p.mediabox.width)) == 595 and round(float(p.mediabox.height)) == 842 for p in reader.pages)
    texts = pages_text(sample_pdf)
    for number, name in enumerate(("Lấy phiên làm việc (token)", "Gửi kết quả thanh toán", "Gửi tệp biên lai"), 1):
        assert f"Bước {number}/3: {name}" in texts[number]
        assert f"Trang {number + 1}/4" in texts[number]


def test_a_failed_step_says_what_the_province_must_fix(sample_pdf: bytes) -> None:
    texts = pages_text(sample_pdf)
    assert "Kết quả: KHÔNG ĐẠT" in texts[1] and "Địa phương cần khắc phục:" in texts[1]
    assert "Token hết hạn ngay sau khi cấp" in " ".join(texts[1].split())
    assert "API file đính kèm trả mã 500" in texts[3] and "500" in texts[3]
    assert "Kết quả: ĐẠT" in texts[2] and "cần khắc phục" not in texts[2]


def test_request_and_answer_details_are_printed(sample_pdf: bytes) -> None:
    page = pages_text(sample_pdf)[1]
    for text in ("POST", "https://api.quangninh.gov.vn/dvc/token?client_secret=***", '"MatKhau": "***"',
                 "Content-Type: application/json", "182 ms", '"expires_in": 0', "API BNDP thanh toán thuế đất"):
        assert text in page, text
    assert "Set-Cookie" not in page  # not in the shown subset of answer headers


def test_vietnamese_letters_come_back_precomposed(sample_pdf: bytes) -> None:
    raw = PdfReader(io.BytesIO(sample_pdf)).pages[0].extract_text()
    assert "KIỂM THỬ TÍCH HỢP" in raw  # each letter drawn as one NFC glyph, not base letter + mark


def test_no_secret_or_personal_data_anywhere_in_the_pdf(sample_pdf: bytes) -> None:
    text = "\n".join(pages_text(sample_pdf))
    for secret in SECRETS:
        assert secret not in text and secret.encode() not in sample_pdf, secret
    assert "*********567" in text and "*******678" in text  # masked, still telling records apart


def test_the_renderer_redacts_even_a_raw_step_it_is_handed() -> None:
    raw = {"name": f"Gọi API với token {JWT}", "url": f"https://x.gov.vn/a?password={PASSWORD}", "result": "failed",
           "request_body": json.dumps({"password": PASSWORD, "cccd": ID_NUMBER}),
           "response_headers": {"Authorization": f"Bearer {JWT}", "Content-Type": "text/plain"},
           "response_body": f'{{"token": "{JWT}", "ho_ten": "{FULL_NAME}", "sdt": "{PHONE}"', "status": 401,
           "fix": f"Sai thông tin đăng nhập (password={PASSWORD}); gọi {PHONE}", "latency_ms": 12}
    data = report(token_step()).model_dump()
    data["steps"] = [raw]
    pdf = render_evidence_pdf(data)
    text = "\n".join(pages_text(pdf))
    assert "Bước 1/1" in text and "Authorization: Bearer ***" in text
    for secret in SECRETS:
        assert secret not in text and secret.encode() not in pdf, secret


def test_all_passed_is_dat_and_skipped_steps_do_not_fail_the_run() -> None:
    skipped = record_step(name="Tra cứu thông báo", url="https://x.gov.vn/tb", result="skipped",
                          note="Tỉnh chưa khai báo API thông báo (không bắt buộc).")
    run = report(payment_step(), skipped)
    assert run.passed and run.verdict == "ĐẠT"
    texts = pages_text(render_evidence_pdf(run))
    assert "KẾT LUẬN: ĐẠT" in texts[0] and "BỎ QUA" in texts[0] and "Kết quả: BỎ QUA" in texts[2]
    assert not report(skipped).passed  # nothing actually checked


def test_huge_bodies_and_every_optional_field_still_fit_on_one_page() -> None:
    long_text = "Nội dung rất dài của địa phương " * 40
    step = record_step(name="Bước có tên rất dài " * 9, api_type="API BNDP thanh toán thuế đất " * 3,
                       url="https://api.tinh.gov.vn/" + "a/" * 400, request_body={"items": [long_text] * 200},
                       status=502, error="Bad gateway " * 30, response_headers={f"X-H{i}": "v" * 300 for i in range(30)}
                       | {"Content-Type": "text/html"}, response_body="<p>lỗi</p>\n" * 5000, latency_ms=9_999.6,
                       result="failed", fix=long_text, note=long_text, expected=long_text)
    pdf = render_evidence_pdf(report(step, payment_step()))
    texts = pages_text(pdf)
    assert len(texts) == 3 and "Bước 2/2" in texts[2]
    assert "đã lược bớt" in texts[1] and "10.000 ms" in texts[1]


def test_twenty_steps_fit_on_the_cover_and_get_a_page_each() -> None:
    steps = [payment_step().model_copy(update={"name": f"Bước kiểm thử số {i}"}) for i in range(1, MAX_STEPS + 1)]
    texts = pages_text(render_evidence_pdf(report(*steps)))
    assert len(texts) == MAX_STEPS + 1 and f"Bước kiểm thử số {MAX_STEPS}" in texts[0]


def test_output_is_deterministic(sample_pdf: bytes) -> None:
    assert render_evidence_pdf(report()) == sample_pdf


def test_malformed_input_is_refused() -> None:
    with pytest.raises(EvidenceRenderError):
        render_evidence_pdf({"province_name": "Tỉnh Quảng Ninh"})
    with pytest.raises(ValidationError):
        record_step(name="x", url="https://x", result="failed")  # a failure must say what to fix
    with pytest.raises(ValidationError):
        record_step(name="x", url="https://x", result="skipped")  # a skip must say why
    with pytest.raises(ValidationError):
        report().model_copy(update={}).model_validate(
            {**report().model_dump(), "finished_at": datetime(2026, 3, 1, tzinfo=VN_TZ)})


# --- redaction ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["password", "MatKhau", "mat_khau", "client_secret", "access_token", "Authorization",
                                 "x-api-key", "TenDangNhap", "username", "sessionId", "pin", "otp", "DIA_CHI"])
def test_credential_keys_are_masked_whatever_their_spelling(key: str) -> None:
    assert redact({"data": {key: "value-123456"}}) == {"data": {key: "***"}}


def test_personal_data_is_masked_by_key_and_by_shape() -> None:
    body = {"SoCCCD": ID_NUMBER, "HoTen": FULL_NAME, "SoDienThoai": PHONE, "MA_SO_THUE": "0101234567",
            "cccd_number": int(ID_NUMBER[1:] + "0"), "note": f"gọi {PHONE} hoặc {ID_NUMBER}", "SoTien": 1378500}
    original = copy.deepcopy(body)
    out = redact(body)
    assert body == original  # the input is left alone
    assert out["SoCCCD"] == "*********567" and out["SoDienThoai"] == "*******678"
    assert out["HoTen"] == "N*** T*** H***" and out["MA_SO_THUE"] == "*******567"
    assert ID_NUMBER not in out["note"] and PHONE not in out["note"] and out["SoTien"] == 1378500
    assert str(ID_NUMBER[1:] + "0") not in json.dumps(out)


def test_tokens_in_free_text_xml_and_cut_json_are_masked() -> None:
    assert redact_text(f"Authorization: Bearer {JWT}").count(JWT) == 0
    assert redact_text(f"lỗi: token {JWT} hết hạn") == "lỗi: token *** hết hạn"
    xml = f"<soap:Body><MatKhau>{PASSWORD}</MatKhau><ns:password a='1'>{PASSWORD}</ns:password></soap:Body>"
    assert PASSWORD not in redact_text(xml) and "<MatKhau>***</MatKhau>" in redact_text(xml)
    cut = f'{{"status": "1", "data": {{"token": "{JWT}", "HoTen": "{FULL_NAME}", "password": "{PASSWORD}'
    text = redact_body(cut)
    assert all(s not in text for s in (JWT, FULL_NAME, PASSWORD)) and '"status": "1"' in text


def test_a_body_is_redacted_before_it_is_cut() -> None:
    body = json.dumps({"padding": "x" * 90, "password": PASSWORD})
    excerpt = redact_body(body, limit=120)
    assert excerpt.endswith("…") and PASSWORD[:4] not in excerpt


def test_urls_lose_their_credentials_and_sensitive_query_values() -> None:
    url = redact_url(f"https://admin:{PASSWORD}@api.tinh.gov.vn/tt?token={JWT}&cccd={ID_NUMBER}&trang=2")
    assert url == "https://***@api.tinh.gov.vn/tt?token=***&cccd=*********567&trang=2"


def test_answer_headers_are_a_subset_with_secret_values_masked() -> None:
    headers = {"Content-Type": "application/json", "Set-Cookie": "sid=1", "X-Powered-By": "PHP/5.6",
               "WWW-Authenticate": 'Bearer error="invalid_token"', "Location": f"https://x.gov.vn/?token={JWT}"}
    assert redact_headers(headers) == {"Content-Type": "application/json",
                                       "WWW-Authenticate": 'Bearer error="invalid_token"',
                                       "Location": "https://x.gov.vn/?token=***"}
    assert redact_headers({"Authorization": f"Bearer {JWT}", "Cookie": "a=b"}, None) == {
        "Authorization": "Bearer ***", "Cookie": "***"}
