"""Receipt PDF: real bytes, read back with pypdf, and the Vietnamese text must come back exactly.

pypdf may hand back decomposed (NFD) letters, so extracted text is NFC-normalised before comparing;
one test also checks the raw extraction, which proves each letter was drawn as one precomposed glyph.
"""
from __future__ import annotations

import io
import logging
import unicodedata
from functools import cache
from typing import NamedTuple

import pytest
from pypdf import PdfReader

from chalicelib.core.fonts import FONT_DIR
from chalicelib.receipts.adapters.pdf import ReceiptRenderError, format_vnd, render_receipt_pdf

A4_PT = (595.28, 841.89)
MARGIN_PT = 15 / 25.4 * 72


def sample_receipt(**changes) -> dict:
    receipt = {
        "receipt_id": "RCP01JQ8Z3K5W7X9Y2B4C6D8E0F1G",
        "receipt_number": "0000123",
        "template_symbol": "01BLP0-001",
        "series": "BI-26T",
        "collecting_unit_code": "000.00.00.H35",
        "collecting_unit_name": "Cục Thuế tỉnh Hà Nam",
        "collecting_unit_tax_code": "0700123456",
        "payer_name": "Nguyễn Thị Trang",
        "dossier_code": "H35.22-260315-0001",
        "notice_number": "TB-2026-000456",
        "items": [
            {"sub_item_code": "2801", "description": "Lệ phí trước bạ nhà đất", "amount_vnd": 1_000_000},
            {"sub_item_code": "1006", "description": "Thuế thu nhập từ chuyển nhượng bất động sản",
             "amount_vnd": 378_500},
        ],
        "amount_vnd": 1_378_500,
        "amount_in_words": "Một triệu ba trăm bảy mươi tám nghìn năm trăm đồng",
        "bank_code": "VCB",
        "bank_name": "Ngân hàng TMCP Ngoại thương Việt Nam",
        "bank_txn_ref": "FT26074123456789",
        "paid_at": "2026-03-15T10:15:30+07:00",
        "issued_at": "2026-03-15T03:15:42Z",  # 10:15:42 in GMT+7
        "payment_id": "PAY01JQ8Z3K5W7X9Y2B4C6D8E0F1G",
    }
    receipt.update(changes)
    return receipt


def pages_text(pdf: bytes, normalise: bool = True) -> list[str]:
    texts = [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]
    return [unicodedata.normalize("NFC", t) if normalise else t for t in texts]


def lines_of(pdf: bytes) -> list[str]:
    return [" ".join(line.split()) for text in pages_text(pdf) for line in text.splitlines()]


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    return render_receipt_pdf(sample_receipt())


def test_output_is_a_one_page_a4_pdf(sample_pdf):
    assert sample_pdf.startswith(b"%PDF-")
    assert sample_pdf.rstrip().endswith(b"%%EOF")
    reader = PdfReader(io.BytesIO(sample_pdf))
    assert len(reader.pages) == 1
    assert [round(float(v), 2) for v in reader.pages[0].mediabox[2:]] == list(A4_PT)


@pytest.mark.parametrize("line", [
    "BIÊN LAI THU THUẾ, PHÍ, LỆ PHÍ",
    "(Biên lai điện tử)",
    "Cục Thuế tỉnh Hà Nam",
    "Mã số thuế: 0700123456",
    "Mã đơn vị thu: 000.00.00.H35",
    "Mẫu số: 01BLP0-001",
    "Ký hiệu: BI-26T",
    "Số: 0000123",
    "Ngày lập: 15/03/2026",
    "Người nộp: Nguyễn Thị Trang",
    "Mã hồ sơ: H35.22-260315-0001",
    "Số thông báo: TB-2026-000456",
    "STT Mã tiểu mục Nội dung khoản nộp Số tiền (đồng)",
    "1 2801 Lệ phí trước bạ nhà đất 1.000.000",
    "2 1006 Thuế thu nhập từ chuyển nhượng bất động sản 378.500",
    "Tổng cộng 1.378.500",
    "Số tiền bằng chữ: Một triệu ba trăm bảy mươi tám nghìn năm trăm đồng",
    "Ngân hàng: Ngân hàng TMCP Ngoại thương Việt Nam (VCB)",
    "Mã giao dịch ngân hàng: FT26074123456789",
    "Thời gian thanh toán: 15/03/2026 10:15:30 (GMT+7)",
    "Mã thanh toán: PAY01JQ8Z3K5W7X9Y2B4C6D8E0F1G",
    "Biên lai điện tử được lập và phát hành qua Cổng Dịch vụ công quốc gia (dichvucong.gov.vn).",
    "Mã biên lai: RCP01JQ8Z3K5W7X9Y2B4C6D8E0F1G Trang 1/1",
])
def test_each_line_reads_back_exactly(sample_pdf, line):
    assert line in lines_of(sample_pdf)


