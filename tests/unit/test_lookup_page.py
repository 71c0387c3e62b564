"""The lookup page rendered for browsers without JavaScript: every value escaped (a payer name is data, never
markup), the ID number never echoed back, each field message beside its field, paid notices marked in words."""
from __future__ import annotations

from chalicelib.core.errors import AppError, FieldError
from chalicelib.payments.routes.lookup_page import render

RESULT = {"dossier_code": "000.00.43.H35-210520-0001",
          "property": {"address": "Thửa 12 <b>x</b>", "area_m2": 120.5},
          "notices": [{"notice_number": "TB-1", "payer_name": "<script>alert(1)</script>", "status": "paid",
                       "items": [{"sub_item_code": "2801", "description": "Lệ phí trước bạ nhà đất",
                                  "amount_vnd": 1378500}], "total_vnd": 1378500, "issued_at": "2026-05-20T23:30:00+00:00",
                       "due_date": "2026-06-18"}]}


def test_result_escapes_data_and_marks_paid_notices():
    page = render({"dossier_code": RESULT["dossier_code"], "id_number": "035095001234"}, result=RESULT)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Thửa 12 &lt;b&gt;x&lt;/b&gt;" in page and "120,5 m²" in page
    assert "1.378.500" in page and "✓ Đã nộp" in page and "Tổng tiền" in page
    assert "ngày thông báo 21/05/2026, hạn nộp 18/06/2026" in page  # 23:30 UTC is the next day in Vietnam
    assert "035095001234" not in page


def test_field_messages_go_beside_their_field_and_others_above_the_form():
    problem = AppError("VALIDATION_FAILED", "Dữ liệu không hợp lệ.", 422,
                       errors=[FieldError("dossier_code", "DOSSIER_CODE_INVALID", "Mã hồ sơ không hợp lệ.")])
    page = render({"dossier_code": '"><img src=x>', "id_number": "1"}, problem=problem)
    assert '<p class="field__error" id="dossier_code-error">Mã hồ sơ không hợp lệ.</p>' in page
    assert 'aria-describedby="dossier_code-hint dossier_code-error" aria-invalid="true"' in page
    assert 'value="&quot;&gt;&lt;img src=x&gt;"' in page and "<img src=x>" not in page
    not_found = render({}, problem=AppError("DOSSIER_NOT_FOUND", "Không tìm thấy hồ sơ.", 404))
    assert '<div class="alert alert--error" role="alert"><p>Không tìm thấy hồ sơ.</p></div>' in not_found
