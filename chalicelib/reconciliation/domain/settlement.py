"""Banks' settlement files read into canonical lines, in constant memory, and refused whole when anything is wrong.

A settlement file is the bank's statement of what it moved on day D. A truncated or mangled upload must never look
like "missing at bank", so a file is classified only once it is known to be complete and well formed:

- pass 1 (``validate_settlement``) streams the source ONCE, copying its bytes into a spool (memory up to 8 MB, then
  a temporary file, on Lambda under /tmp) while computing its SHA-256, parsing and checking every line, counting
  lines and summing amounts, then checking the trailer. Any problem raises ``SettlementFileError`` (a stable code, a
  Vietnamese message, the line number) and nothing has been handed to anyone;
- pass 2 (``ValidatedSettlement.lines()``) reads the spool again and yields the same canonical lines, for the matcher.
We spool rather than read the source twice because an S3 body (or any stream) can be read once only, and a second
download could differ from the first.

Each bank format is data (``SettlementFormat``: delimiter, header, trailer tag, amount unit) plus a small row mapper
in its adapter module; this module knows no particular bank.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import IO, Any, BinaryIO, Callable, Iterable, Iterator, Sequence

from chalicelib.core.clock import VN_TZ

__all__ = ["LineContext", "LineError", "SettlementFileError", "SettlementFormat", "SettlementLine",
           "SettlementSummary", "ValidatedSettlement", "parse_amount", "require_text", "settlement_file_name",
           "validate_settlement", "write_settlement"]

SUCCESS, REVERSED = "SUCCESS", "REVERSED"
MAX_BYTES = 256 * 1024 * 1024  # a day of one bank is a few tens of MB; far more is not a settlement file
SPOOL_IN_MEMORY = 8 * 1024 * 1024
_CHUNK = 64 * 1024
_TEXT = re.compile(r"[^\x00-\x1f\x7f]{1,64}")
_AMOUNT = re.compile(r"[0-9]{1,18}")
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of bytes that are not UTF-8


@dataclass(frozen=True)
class SettlementLine:
    """One bank transaction of the file, in the portal's terms (whatever the bank's format)."""

    line_no: int
    settlement_date: date
    bank_code: str
    bank_txn_ref: str
    payment_id: str
    amount_vnd: int
    currency: str
    paid_at: datetime
    status: str  # SUCCESS or REVERSED
    reference_number: str | None = None  # the portal's số tham chiếu, when the bank's format carries it


@dataclass(frozen=True)
class LineContext:
    """What a row mapper may need beyond the row: where it is and which file it belongs to."""

    line_no: int
    bank_code: str
    settlement_date: date


class LineError(ValueError):
    """Raised by a row mapper: the message is Vietnamese and names the field."""


class SettlementFileError(Exception):
    """The file is refused whole. ``code`` is stable (UPPER_SNAKE), ``message`` Vietnamese, ``line_no`` 1-based."""

    def __init__(self, code: str, message: str, line_no: int | None = None) -> None:
        where = f"Dòng {line_no}: " if line_no else ""
        super().__init__(f"{code}: {where}{message}")
        self.code, self.message, self.line_no = code, where + message, line_no


@dataclass(frozen=True)
class SettlementFormat:
    name: str
    delimiter: str
    header: tuple[str, ...]
    trailer_tag: str
    amount_unit: int  # the file writes amount_vnd x amount_unit (100 for the VNPay-style file)
    paid_at_grace_s: int  # how long after D's end a line's paid_at may be (bank clocks), beyond that: wrong day
    file_extension: str
    to_line: Callable[[Sequence[str], LineContext], SettlementLine]
    from_line: Callable[[SettlementLine], list[str]]


@dataclass(frozen=True)
class SettlementSummary:
    bank_code: str
    settlement_date: date
    format_name: str
    sha256: str
    size_bytes: int
    line_count: int
    total_vnd: int


def settlement_file_name(bank_code: str, day: date, fmt: SettlementFormat) -> str:
    """``<BANK>_<YYYYMMDD>.<ext>``, e.g. ``VCB_20261130.csv``."""
    return f"{bank_code}_{day:%Y%m%d}.{fmt.file_extension}"


def require_text(value: str, field_vi: str) -> str:
    """A reference or code: 1 to 64 characters, no control characters, no surrounding spaces."""
    if not _TEXT.fullmatch(value) or value != value.strip():
        raise LineError(f"{field_vi} trống, quá dài hoặc có ký tự không hợp lệ.")
    return value


def parse_amount(raw: str, unit: int, field_vi: str) -> int:
    """A positive integer number of ``unit`` (1 or 100) as đồng; refused unless whole đồng."""
    if not _AMOUNT.fullmatch(raw) or int(raw) <= 0:
        raise LineError(f"{field_vi} phải là số nguyên dương.")
    if int(raw) % unit:
        raise LineError(f"{field_vi} phải là bội số của {unit}.")
    return int(raw) // unit


class ValidatedSettlement:
    """A file that passed validation: its summary, and its lines as many times as wanted. Close it (or use
    ``with``) to drop the spool."""

    def __init__(self, spool: IO[bytes], fmt: SettlementFormat, summary: SettlementSummary) -> None:
        self._spool, self._fmt, self.summary = spool, fmt, summary

    def lines(self) -> Iterator[SettlementLine]:
        self._spool.seek(0)
        return _parse(_text(self._spool.read), self._fmt, self.summary.bank_code, self.summary.settlement_date)

    def close(self) -> None:
        self._spool.close()

    def __enter__(self) -> ValidatedSettlement:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def validate_settlement(
    source: BinaryIO | Iterable[bytes],
    fmt: SettlementFormat,
    bank_code: str,
    settlement_date: date,
    *,
    file_name: str | None = None,
    max_bytes: int = MAX_BYTES,
    spool: Callable[[], IO[bytes]] | None = None,
) -> ValidatedSettlement:
    """Pass 1: read ``source`` (a binary file object or an iterator of byte chunks, e.g. an S3 body's
    ``iter_chunks()``) to the end and check it all. Raises ``SettlementFileError``; returns the file for pass 2.
    ``file_name``, when given, must be this bank's and day's (``settlement_file_name``)."""
    if file_name is not None and file_name.rsplit("/", 1)[-1] != settlement_file_name(bank_code, settlement_date, fmt):
        raise SettlementFileError("SETTLEMENT_WRONG_FILE", f"Tên tệp {file_name!r} không phải tệp đối soát của ngân "
                                  f"hàng {bank_code} ngày {settlement_date:%d/%m/%Y}.")
    target = spool() if spool else tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - handed to the caller inside ValidatedSettlement, closed on error below
    tee = _Tee(_reader(source), target, max_bytes)
    try:
        count = total = 0
        for line in _parse(_text(tee.read_into_sinks), fmt, bank_code, settlement_date):
            count, total = count + 1, total + line.amount_vnd
    except BaseException:
        target.close()
        raise
    summary = SettlementSummary(bank_code, settlement_date, fmt.name, tee.sha256.hexdigest(), tee.size, count, total)
    return ValidatedSettlement(target, fmt, summary)


def write_settlement(lines: Iterable[SettlementLine], fmt: SettlementFormat, out: IO[str],
                     trailer: tuple[int, int] | None | str = "auto") -> tuple[int, int]:
    """Write a file in ``fmt`` to the text stream ``out`` (open it with ``newline=""``). ``trailer`` "auto" writes the
    true control record, a ``(lines, sum in file units)`` pair writes that one, None writes none (to make broken
    files for tests). Returns the true (lines, sum in file units)."""
    writer = csv.writer(out, delimiter=fmt.delimiter, lineterminator="\r\n")
    writer.writerow(fmt.header)
    count = units = 0
    for line in lines:
        writer.writerow(fmt.from_line(line))
        count, units = count + 1, units + line.amount_vnd * fmt.amount_unit
    if trailer == "auto":
        trailer = (count, units)
    if trailer is not None:
        writer.writerow([fmt.trailer_tag, str(trailer[0]), str(trailer[1])])
    return count, units


# --- parsing ----------------------------------------------------------------------------------------------------

def _parse(text: io.TextIOBase, fmt: SettlementFormat, bank_code: str, day: date) -> Iterator[SettlementLine]:
    """Yield every data line; raise at the first problem, or at the end when the trailer is missing or wrong."""
    reader = csv.reader(text, delimiter=fmt.delimiter, strict=True)
    rows = _rows(reader)
    first = next(rows, None)
    if first is None:
        raise SettlementFileError("SETTLEMENT_EMPTY", "Tệp đối soát rỗng.", 1)
    if tuple(first[1]) != fmt.header:
        raise SettlementFileError("SETTLEMENT_HEADER_INVALID", "Dòng tiêu đề không đúng định dạng "
                                  f"{fmt.name}: cần {fmt.delimiter.join(fmt.header)}.", 1)
    day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), VN_TZ)
    latest = day_end + timedelta(seconds=fmt.paid_at_grace_s)
    count = units = 0
    trailer: tuple[int, list[str]] | None = None
    last_no = 1
    for line_no, row in rows:
        last_no = line_no
        if trailer is not None:
            if row:  # blank lines after the control record are harmless; data is not
                raise SettlementFileError("SETTLEMENT_DATA_AFTER_TRAILER", "Có dữ liệu sau dòng tổng kết.", line_no)
            continue
        if row and row[0] == fmt.trailer_tag:
            trailer = (line_no, row)
            continue
        line = _line(row, fmt, LineContext(line_no, bank_code, day), latest)
        count, units = count + 1, units + line.amount_vnd * fmt.amount_unit
        yield line
    _check_trailer(trailer, fmt, count, units, last_no + 1)


def _rows(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, row), csv and decoding errors turned into the file's refusal."""
    while True:
        start = reader.line_num + 1  # a quoted field may span lines: people look for where the record begins
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise SettlementFileError("SETTLEMENT_LINE_MALFORMED", f"Dòng không đúng định dạng CSV ({error}).",
                                      start) from None
        if _UNDECODABLE.search("".join(row)):
            raise SettlementFileError("SETTLEMENT_ENCODING", "Dòng có byte không phải UTF-8.", start)
        yield start, row


