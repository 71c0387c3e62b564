"""The evidence report of an integration self-test (Báo cáo minh chứng kiểm thử tích hợp) as an A4 PDF.

A cover page (province, run id, start and end, overall verdict ĐẠT/KHÔNG ĐẠT, a table of the steps), then exactly
one page per step: the request (method, URL, redacted body), the answer (status, headers, redacted body excerpt),
latency, verdict and, for a failure, what the province must fix. Long bodies are cut to what fits, so a step never
spills onto a second page. Same approach as the receipt (``receipts/adapters/pdf.py``): fpdf2 with the vendored
DejaVu fonts cut to the Vietnamese repertoire (``core.fonts``), text NFC-normalised; fpdf2 is imported lazily.
Every step is redacted again here, so a caller's slip cannot print a credential or an ID number.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from chalicelib.core.clock import VN_TZ
from chalicelib.core.fonts import FAMILY, font_files
from chalicelib.onboarding.domain.evidence import RESULT_LABELS, EvidenceReport, EvidenceStep, redacted_step

if TYPE_CHECKING:
    from fpdf import FPDF

TITLE = "BÁO CÁO MINH CHỨNG KIỂM THỬ TÍCH HỢP"
SUBTITLE = "Thanh toán nghĩa vụ tài chính về đất đai trên Cổng Dịch vụ công quốc gia"
ISSUER = "CỔNG DỊCH VỤ CÔNG QUỐC GIA"
FOOTER_NOTE = "Thông tin xác thực, mã thông báo (token) và dữ liệu cá nhân đã được che trước khi ghi nhận."
_PAGE_COUNT_ALIAS = "\x1fNB\x1f"  # text is stripped of control characters, so it cannot contain this

_MARGIN = 15.0
_FOOTER_SPACE = 20.0
_LINE = 5.5
_CODE_LINE = 3.9
_CODE_PT = 7.5
_GREEN = (0, 120, 60)
_RED = (190, 20, 20)
_GREY = (110, 110, 110)
_COLOURS = {"passed": _GREEN, "failed": _RED, "skipped": _GREY}
_MAX_REQUEST_MM = 62.0
_MAX_HEADER_LINES = 10
_MIN_BODY_LINES = 6


class EvidenceRenderError(ValueError):
    """The report data does not have the shape of ``EvidenceReport``."""


def render_evidence_pdf(report: EvidenceReport | Mapping[str, Any]) -> bytes:
    """Render a self-test run as PDF bytes: one cover page, then one page per step (deterministic output)."""
    try:
        data = report if isinstance(report, EvidenceReport) else EvidenceReport.model_validate(report)
    except ValidationError as exc:
        raise EvidenceRenderError(f"evidence report is malformed: {exc.error_count()} error(s)") from exc
    data = data.model_copy(update={"steps": [redacted_step(s) for s in data.steps]})
    pdf = _document_class()(_clean(data.run_id))
    _setup(pdf, data)
    _draw_cover(pdf, data)
    for number, step in enumerate(data.steps, start=1):
        _draw_step(pdf, number, len(data.steps), step)
    return bytes(pdf.output())


# --- text -------------------------------------------------------------------------------------------------------


def _clean(value: Any, keep_newlines: bool = False) -> str:
    """NFC (precomposed glyphs: fpdf2 positions no marks), no control or invisible format characters."""
    text = unicodedata.normalize("NFC", "" if value is None else str(value)).replace("\t", "    ")
    allowed = "\n" if keep_newlines else ""
    text = "".join(c if c in allowed or unicodedata.category(c) not in ("Cc", "Zl", "Zp") else " " for c in text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    if keep_newlines:
        return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")
    return " ".join(text.split())


def _moment(value: datetime) -> str:
    return f"{value.astimezone(VN_TZ):%d/%m/%Y %H:%M:%S} (GMT+7)"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} phút {secs} giây" if minutes else f"{secs} giây"


def _milliseconds(value: float | None) -> str:
    return "—" if value is None else f"{round(value):,}".replace(",", ".") + " ms"


def _all_text(data: EvidenceReport) -> str:
    parts = [TITLE, SUBTITLE, ISSUER, FOOTER_NOTE, data.province_name, data.province_code or "", data.run_id,
             data.requested_by or ""]
    for s in data.steps:
        parts += [s.name, s.api_type or "", s.url, s.request_body, s.response_body, s.error or "", s.fix or "",
                  s.note or "", s.expected or "", *s.response_headers.keys(), *s.response_headers.values()]
    return "".join(unicodedata.normalize("NFC", p) for p in parts)


# --- document ---------------------------------------------------------------------------------------------------


@cache
def _document_class() -> type[FPDF]:
    from chalicelib.core.fonts import fpdf_class

    FPDF = fpdf_class()

    class EvidenceDocument(FPDF):
        def __init__(self, run_id: str) -> None:
            super().__init__(orientation="P", unit="mm", format="A4")
            self.run_id = run_id

        def footer(self) -> None:
            self.set_y(-_FOOTER_SPACE + 5)
            self.set_draw_color(150)
            self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
            self.ln(1.5)
            self.set_font(FAMILY, "", 7.5)
            self.set_text_color(*_GREY)
            self.multi_cell(0, 3.8, FOOTER_NOTE, align="C", new_x="LMARGIN", new_y="NEXT")
            half = (self.w - self.l_margin - self.r_margin) / 2
            self.cell(half, 4, f"Mã lượt kiểm thử: {self.run_id}")
            self.cell(half, 4, f"Trang {self.page_no()}/{_PAGE_COUNT_ALIAS}", align="R")
            self.set_text_color(0)

    return EvidenceDocument


def _setup(pdf: FPDF, data: EvidenceReport) -> None:
    for style, path in font_files(_all_text(data)).items():
        pdf.add_font(FAMILY, style, path)
    for font in pdf.fonts.values():
        font.ttfont.recalcBBoxes = False  # outlines are not modified: skip re-measuring every glyph at output
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(False)  # every page is laid out to fit; text that would not fit is cut, not spilled
    pdf.alias_nb_pages(_PAGE_COUNT_ALIAS)
    pdf.set_creation_date(data.finished_at)
    pdf.set_lang("vi")
    pdf.set_title(f"Báo cáo kiểm thử tích hợp - {_clean(data.province_name)}")
    pdf.set_creator("Cổng Dịch vụ công quốc gia")


def _bottom(pdf: FPDF) -> float:
    return pdf.h - _FOOTER_SPACE


def _fields(pdf: FPDF, rows: list[tuple[str, str]], label_w: float | None = None, max_lines: int = 3) -> None:
    """Label/value lines; a value wraps under itself and is cut after ``max_lines`` lines."""
    pdf.set_font(FAMILY, "", 10)
    label_w = label_w or max(pdf.get_string_width(label) for label, _ in rows) + 3
    for label, value in rows:
        pdf.set_x(pdf.l_margin)
        pdf.set_font(FAMILY, "", 10)
        pdf.cell(label_w, _LINE, label)
        pdf.set_font(FAMILY, "B", 10)
        width = pdf.w - pdf.r_margin - pdf.get_x()
        lines = _clipped(pdf, _clean(value) or "—", width, max_lines)
        x = pdf.get_x()
        for line in lines:
            pdf.set_x(x)
            pdf.cell(width, _LINE, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 10)


def _clipped(pdf: FPDF, text: str, width: float, max_lines: int) -> list[str]:
    """``text`` wrapped to ``width`` (current font), at most ``max_lines`` lines, the last marking any cut."""
    lines: list[str] = pdf.multi_cell(width, _LINE, text, dry_run=True, output="LINES") if text else [""]
    if len(lines) <= max_lines:
        return lines
    return lines[: max(max_lines - 1, 0)] + [f"… (đã lược bớt {len(lines) - max_lines + 1} dòng)"]


def _verdict_box(pdf: FPDF, label: str, result: str, height: float = 12.0, size: float = 16) -> None:
    pdf.set_fill_color(*_COLOURS[result])
    pdf.set_text_color(255)
    pdf.set_font(FAMILY, "B", size)
    pdf.cell(0, height, label, align="C", fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.set_font(FAMILY, "", 10)


def _draw_cover(pdf: FPDF, data: EvidenceReport) -> None:
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 11)
    pdf.cell(0, 6, ISSUER, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.set_font(FAMILY, "B", 16)
    pdf.cell(0, 9, TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", 10)
    pdf.multi_cell(0, _LINE, SUBTITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(7)
    counts = {r: sum(s.result == r for s in data.steps) for r in RESULT_LABELS}
    rows = [("Đơn vị (tỉnh, thành phố):", data.province_name)]
    if data.province_code:
        rows.append(("Mã định danh đơn vị:", data.province_code))
    rows += [("Mã lượt kiểm thử:", data.run_id), ("Bắt đầu:", _moment(data.started_at)),
             ("Kết thúc:", _moment(data.finished_at)),
             ("Thời lượng:", _duration((data.finished_at - data.started_at).total_seconds())),
             ("Số bước kiểm thử:", (f"{len(data.steps)} (đạt {counts['passed']}, không đạt {counts['failed']}, "
                                    f"bỏ qua {counts['skipped']})"))]
    if data.requested_by:
        rows.append(("Người thực hiện:", data.requested_by))
    _fields(pdf, rows, max_lines=2)
    pdf.ln(6)
    _verdict_box(pdf, f"KẾT LUẬN: {data.verdict}", "passed" if data.passed else "failed", 14, 18)
    pdf.ln(6)
    _draw_summary(pdf, data.steps)


def _draw_summary(pdf: FPDF, steps: list[EvidenceStep]) -> None:
    """One fixed-height row per step (names cut to one line), so 20 steps always fit on the cover."""
    widths = (12.0, 108.0, 32.0, 28.0)
    pdf.set_font(FAMILY, "B", 9)
    pdf.set_fill_color(235, 235, 235)
    for width, text in zip(widths, ("STT", "Bước kiểm thử", "Kết quả", "Phản hồi"), strict=True):
        pdf.cell(width, 7, text, border=1, align="C", fill=True)
    pdf.ln(7)
    for number, step in enumerate(steps, start=1):
        pdf.set_font(FAMILY, "", 9)
        pdf.cell(widths[0], 6.5, str(number), border=1, align="C")
        name = _clipped(pdf, _clean(step.name), widths[1] - 3, 1)[0]
        pdf.cell(widths[1], 6.5, name if name == _clean(step.name) else name.rstrip() + "…", border=1)
        pdf.set_font(FAMILY, "B", 9)
        pdf.set_text_color(*_COLOURS[step.result])
        pdf.cell(widths[2], 6.5, RESULT_LABELS[step.result], border=1, align="C")
        pdf.set_text_color(0)
        pdf.set_font(FAMILY, "", 9)
        pdf.cell(widths[3], 6.5, _milliseconds(step.latency_ms), border=1, align="R", new_x="LMARGIN", new_y="NEXT")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2.5)
    pdf.set_font(FAMILY, "B", 11)
    pdf.cell(0, 6.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(190)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(1.5)
    pdf.set_font(FAMILY, "", 10)


def _code_block(pdf: FPDF, text: str, max_height: float) -> None:
    """A grey box of small text (a body), cut to ``max_height`` millimetres."""
    pdf.set_font(FAMILY, "", _CODE_PT)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    max_lines = max(int((max_height - 2) // _CODE_LINE), 1)
    lines = _clipped(pdf, _clean(text, keep_newlines=True) or "(trống)", width - 4, max_lines)
    pdf.set_fill_color(244, 244, 244)
    top = pdf.get_y()
    pdf.rect(pdf.l_margin, top, width, len(lines) * _CODE_LINE + 2, style="F")
    pdf.set_y(top + 1)
    for line in lines:
        pdf.set_x(pdf.l_margin + 2)
        pdf.cell(width - 4, _CODE_LINE, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(top + len(lines) * _CODE_LINE + 3)
    pdf.set_font(FAMILY, "", 10)


def _draw_step(pdf: FPDF, number: int, total: int, step: EvidenceStep) -> None:
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 13)
    for line in _clipped(pdf, f"Bước {number}/{total}: {_clean(step.name)}", pdf.epw, 2):
        pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    _verdict_box(pdf, f"Kết quả: {RESULT_LABELS[step.result]}", step.result, 9, 12)
    if step.result == "failed" and step.fix:
        pdf.ln(2)
        pdf.set_text_color(*_RED)
        _fields(pdf, [("Địa phương cần khắc phục:", step.fix)], max_lines=4)
        pdf.set_text_color(0)
    if step.note:
        _fields(pdf, [("Ghi chú:", step.note)], max_lines=2)
    _draw_request(pdf, step)
    _draw_answer(pdf, step)


def _answer_rows(step: EvidenceStep) -> list[tuple[str, str]]:
    answer = str(step.status) if step.status is not None else f"Không nhận được phản hồi ({step.error or 'lỗi'})"
    rows = [("Mã trạng thái HTTP:", answer), ("Thời gian phản hồi:", _milliseconds(step.latency_ms))]
    if step.status is not None and step.error:
        rows.append(("Lỗi:", step.error))
    return rows


def _shown_headers(step: EvidenceStep) -> list[str]:
    return [f"{k}: {v}" for k, v in list(step.response_headers.items())[:_MAX_HEADER_LINES]]


def _answer_height(step: EvidenceStep) -> float:
    """Room the answer section needs with a short body excerpt: kept free when the request body is cut."""
    headers = len(_shown_headers(step))
    rows = len(_answer_rows(step)) * 2 * _LINE
    return 10.5 + rows + (_LINE + headers * _CODE_LINE + 3 if headers else 0) + _LINE + _MIN_BODY_LINES * _CODE_LINE + 3


def _label(pdf: FPDF, text: str) -> None:
    pdf.set_font(FAMILY, "", 9)
    pdf.cell(0, _LINE, text, new_x="LMARGIN", new_y="NEXT")


def _draw_request(pdf: FPDF, step: EvidenceStep) -> None:
    _heading(pdf, "Yêu cầu gửi đến địa phương")
    rows = [("Loại API:", step.api_type)] if step.api_type else []
    _fields(pdf, rows + [("Phương thức:", step.method), ("Địa chỉ (URL):", step.url)], label_w=42)
    if step.expected:
        _fields(pdf, [("Kết quả mong đợi:", step.expected)], label_w=42, max_lines=2)
    _label(pdf, "Nội dung gửi (đã che thông tin nhạy cảm):")
    room = _bottom(pdf) - pdf.get_y() - _answer_height(step)
    _code_block(pdf, step.request_body, min(_MAX_REQUEST_MM, room))


def _draw_answer(pdf: FPDF, step: EvidenceStep) -> None:
    _heading(pdf, "Phản hồi của địa phương")
    _fields(pdf, _answer_rows(step), label_w=42, max_lines=2)
    headers = _shown_headers(step)
    if headers:
        _label(pdf, "Tiêu đề phản hồi (chọn lọc):")
        _code_block(pdf, "\n".join(headers), len(headers) * _CODE_LINE + 2.5)
    _label(pdf, "Nội dung phản hồi (trích, đã che thông tin nhạy cảm):")
    _code_block(pdf, step.response_body, _bottom(pdf) - pdf.get_y() - 1)
