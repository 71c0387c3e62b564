"""Report exports: Excel (.xlsx) and CSV from rows and a column spec, written to a file-like object as they come.

Generic on purpose (nothing here knows reconciliation): the M14 reports (transactions per province and period,
accounts per unit) use the same writers. Excel: one sheet per breakdown, Vietnamese headers in bold, the header row
frozen, a totals row, VND as integers with the number format ``#,##0``. Excel draws the thousands separator from
the reader's regional settings (dots in a Vietnamese Windows, commas in an English one): a number format cannot
force the dot and keep the cell a number, so each sheet with money carries a note saying so. Written in openpyxl's
write-only mode, so memory does not grow with the number of rows. CSV: UTF-8 with a BOM (so that Excel reads the
diacritics), integers and ISO 8601 times, machine-readable.

Text that begins like a formula (``=``, ``+``, ``-``, ``@``) is a known way to run code in whoever opens the file:
Excel cells are always typed as text, and CSV values get a leading apostrophe.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any, Iterable, Mapping, Sequence

from chalicelib.core.clock import VN_TZ

__all__ = ["Column", "SheetSpec", "VND_NOTE", "sheet_title", "write_csv", "write_xlsx"]

VND_FORMAT = "#,##0"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm:ss"
DATE_FORMAT = "dd/mm/yyyy"
TOTALS_LABEL = "Tổng cộng"
VND_NOTE = ("Số tiền tính bằng đồng (VND). Dấu phân cách hàng nghìn hiển thị theo thiết lập vùng của máy "
            "(tiếng Việt: dấu chấm, ví dụ 1.378.500).")
SHEET_TITLE_MAX = 31
_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_KINDS = ("text", "vnd", "int", "datetime", "date")


@dataclass(frozen=True)
class Column:
    key: str  # the row mapping's key
    header: str  # Vietnamese, as the reader sees it
    kind: str = "text"  # text | vnd | int | datetime | date
    width: float | None = None
    total: bool | None = None  # summed in the totals row; default: vnd and int columns

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"column kind must be one of {_KINDS}")

    @property
    def summed(self) -> bool:
        return self.kind in ("vnd", "int") if self.total is None else self.total


@dataclass(frozen=True)
class SheetSpec:
    title: str
    columns: Sequence[Column]
    rows: Iterable[Mapping[str, Any]]
    totals: bool = True
    note: str | None = None  # None: VND_NOTE when a column is money


def sheet_title(name: str, taken: Iterable[str] = ()) -> str:
    """A valid, unique Excel sheet name: no ``[]:*?/\\``, at most 31 characters, " (2)" etc. for a repeat."""
    base = _BAD_TITLE.sub("-", name).strip().strip("'") or "Sheet"
    used = {title.lower() for title in taken}
    title, n = base[:SHEET_TITLE_MAX].rstrip(), 1
    while title.lower() in used:
        n += 1
        suffix = f" ({n})"
        title = base[: SHEET_TITLE_MAX - len(suffix)].rstrip() + suffix
    return title


def write_xlsx(out: IO[bytes], sheets: Sequence[SheetSpec]) -> None:
    """Write a workbook with one sheet per ``SheetSpec`` to the binary stream ``out``."""
    from openpyxl import Workbook

    if not sheets:
        raise ValueError("a workbook needs at least one sheet")
    workbook = Workbook(write_only=True)
    titles: list[str] = []
    for spec in sheets:
        titles.append(sheet_title(spec.title, titles))
        _write_sheet(workbook.create_sheet(titles[-1]), spec)
    workbook.save(out)


def _write_sheet(sheet: Any, spec: SheetSpec) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, column in enumerate(spec.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width or _default_width(column)
    sheet.append([_styled(WriteOnlyCell(sheet, column.header), bold) for column in spec.columns])
    sums = [0] * len(spec.columns)
    for row in spec.rows:
        cells = []
        for index, column in enumerate(spec.columns):
            value = row.get(column.key)
            if column.summed and isinstance(value, int) and not isinstance(value, bool):
                sums[index] += value
            cells.append(_cell(sheet, column, value))
        sheet.append(cells)
    if spec.totals:
        sheet.append(_totals_cells(sheet, spec.columns, sums, bold))
    note = spec.note if spec.note is not None else (VND_NOTE if any(c.kind == "vnd" for c in spec.columns) else "")
    if note:
        sheet.append([])
        sheet.append([_cell(sheet, Column("note", "", "text"), note)])


def _cell(sheet: Any, column: Column, value: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if column.kind == "text":
        cell = WriteOnlyCell(sheet, None if value is None else str(value))
        if value is not None:
            cell.data_type = "s"  # openpyxl would take "=..." for a formula and "#N/A" for an error
        return cell
    if isinstance(value, datetime):
        value = _local(value)
    cell = WriteOnlyCell(sheet, value)
    cell.number_format = {"vnd": VND_FORMAT, "int": "0", "datetime": DATETIME_FORMAT,
                          "date": DATE_FORMAT}[column.kind]
    return cell


def _totals_cells(sheet: Any, columns: Sequence[Column], sums: list[int], bold: Any) -> list[Any]:
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for index, column in enumerate(columns):
        if column.summed:
            cell = _cell(sheet, column, sums[index])
        else:
            cell = WriteOnlyCell(sheet, TOTALS_LABEL if index == 0 else None)
        cells.append(_styled(cell, bold))
    return cells


def _styled(cell: Any, font: Any) -> Any:
    cell.font = font
    return cell


def _default_width(column: Column) -> float:
    return {"vnd": 18, "int": 10, "datetime": 20, "date": 12}.get(column.kind, max(12, min(40, len(column.header) + 4)))


def _local(moment: datetime) -> datetime:
    # Excel has no time zones: write Vietnam wall-clock time (aware values converted, naive ones taken as such).
    return moment.astimezone(VN_TZ).replace(tzinfo=None) if moment.tzinfo else moment


def write_csv(out: IO[bytes], columns: Sequence[Column], rows: Iterable[Mapping[str, Any]],
              totals: bool = True) -> int:
    """Write a UTF-8 (with BOM) CSV to the binary stream ``out``; returns the number of data rows."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    try:
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow([column.header for column in columns])
        sums, count = [0] * len(columns), 0
        for row in rows:
            values = [row.get(column.key) for column in columns]
            for index, (column, value) in enumerate(zip(columns, values, strict=True)):
                if column.summed and isinstance(value, int) and not isinstance(value, bool):
                    sums[index] += value
            writer.writerow([_csv_value(column, value) for column, value in zip(columns, values, strict=True)])
            count += 1
        if totals:
            writer.writerow([str(sums[i]) if c.summed else (TOTALS_LABEL if i == 0 else "")
                             for i, c in enumerate(columns)])
        text.flush()
    finally:
        text.detach()  # the caller owns ``out``: do not close it with the wrapper
    return count


def _csv_value(column: Column, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    text = str(value)
    if column.kind == "text" and text.startswith(_FORMULA_START):
        return "'" + text
    return text
