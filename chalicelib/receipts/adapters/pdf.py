"""Electronic receipt (biên lai điện tử thu thuế, phí, lệ phí) rendered as an A4 PDF.

All text on the document is Vietnamese, so the PDF embeds the vendored DejaVu Sans, cut to the Vietnamese
repertoire once per process (``core.fonts``). fpdf2 is imported lazily: with fontTools it costs a few hundred
milliseconds of cold start and only the receipt-document path needs it.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import TYPE_CHECKING, Any, Mapping

from chalicelib.core.fonts import FAMILY, font_files
from chalicelib.core.money import format_vnd

if TYPE_CHECKING:
    from fpdf import FPDF

__all__ = ["ReceiptRenderError", "format_vnd", "render_receipt_pdf"]

GMT7 = timezone(timedelta(hours=7))

# Unforgeable: receipt text is stripped of control characters, so it cannot contain this.
_PAGE_COUNT_ALIAS = "\x1fNB\x1f"

_REQUIRED_TEXT_FIELDS = (
    "receipt_id",
    "receipt_number",
    "template_symbol",
    "series",
    "collecting_unit_code",
    "collecting_unit_name",
    "payer_name",
    "dossier_code",
    "notice_number",
    "amount_in_words",
    "bank_code",
    "bank_name",
    "bank_txn_ref",
    "paid_at",
    "issued_at",
    "payment_id",
)
_OPTIONAL_TEXT_FIELDS = ("collecting_unit_tax_code", "payer_tax_code", "payer_address")

# Layout, in millimetres (A4 portrait is 210 x 297).
_MARGIN = 15.0
_FOOTER_SPACE = 22.0
_LINE = 5.5
_BODY_PT = 10
_FOOTER_PT = 8
_ITEM_COLUMNS_MM = (12.0, 28.0, 100.0, 40.0)  # STT, sub-item code, description, amount
_CELL_PADDING = 1.5
# fpdf2 keeps a table row on one page; short chunks of a long description leave little blank space
# at the bottom of a page when the next chunk moves to the following one.
_MAX_ROW_LINES = 12

TITLE = "BIÊN LAI THU THUẾ, PHÍ, LỆ PHÍ"
SUBTITLE = "(Biên lai điện tử)"
FOOTER_NOTE = "Biên lai điện tử được lập và phát hành qua Cổng Dịch vụ công quốc gia (dichvucong.gov.vn)."


class ReceiptRenderError(ValueError):
    """The receipt data cannot be printed as a faithful document (missing field, totals disagree...)."""


def render_receipt_pdf(receipt: Mapping[str, Any]) -> bytes:
    """Render an issued receipt as PDF bytes (A4 portrait, Vietnamese text, fonts embedded).

    The output is deterministic for the same receipt: the PDF creation date is ``issued_at``.
    Raises ReceiptRenderError if the data is incomplete or inconsistent (items not adding up to
    ``amount_vnd``), because a receipt must never show figures that disagree with each other.
    """
    view = _ReceiptView.from_mapping(receipt)
    pdf = _document_class()(view.text["receipt_id"])
    _setup(pdf, view)
    pdf.add_page()
    _draw_header(pdf, view)
    _draw_title(pdf, view)
    _draw_fields(pdf, view.payer_fields)
    _draw_items(pdf, view)
    _draw_fields(pdf, [("Số tiền bằng chữ:", view.text["amount_in_words"])], value_style="B")
    pdf.ln(2)
    _draw_fields(pdf, view.payment_fields)
    return bytes(pdf.output())


# --- data -------------------------------------------------------------------------------------


class _ReceiptView:
    """The receipt as display strings: validated, NFC-normalised, amounts and times formatted."""

    def __init__(self, text: dict[str, str], items: list[tuple[str, str, str]], total: str,
                 paid_at: datetime, issued_at: datetime) -> None:
        self.text = text
        self.items = items  # (sub_item_code, description, formatted amount)
        self.total = total
        self.paid_at = paid_at
        self.issued_at = issued_at

    @classmethod
    def from_mapping(cls, receipt: Mapping[str, Any]) -> "_ReceiptView":
        missing = [k for k in (*_REQUIRED_TEXT_FIELDS, "items", "amount_vnd") if receipt.get(k) in (None, "")]
        if missing:
            raise ReceiptRenderError(f"receipt is missing {', '.join(missing)}")
        text = {k: _clean(receipt[k], k) for k in _REQUIRED_TEXT_FIELDS}
        text.update({k: _clean(receipt[k], k) for k in _OPTIONAL_TEXT_FIELDS if receipt.get(k)})
        total = _amount(receipt["amount_vnd"], "amount_vnd")
        items = cls._items(receipt["items"])
        if sum(amount for _, _, amount in items) != total:
            raise ReceiptRenderError("items do not add up to amount_vnd")
        return cls(
            text,
            [(code, desc, format_vnd(amount)) for code, desc, amount in items],
            format_vnd(total),
            _moment(text["paid_at"], "paid_at"),
            _moment(text["issued_at"], "issued_at"),
        )

    @staticmethod
    def _items(raw: Any) -> list[tuple[str, str, int]]:
        if not isinstance(raw, (list, tuple)) or not raw:
            raise ReceiptRenderError("receipt has no items")
        items = []
        for i, item in enumerate(raw):
            where = f"items[{i}]"
            if not isinstance(item, Mapping):
                raise ReceiptRenderError(f"{where} must be an object")
            items.append((
                _clean(item.get("sub_item_code"), f"{where}.sub_item_code"),
                _clean(item.get("description"), f"{where}.description"),
                _amount(item.get("amount_vnd"), f"{where}.amount_vnd"),
            ))
        return items

    @property
    def payer_fields(self) -> list[tuple[str, str]]:
        t = self.text
        fields = [("Người nộp:", t["payer_name"])]
        if "payer_tax_code" in t:
            fields.append(("Mã số thuế:", t["payer_tax_code"]))
        if "payer_address" in t:
            fields.append(("Địa chỉ:", t["payer_address"]))
        fields += [("Mã hồ sơ:", t["dossier_code"]), ("Số thông báo:", t["notice_number"])]
        return fields

    @property
    def payment_fields(self) -> list[tuple[str, str]]:
        t = self.text
        return [
            # Registry names already end with the short name, e.g. "... Việt Nam (BIDV)": do not print it twice.
            ("Ngân hàng:", t["bank_name"] if f"({t['bank_code']})" in t["bank_name"]
             else f"{t['bank_name']} ({t['bank_code']})"),
            ("Mã giao dịch ngân hàng:", t["bank_txn_ref"]),
            ("Thời gian thanh toán:", f"{self.paid_at:%d/%m/%Y %H:%M:%S} (GMT+7)"),
            ("Mã thanh toán:", t["payment_id"]),
        ]

    def all_text(self) -> str:
        """Every piece of variable text that ends up on the page (to choose the font files)."""
        parts = [*self.text.values(), self.total]
        for item in self.items:
            parts.extend(item)
        return "".join(parts)


def _clean(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ReceiptRenderError(f"{field} must be a non-empty string")
    # NFC so that ễ, ướ, ậ are drawn with the font's precomposed glyphs (fpdf2 does no mark
    # positioning). Control characters have no glyph and would print as boxes; invisible format
    # characters (zero-width, bidi overrides) could make an official document read differently
    # from its data.
    value = unicodedata.normalize("NFC", value)
    value = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in value)
    value = "".join(c for c in value if unicodedata.category(c) != "Cf")
    return " ".join(value.split())


def _amount(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ReceiptRenderError(f"{field} must be a non-negative int number of đồng")
    return value


def _moment(value: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ReceiptRenderError(f"{field} is not an RFC 3339 timestamp") from exc
    if moment.tzinfo is None:
        raise ReceiptRenderError(f"{field} has no UTC offset")
    return moment.astimezone(GMT7)


# --- fonts ------------------------------------------------------------------------------------

# --- layout -----------------------------------------------------------------------------------


@cache
def _document_class() -> type["FPDF"]:
    from chalicelib.core.fonts import fpdf_class

    FPDF = fpdf_class()

    class ReceiptDocument(FPDF):
        def __init__(self, receipt_id: str) -> None:
            super().__init__(orientation="P", unit="mm", format="A4")
            self.receipt_id = receipt_id

        def footer(self) -> None:
            self.set_y(-_FOOTER_SPACE + 4)
            self.set_draw_color(150)
            self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
            self.ln(1.5)
            self.set_font(FAMILY, "", _FOOTER_PT)
            self.multi_cell(0, 4, FOOTER_NOTE, align="C", new_x="LMARGIN", new_y="NEXT")
            half = (self.w - self.l_margin - self.r_margin) / 2
            self.cell(half, 4, f"Mã biên lai: {self.receipt_id}")
            self.cell(half, 4, f"Trang {self.page_no()}/{_PAGE_COUNT_ALIAS}", align="R")

    return ReceiptDocument


def _setup(pdf: FPDF, view: _ReceiptView) -> None:
    for style, path in font_files(view.all_text()).items():
        pdf.add_font(FAMILY, style, path)
    for font in pdf.fonts.values():
        # fpdf2 re-subsets the font at output; recomputing every glyph's bounding box there
        # means decoding and re-encoding each outline (a third of the render time). The outlines
        # are not modified, so their stored boxes are already right.
        font.ttfont.recalcBBoxes = False
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(True, margin=_FOOTER_SPACE)
    pdf.alias_nb_pages(_PAGE_COUNT_ALIAS)
    pdf.set_creation_date(view.issued_at)
    pdf.set_lang("vi")
    pdf.set_title(f"Biên lai {view.text['series']} số {view.text['receipt_number']}")
    pdf.set_author(view.text["collecting_unit_name"])
    pdf.set_creator("Cổng Dịch vụ công quốc gia")
    pdf.set_font(FAMILY, "", _BODY_PT)


def _draw_header(pdf: FPDF, view: _ReceiptView) -> None:
    """Collecting unit on the left; template symbol, series and number on the right."""
    t = view.text
    top = pdf.get_y()
    left_w = 110.0
    pdf.set_font(FAMILY, "B", _BODY_PT)
    pdf.multi_cell(left_w, _LINE, t["collecting_unit_name"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", _BODY_PT)
    if "collecting_unit_tax_code" in t:
        pdf.multi_cell(left_w, _LINE, f"Mã số thuế: {t['collecting_unit_tax_code']}", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(left_w, _LINE, f"Mã đơn vị thu: {t['collecting_unit_code']}", new_x="LMARGIN", new_y="NEXT")
    left_bottom = pdf.get_y()

    right_x = pdf.l_margin + left_w + 5
    pdf.set_xy(right_x, top)
    _draw_fields(pdf, [("Mẫu số:", t["template_symbol"]), ("Ký hiệu:", t["series"]),
                       ("Số:", t["receipt_number"])], value_style="B")
    pdf.set_xy(pdf.l_margin, max(left_bottom, pdf.get_y()) + 6)


def _draw_title(pdf: FPDF, view: _ReceiptView) -> None:
    pdf.set_font(FAMILY, "B", 15)
    pdf.multi_cell(0, 8, TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", _BODY_PT)
    pdf.multi_cell(0, _LINE, SUBTITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, _LINE, f"Ngày lập: {view.issued_at:%d/%m/%Y}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)


def _draw_fields(pdf: FPDF, fields: list[tuple[str, str]], value_style: str = "") -> None:
    """Label/value lines from the current x to the right margin; long values wrap under the value."""
    x = pdf.get_x()
    pdf.set_font(FAMILY, "", _BODY_PT)
    label_w = max(pdf.get_string_width(label) for label, _ in fields) + 2
    for label, value in fields:
        pdf.set_x(x)
        pdf.set_font(FAMILY, "", _BODY_PT)
        pdf.cell(label_w, _LINE, label)
        pdf.set_font(FAMILY, value_style, _BODY_PT)
        pdf.multi_cell(0, _LINE, value, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "", _BODY_PT)


def _draw_items(pdf: FPDF, view: _ReceiptView) -> None:
    from fpdf.fonts import FontFace

    bold = FontFace(emphasis="BOLD")
    pdf.ln(3)
    with pdf.table(
        col_widths=_ITEM_COLUMNS_MM,
        width=sum(_ITEM_COLUMNS_MM),
        text_align=("CENTER", "CENTER", "LEFT", "RIGHT"),
        v_align="TOP",
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        line_height=_LINE,
        padding=_CELL_PADDING,
        repeat_headings=1,
    ) as table:
        heading = table.row()
        for text in ("STT", "Mã tiểu mục", "Nội dung khoản nộp", "Số tiền (đồng)"):
            heading.cell(text, align="CENTER")
        for number, (code, description, amount) in enumerate(view.items, start=1):
            for chunk, (code_part, description_part) in enumerate(_row_chunks(pdf, code, description)):
                first = chunk == 0
                row = table.row()
                row.cell(str(number) if first else "")
                row.cell(code_part)
                row.cell(description_part)
                row.cell(amount if first else "")
        total = table.row()
        total.cell("Tổng cộng", colspan=3, align="RIGHT", style=bold)
        total.cell(view.total, style=bold)
    pdf.ln(3)


def _row_chunks(pdf: FPDF, code: str, description: str) -> list[tuple[str, str]]:
    """Split an item into table rows of at most _MAX_ROW_LINES lines each.

    fpdf2 refuses a table row taller than a page, and a description can be arbitrarily long; so
    we wrap it ourselves and continue it in extra rows (blank number and amount) across pages.
    """
    pdf.set_font(FAMILY, "", _BODY_PT)
    code_lines = _wrap(pdf, code, _ITEM_COLUMNS_MM[1])
    description_lines = _wrap(pdf, description, _ITEM_COLUMNS_MM[2])
    n = _MAX_ROW_LINES
    count = max(len(code_lines), len(description_lines))
    return [
        ("\n".join(code_lines[i:i + n]), "\n".join(description_lines[i:i + n]))
        for i in range(0, count, n)
    ]


def _wrap(pdf: FPDF, text: str, column_mm: float) -> list[str]:
    # 1 mm narrower than the cell's text box, so the table never needs to re-wrap our lines.
    width = column_mm - 2 * _CELL_PADDING - 1
    return pdf.multi_cell(width, _LINE, text, dry_run=True, output="LINES")