def test_vietnamese_letters_are_the_right_code_points(sample_pdf):
    # Spelled with escapes so that an editor or encoding slip in this file cannot fake a pass.
    text = "\n".join(pages_text(sample_pdf))
    assert "Nguy\u1ec5n Th\u1ecb Trang" in text  # ễ ị
    assert "L\u1ec7 ph\u00ed tr\u01b0\u1edbc b\u1ea1 nh\u00e0 \u0111\u1ea5t" in text  # ệ í ướ ạ à đ ấ
    assert "thu nh\u1eadp" in text  # ậ
    assert "1.378.500" in text


VOWELS = "aăâeêioôơuưy"
TONES = ("", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323")  # ngang, huyền, sắc, hỏi, ngã, nặng
ALPHABET = [unicodedata.normalize("NFC", v + t) for v in VOWELS + VOWELS.upper() for t in TONES] + ["đ", "Đ"]


def test_the_whole_vietnamese_alphabet_reads_back_exactly(caplog):
    assert len(ALPHABET) == 146 and all(len(letter) == 1 for letter in ALPHABET)
    words = ["".join(ALPHABET[i:i + 12]) for i in range(0, len(ALPHABET), 12)]
    with caplog.at_level(logging.WARNING, logger="fpdf"):
        pdf = render_receipt_pdf(sample_receipt(payer_name=" ".join(words)))
    assert not [r for r in caplog.records if "missing" in r.getMessage()]
    text = " ".join(pages_text(pdf)).split()
    assert all(word in text for word in words)


def test_the_vietnamese_alphabet_takes_the_fast_font_path():
    # Speed, not correctness: letters outside the cut-down fonts re-parse the full ones (~200 ms).
    from chalicelib.core.fonts import _in_fast_repertoire

    assert all(_in_fast_repertoire(ord(c)) for c in "".join(ALPHABET) + "₫–“”…")


def test_letters_are_drawn_as_precomposed_glyphs_even_from_nfd_input():
    # NFD input (as typed on some systems) must still come out as single glyphs: fpdf2 does no
    # mark positioning, so a loose combining mark would be drawn beside its letter.
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Trang")
    assert decomposed != "Nguyễn Thị Trang"
    raw = "\n".join(pages_text(render_receipt_pdf(sample_receipt(payer_name=decomposed)), normalise=False))
    assert "Người nộp: Nguyễn Thị Trang" in raw
    assert raw == unicodedata.normalize("NFC", raw)


def test_invisible_and_control_characters_are_not_printed():
    # A bidi override or zero-width character would make the document read differently from its data.
    pdf = render_receipt_pdf(sample_receipt(payer_name="\u202eNguyễn Thị\u200b Trang\n\x07"))
    assert "Người nộp: Nguyễn Thị Trang" in lines_of(pdf)


def test_fonts_are_embedded_from_the_package_with_no_missing_glyphs(caplog):
    assert FONT_DIR.parts[-3:] == ("chalicelib", "assets", "fonts")
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "LICENSE-DejaVu.txt"):
        assert (FONT_DIR / name).is_file()
    with caplog.at_level(logging.WARNING, logger="fpdf"):
        pdf = render_receipt_pdf(sample_receipt())
    assert not [r for r in caplog.records if "missing" in r.getMessage()]
    fonts = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"]
    embedded = {}
    for ref in fonts.values():
        font = ref.get_object()
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        embedded[str(font["/BaseFont"])] = "/FontFile2" in descriptor
    assert embedded == {"/MPDFAA+DejaVuSansBook": True, "/MPDFAA+DejaVuSansBold": True}


