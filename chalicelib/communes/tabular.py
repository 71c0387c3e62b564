"""Read the tax authority's commune list from CSV or Excel, and write the confirmed map back out.

Files come from people: a title line or two above the header, Vietnamese headers in any spelling ("Mã xã", "MÃ XÃ",
"Ma_xa", "Tên xã/phường", "Tỉnh/Thành phố"), UTF-8 with or without a byte-order mark, commas or semicolons (Excel
in a Vietnamese locale writes semicolons), codes that Excel turned into numbers. The header is the first of the
first 20 rows with a code column and a name column. Rows that cannot be read are reported with their row number and
a Vietnamese message; the others are imported.

Exports are for Excel users: CSV in UTF-8 with a byte-order mark (without it Excel shows "XÃ£"), XLSX with the
header row frozen and codes stored as text so that 00004 keeps its zeros. openpyxl is imported only when an XLSX
file is read or written.
"""
from __future__ import annotations

import csv
import io
import itertools
import re
from typing import Iterable, Iterator

from chalicelib.communes.domain import ConfirmedEntry, ImportResult, RowError, TaxCommuneRow, parse_tax_code
from chalicelib.core.admin_units import fold
from chalicelib.core.validation import InvalidValueError

HEADER_SCAN_ROWS = 20
MAX_ROWS = 20000  # the whole country has 3,321 communes today and about 10,000 before 2025

EXPORT_HEADERS = ("Mã xã (cơ quan thuế)", "Tên xã (cơ quan thuế)", "Mã tỉnh", "Mã xã chuẩn (thống kê)",
                  "Tên xã chuẩn", "Phiên bản danh mục")
_PUNCT_RE = re.compile(r"[\W_]+")
_DISTRICT_RE = re.compile(r"^quan\b|\b(?:ma|ten) quan\b")


def _header_role(cell: object) -> str | None:
    """'code', 'name' or 'province' for a header cell, None for any other column."""
    text = _PUNCT_RE.sub(" ", fold(str(cell or ""))).strip()
    if not text:
        return None
    words = text.split()
    if "tinh" in words or "province" in words or text.startswith("thanh pho"):
        return "province"
    if "huyen" in words or _DISTRICT_RE.search(text):  # "Quận", "Mã quận", not "Mã xã (cơ quan thuế)"
        return None  # district columns of old lists are not needed to match within a province
    if words[0] in ("ma", "code") or text in ("id",):
        return "code"
    if words[0] in ("ten", "name") or text in ("xa", "phuong xa", "xa phuong", "don vi"):
        return "name"
    return None


def _find_header(rows: list[list[object]]) -> tuple[int, dict[str, int]]:
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        found: dict[str, list[tuple[bool, int]]] = {}
        for j, cell in enumerate(row):
            role = _header_role(cell)
            if role:
                # "Mã CQT" and "Mã xã" may both be there: a header that names the commune wins, then the leftmost.
                words = set(_PUNCT_RE.sub(" ", fold(str(cell))).split())
                found.setdefault(role, []).append((not words & {"xa", "phuong", "dbhc"}, j))
        if "code" in found and "name" in found:
            return i, {role: min(columns)[1] for role, columns in found.items()}
    raise InvalidValueError("HEADER_NOT_FOUND",
                            "Không tìm thấy dòng tiêu đề có cột mã xã và cột tên xã (ví dụ \"Mã xã\", \"Tên xã\").")


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores 7010917 as 7010917.0
    return " ".join(str(value).split())


def _rows_to_result(rows: list[list[object]]) -> ImportResult:
    start, roles = _find_header(rows)
    body = rows[start + 1:]
    if len(body) > MAX_ROWS:
        raise InvalidValueError("FILE_TOO_LARGE", f"Tệp có quá nhiều dòng (tối đa {MAX_ROWS}).")
    out, errors = [], []
    for offset, row in enumerate(body):
        line = start + 2 + offset  # 1-based, as the spreadsheet shows it

        def col(role: str, row: list[object] = row) -> str:
            j = roles.get(role)
            return _cell_text(row[j]) if j is not None and j < len(row) else ""

        code, name = col("code"), col("name")
        if not code and not name:
            continue  # blank line
        try:
            out.append(TaxCommuneRow(parse_tax_code(code), name, col("province"), line))
        except InvalidValueError as exc:
            errors.append(RowError(line, exc.code, exc.message))
    return ImportResult(tuple(out), tuple(errors))


def import_csv(data: bytes) -> ImportResult:
    """Rows of a CSV file (UTF-8, with or without BOM; comma, semicolon or tab separated)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidValueError("FILE_ENCODING", "Tệp CSV phải được lưu với bảng mã UTF-8.") from None
    # The delimiter is whichever lets a header be found, the commonest one tried first: csv.Sniffer guesses wrong
    # when a title line without delimiters sits above the header.
    sample = text[:8192]
    last: InvalidValueError | None = None
    for delimiter in sorted(",;\t", key=sample.count, reverse=True):
        rows = [list(r) for r in csv.reader(io.StringIO(text), delimiter=delimiter)]
        try:
            return _rows_to_result(rows)
        except InvalidValueError as exc:
            if exc.code != "HEADER_NOT_FOUND":
                raise
            last = exc
    raise last  # type: ignore[misc]


def import_xlsx(data: bytes) -> ImportResult:
    """Rows of the first worksheet of an XLSX workbook (read-only mode: large files are streamed)."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises zipfile, KeyError, ValueError and its own errors for a non-XLSX file
        raise InvalidValueError("FILE_NOT_XLSX", "Tệp không phải là bảng tính Excel (.xlsx) hợp lệ.") from None
    try:
        sheet = workbook.worksheets[0]
        rows = [list(r) for r in itertools.islice(sheet.iter_rows(values_only=True), MAX_ROWS + HEADER_SCAN_ROWS + 1)]
    finally:
        workbook.close()
    return _rows_to_result(rows)


def _export_rows(entries: Iterable[ConfirmedEntry]) -> Iterator[tuple[str, ...]]:
    for e in entries:
        yield e.tax_code, e.tax_name, e.province_code, e.standard_code, e.standard_name, e.version


def export_csv(entries: Iterable[ConfirmedEntry]) -> bytes:
    """The confirmed map as CSV, UTF-8 with BOM, Vietnamese headers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_HEADERS)
    writer.writerows(_export_rows(entries))
    return buffer.getvalue().encode("utf-8-sig")


def export_xlsx(entries: Iterable[ConfirmedEntry], title: str = "Bảng ánh xạ mã xã") -> bytes:
    """The confirmed map as an XLSX workbook: one sheet, Vietnamese headers, header row frozen, codes as text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]  # Excel's limit for sheet names
    sheet.append(EXPORT_HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in _export_rows(entries):
        sheet.append(values)
    for column in ("A", "C", "D"):
        for cell in sheet[column][1:]:
            cell.number_format = "@"  # text: Excel must not turn 00004 into 4
    for column, width in zip("ABCDEF", (20, 32, 10, 22, 32, 18), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