def _line(row: list[str], fmt: SettlementFormat, ctx: LineContext, latest: datetime) -> SettlementLine:
    if len(row) != len(fmt.header):
        raise SettlementFileError("SETTLEMENT_LINE_MALFORMED", f"Dòng có {len(row)} cột, cần {len(fmt.header)}.",
                                  ctx.line_no)
    try:
        line = fmt.to_line(row, ctx)
    except LineError as error:
        raise SettlementFileError("SETTLEMENT_LINE_MALFORMED", str(error), ctx.line_no) from None
    if line.bank_code != ctx.bank_code:
        raise SettlementFileError("SETTLEMENT_WRONG_BANK", f"Giao dịch của ngân hàng {line.bank_code}, không phải "
                                  f"{ctx.bank_code}.", ctx.line_no)
    if line.settlement_date != ctx.settlement_date or line.paid_at > latest:
        raise SettlementFileError("SETTLEMENT_WRONG_DATE", "Giao dịch không thuộc ngày đối soát "
                                  f"{ctx.settlement_date:%d/%m/%Y}.", ctx.line_no)
    return line


def _check_trailer(trailer: tuple[int, list[str]] | None, fmt: SettlementFormat, count: int, units: int,
                   end_no: int) -> None:
    if trailer is None:
        raise SettlementFileError("SETTLEMENT_TRAILER_MISSING", "Thiếu dòng tổng kết (TRAILER): tệp có thể bị cắt "
                                  "cụt, không đối soát tệp này.", end_no)
    line_no, row = trailer
    if len(row) != 3 or not all(_AMOUNT.fullmatch(value) for value in row[1:]):
        raise SettlementFileError("SETTLEMENT_TRAILER_MALFORMED", "Dòng tổng kết phải là "
                                  f"{fmt.trailer_tag}{fmt.delimiter}<số dòng>{fmt.delimiter}<tổng tiền>.", line_no)
    if (int(row[1]), int(row[2])) != (count, units):
        raise SettlementFileError("SETTLEMENT_TRAILER_MISMATCH", f"Dòng tổng kết ghi {row[1]} dòng, tổng {row[2]}; "
                                  f"tệp có {count} dòng, tổng {units}: tệp không đầy đủ.", line_no)