def test_characters_outside_the_vietnamese_set_still_render():
    pdf = render_receipt_pdf(sample_receipt(payer_name="Иван Петров (Nguyễn Văn Ân)"))
    assert "Người nộp: Иван Петров (Nguyễn Văn Ân)" in lines_of(pdf)


def test_output_is_deterministic_and_dated_by_issue_time(sample_pdf):
    assert render_receipt_pdf(sample_receipt()) == sample_pdf
    metadata = PdfReader(io.BytesIO(sample_pdf)).metadata
    assert metadata["/CreationDate"] == "D:20260315101542+07'00'"


LONG_DESCRIPTION = " ".join(
    f"Lệ phí trước bạ nhà đất theo hồ sơ chuyển nhượng quyền sử dụng đất tại thửa số {n}, "
    f"tờ bản đồ số 12, xã Liêm Tuyền, tỉnh Ninh Bình; người nộp đã được thông báo theo quy định."
    for n in range(1, 61)
)
LONG_TOKEN = "FT" + "0123456789" * 25  # no space to break at


@pytest.fixture(scope="module")
def long_receipt() -> tuple[dict, bytes]:
    items = [
        {"sub_item_code": f"28{n:02d}", "description": f"Khoản nộp số {n}: tiền sử dụng đất đợt {n}",
         "amount_vnd": 100_000 * n}
        for n in range(1, 12)
    ]
    items.append({"sub_item_code": "2801", "description": LONG_DESCRIPTION, "amount_vnd": 1_001})
    receipt = sample_receipt(
        items=items,
        amount_vnd=sum(item["amount_vnd"] for item in items),
        amount_in_words="Sáu triệu sáu trăm linh một nghìn không trăm linh một đồng",
        payer_name="Hộ gia đình bà Nguyễn Thị Trang và ông Trần Văn Hướng, " * 4,
        bank_txn_ref=LONG_TOKEN,
    )
    return receipt, render_receipt_pdf(receipt)


def test_twelve_items_with_a_very_long_description_render_on_valid_pages(long_receipt):
    receipt, pdf = long_receipt
    reader = PdfReader(io.BytesIO(pdf))
    pages = len(reader.pages)
    assert pages > 1
    for number, page in enumerate(reader.pages, start=1):
        assert [round(float(v), 2) for v in page.mediabox[2:]] == list(A4_PT)
        assert f"Trang {number}/{pages}" in unicodedata.normalize("NFC", page.extract_text())
    lines = lines_of(pdf)
    for n in range(1, 12):
        assert f"{n} 28{n:02d} Khoản nộp số {n}: tiền sử dụng đất đợt {n} {format_vnd(100_000 * n)}" in lines
    assert "Tổng cộng 6.601.001" in lines
    assert "Số tiền bằng chữ: Sáu triệu sáu trăm linh một nghìn không trăm linh một đồng" in lines


def test_long_description_survives_whole_and_in_order(long_receipt):
    _, pdf = long_receipt
    words = " ".join(pages_text(pdf)).split()
    # Page footers and repeated table headings sit between the wrapped pieces: the description's
    # words must still all be there, in order.
    remaining = iter(words)
    assert all(word in remaining for word in LONG_DESCRIPTION.split())


