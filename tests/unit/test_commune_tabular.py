"""CSV and Excel import of the tax authority's commune list, and export of the confirmed map."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from chalicelib.communes.domain import ConfirmedEntry
from chalicelib.communes.matching import match_rows
from chalicelib.communes.tabular import EXPORT_HEADERS, export_csv, export_xlsx, import_csv, import_xlsx
from chalicelib.core.validation import InvalidValueError

CSV_TEXT = (
    "DANH MỤC XÃ, PHƯỜNG - CỤC THUẾ TỈNH QUẢNG NINH\n"
    "\n"
    "STT,Mã CQT,Mã xã,Tên xã,Tỉnh\n"
    "1,10100,2210101,Phường Hạ Long,Quảng Ninh\n"
    "2,10100,2210102,P. Bãi Cháy,Quảng Ninh\n"
    ",,,,\n"
    "3,10100,22101-03,Phường Cao Xanh,Quảng Ninh\n"
)


def _rows(result) -> list[tuple[str, str, str, int]]:
    return [(r.tax_code, r.name, r.province, r.line) for r in result.rows]


EXPECTED = [("2210101", "Phường Hạ Long", "Quảng Ninh", 4), ("2210102", "P. Bãi Cháy", "Quảng Ninh", 5)]


def test_csv_with_bom() -> None:
    data = CSV_TEXT.encode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")
    result = import_csv(data)
    assert _rows(result) == EXPECTED
    # The bad code is reported with its spreadsheet row number and a Vietnamese message; the rest is imported.
    assert [(e.line, e.code) for e in result.errors] == [(7, "TAX_COMMUNE_CODE_INVALID")]
    assert "chữ số" in result.errors[0].message


def test_csv_without_bom_and_with_semicolons() -> None:
    data = CSV_TEXT.replace(",", ";").replace("DANH MỤC XÃ; PHƯỜNG", "DANH MỤC XÃ, PHƯỜNG").encode("utf-8")
    assert _rows(import_csv(data)) == EXPECTED


def test_csv_header_spellings() -> None:
    data = "MA_XA\tTEN XA/PHUONG\tTinh/Thanh pho\n7010917\tPhường Chợ Quán\tHồ Chí Minh\n".encode("utf-8")
    assert _rows(import_csv(data)) == [("7010917", "Phường Chợ Quán", "Hồ Chí Minh", 2)]


def test_csv_that_is_not_utf8_or_has_no_header_is_refused() -> None:
    with pytest.raises(InvalidValueError) as err:
        import_csv("Mã xã,Tên xã\n1,Xã An\n".encode("latin-1"))  # Windows-1252-style bytes
    assert err.value.code == "FILE_ENCODING"
    with pytest.raises(InvalidValueError) as err:
        import_csv("a,b\n1,2\n".encode("utf-8"))
    assert err.value.code == "HEADER_NOT_FOUND"


def test_imported_csv_matches() -> None:
    results = match_rows(import_csv(CSV_TEXT.encode("utf-8-sig")).rows)
    assert [r.matched.code for r in results] == ["06688", "06673"]


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_import_with_title_rows_and_numeric_codes() -> None:
    data = _xlsx([["Danh mục xã"], [], ["STT", "Mã xã", "Tên xã", "Tỉnh"],
                  [1, 2210101, "Phường Hạ Long", "Quảng Ninh"], [2, 2210102.0, "P. Bãi Cháy", "Quảng Ninh"],
                  [None, None, None, None], [3, "x", "Phường Cao Xanh", "Quảng Ninh"]])
    result = import_xlsx(data)
    assert _rows(result) == EXPECTED
    assert [(e.line, e.code) for e in result.errors] == [(7, "TAX_COMMUNE_CODE_INVALID")]


def test_xlsx_that_is_not_a_workbook_is_refused() -> None:
    with pytest.raises(InvalidValueError) as err:
        import_xlsx(b"not a zip file")
    assert err.value.code == "FILE_NOT_XLSX"


ENTRIES = [
    ConfirmedEntry("2210101", "Phường Hạ Long", "22", "06688", "Phường Hạ Long"),
    ConfirmedEntry("1010104", "Phường Trúc Bạch", "01", "00004", "Phường Ba Đình"),
]


def test_csv_export_has_bom_and_vietnamese_headers() -> None:
    data = export_csv(ENTRIES)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(EXPORT_HEADERS)
    assert lines[2] == "1010104,Phường Trúc Bạch,01,00004,Phường Ba Đình,2025-07-01"


def test_xlsx_export_round_trip_cell_by_cell() -> None:
    data = export_xlsx(ENTRIES)
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.active
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == list(EXPORT_HEADERS)
    assert all(c.font.bold for c in sheet[1])
    expected = [list(EXPORT_HEADERS)] + [[e.tax_code, e.tax_name, e.province_code, e.standard_code, e.standard_name,
                                          e.version] for e in ENTRIES]
    assert sheet.max_row == len(expected) and sheet.max_column == len(EXPORT_HEADERS)
    for r, row in enumerate(expected, start=1):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=c)
            assert cell.value == value, (r, c)
            assert isinstance(cell.value, str)  # codes stay text: 00004 keeps its zeros
    assert sheet.cell(row=3, column=4).number_format == "@"
    # And the exported map can be read back as a tax list.
    assert [(r.tax_code, r.name) for r in import_xlsx(data).rows] == [(e.tax_code, e.tax_name) for e in ENTRIES]