# --- byte plumbing: hash and spool while reading ----------------------------------------------------------------

def _reader(source: BinaryIO | Iterable[bytes]) -> Callable[[int], bytes]:
    if hasattr(source, "read"):
        return source.read  # type: ignore[union-attr]
    chunks = iter(source)
    pending = bytearray()

    def read(size: int) -> bytes:
        while len(pending) < size:
            chunk = next(chunks, None)
            if chunk is None:
                break
            pending.extend(chunk)
        out = bytes(pending[:size])
        del pending[:size]
        return out

    return read


class _Tee:
    """Reads from the source; every byte read is hashed and copied to the spool, and counted against the limit."""

    def __init__(self, read: Callable[[int], bytes], spool: IO[bytes], max_bytes: int) -> None:
        self._read, self._spool, self._max = read, spool, max_bytes
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read_into_sinks(self, size: int) -> bytes:
        data = self._read(size)
        self.size += len(data)
        if self.size > self._max:
            raise SettlementFileError("SETTLEMENT_TOO_LARGE", f"Tệp lớn hơn {self._max // (1024 * 1024)} MB.")
        self.sha256.update(data)
        self._spool.write(data)
        return data


class _RawReader(io.RawIOBase):
    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _text(read: Callable[[int], bytes]) -> io.TextIOWrapper:
    # utf-8-sig: a BOM (Windows exports) is dropped, not taken for part of the first header name. surrogateescape:
    # a bad byte is found on its own line (see _rows), not wherever the decoder's chunk happened to start.
    return io.TextIOWrapper(io.BufferedReader(_RawReader(read), _CHUNK), encoding="utf-8-sig", newline="",
                            errors="surrogateescape")