def test_long_text_wraps_inside_the_page(long_receipt):
    _, pdf = long_receipt
    token_lines = [line for line in lines_of(pdf) if "0123456789" in line]
    assert len(token_lines) > 1  # an unbreakable reference is split, not run off the page
    assert "".join(token_lines).replace("Mã giao dịch ngân hàng: ", "") == LONG_TOKEN
    for fragment in drawn_fragments(pdf):
        assert fragment.x >= MARGIN_PT - 0.5, fragment
        assert fragment.x + fragment.width <= A4_PT[0] - MARGIN_PT + 0.5, fragment
        assert 0 < fragment.y < A4_PT[1] - MARGIN_PT + 0.5, fragment


class Fragment(NamedTuple):
    text: str
    x: float
    y: float
    width: float


def drawn_fragments(pdf: bytes) -> list[Fragment]:
    """Every piece of text drawn, with its start point and its advance width in points."""
    fragments = []

    def visit(text, cm, tm, font, size):
        if not text.strip() or font is None:
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        bold = str(font["/BaseFont"]).endswith("Bold")
        fragments.append(Fragment(text, x, y, advance(text, bold) * size * cm[0]))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=visit)
    assert fragments
    return fragments


def advance(text: str, bold: bool) -> float:
    cmap, widths, units = _metrics(bold)
    return sum(widths[cmap[ord(c)]][0] for c in unicodedata.normalize("NFC", text) if c not in "\n") / units


@cache
def _metrics(bold: bool):
    from fontTools.ttLib import TTFont

    font = TTFont(FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"), lazy=True)
    return font.getBestCmap(), font["hmtx"].metrics, font["head"].unitsPerEm


@pytest.mark.parametrize("amount, text", [
    (0, "0"),
    (5, "5"),
    (999, "999"),
    (1_000, "1.000"),
    (10_000, "10.000"),
    (1_001, "1.001"),
    (1_378_500, "1.378.500"),
    (1_000_000_000, "1.000.000.000"),
])
def test_format_vnd_groups_thousands_with_dots(amount, text):
    assert format_vnd(amount) == text


@pytest.mark.parametrize("amount", [1.5, "1000", True, None])
def test_format_vnd_takes_only_whole_dong(amount):
    with pytest.raises(TypeError):
        format_vnd(amount)


@pytest.mark.parametrize("changes", [
    {"amount_vnd": 1_378_000},  # items add up to 1.378.500: never print disagreeing figures
    {"items": []},
    {"items": [{"sub_item_code": "2801", "description": "Lệ phí", "amount_vnd": -1}], "amount_vnd": -1},
    {"items": [{"sub_item_code": "2801", "description": "Lệ phí", "amount_vnd": 1.5}], "amount_vnd": 1.5},
    {"payer_name": ""},
    {"paid_at": "2026-03-15T10:15:30"},  # no offset: the GMT+7 time would be a guess
    {"issued_at": "15/03/2026"},
])
def test_inconsistent_or_incomplete_receipts_are_refused(changes):
    with pytest.raises(ReceiptRenderError):
        render_receipt_pdf(sample_receipt(**changes))


def test_missing_field_is_refused():
    receipt = sample_receipt()
    del receipt["bank_txn_ref"]
    with pytest.raises(ReceiptRenderError, match="bank_txn_ref"):
        render_receipt_pdf(receipt)


def test_bank_short_name_is_printed_once():
    from chalicelib.core.banks import get_bank

    name = get_bank("BIDV").name_vi
    lines = lines_of(render_receipt_pdf(sample_receipt(bank_code="BIDV", bank_name=name)))
    bank_line = next(line for line in lines if line.startswith("Ngân hàng:"))
    assert bank_line.count("(BIDV)") == 1, bank_line


def test_a_self_test_receipt_says_it_is_a_test_and_a_real_one_does_not(sample_pdf):
    from chalicelib.receipts.adapters.pdf import TEST_BANNER

    test_lines = lines_of(render_receipt_pdf(sample_receipt(test=True, series="KT-26T")))
    assert TEST_BANNER in test_lines
    assert TEST_BANNER not in lines_of(sample_pdf)
    assert len(pages_text(render_receipt_pdf(sample_receipt(test=True)))) == 1
