"""The account request form (Phiếu đề nghị tạo tài khoản) an officer prints for the citizen to check, as a PDF.

Same approach as the receipt (``adapters/pdf.py``): fpdf2 with the vendored DejaVu fonts, cut once per process to
the Vietnamese repertoire (falling back to the full fonts for other characters), text NFC-normalised so that
precomposed glyphs are drawn. The ID number is printed in full: the citizen checks it; the document is streamed to
the officer and never stored.
"""
from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any, Mapping

from chalicelib.core.fonts import FAMILY, font_files

TITLE = "PHIẾU ĐỀ NGHỊ TẠO TÀI KHOẢN"
SUBTITLE = "Cổng Dịch vụ công quốc gia"
SEX = {"male": "Nam", "female": "Nữ", None: "—"}


def _text(value: Any) -> str:
    text = unicodedata.normalize("NFC", "" if value is None else str(value))
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    return " ".join("".join(c for c in text if unicodedata.category(c) != "Cf").split()) or "—"


def render_account_request_form(data: Mapping[str, Any]) -> bytes:
    created: datetime = data["created_at"]
    rows = [
        ("Họ và tên:", _text(data["full_name"])),
        ("Ngày sinh:", _text(data["date_of_birth"])),
        ("Giới tính:", SEX.get(data.get("sex"), "—")),
        ("Số CCCD/CMND:", _text(data["id_number"])),
        ("Số điện thoại:", _text(data["phone"])),
        ("Thư điện tử:", _text(data.get("email"))),
        ("Đơn vị tiếp nhận:", f"{_text(data['unit_name'])} ({_text(data['unit_code'])})"),
    ]
    pdf = _document(created, "".join(v for _, v in rows) + TITLE + SUBTITLE)
    _heading(pdf)
    _fields(pdf, rows)
    _signatures(pdf, created)
    return bytes(pdf.output())


def _document(created: datetime, all_text: str):
    from chalicelib.core.fonts import fpdf_class

    FPDF = fpdf_class()

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    for style, path in font_files(all_text).items():
        pdf.add_font(FAMILY, style, path)
    pdf.set_margins(20, 20, 20)
    pdf.set_creation_date(created)
    pdf.set_lang("vi")
    pdf.set_title(TITLE.capitalize())
    pdf.set_creator(SUBTITLE)
    pdf.add_page()
    return pdf


def _heading(pdf) -> None:
    pdf.set_font(FAMILY, "B", 11)
    pdf.multi_cell(0, 6, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 11)
    pdf.multi_cell(0, 6, "Độc lập - Tự do - Hạnh phúc", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_font(FAMILY, "B", 15)
    pdf.multi_cell(0, 8, TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 11)
    pdf.multi_cell(0, 6, SUBTITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)


def _fields(pdf, rows: list[tuple[str, str]]) -> None:
    label_w = max(pdf.get_string_width(label) for label, _ in rows) + 4
    for label, value in rows:
        pdf.set_font(FAMILY, "", 11)
        pdf.cell(label_w, 7, label)
        pdf.set_font(FAMILY, "B", 11)
        pdf.multi_cell(0, 7, value, align="L", new_x="LMARGIN", new_y="NEXT")  # never stretch a name
    pdf.ln(6)
    pdf.set_font(FAMILY, "", 10)
    pdf.multi_cell(0, 5.5, "Tôi đã kiểm tra các thông tin trên là đúng và đề nghị tạo tài khoản trên Cổng Dịch vụ "
                   "công quốc gia. Mật khẩu tạm thời sẽ được gửi bằng tin nhắn đến số điện thoại trên; tôi sẽ đổi "
                   "mật khẩu khi đăng nhập lần đầu.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)


def _signatures(pdf, created: datetime) -> None:
    half = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    pdf.cell(half, 6, "")
    pdf.multi_cell(half, 6, f"Ngày {created:%d} tháng {created:%m} năm {created:%Y}", align="C",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "B", 10)
    pdf.cell(half, 6, "Cán bộ tiếp nhận", align="C")
    pdf.cell(half, 6, "Người đề nghị", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 9)
    pdf.cell(half, 5, "(Ký, ghi rõ họ tên)", align="C")
    pdf.cell(half, 5, "(Ký, ghi rõ họ tên)", align="C", new_x="LMARGIN", new_y="NEXT")
