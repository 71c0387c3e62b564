"""Settlement files: both formats read into canonical lines; anything incomplete or wrong refuses the file whole."""
from __future__ import annotations

import hashlib
import io
from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.reconciliation.adapters.settlement_formats import format_for_bank
from chalicelib.reconciliation.domain.settlement import (
    SettlementFileError,
    SettlementLine,
    settlement_file_name,
    validate_settlement,
    write_settlement,
)

VN = timezone(timedelta(hours=7))
DAY = date(2026, 11, 30)
CANONICAL = (
    "settlement_date,bank_code,bank_txn_ref,payment_id,amount_vnd,currency,paid_at,status\r\n"
    "2026-11-30,VCB,FT26334000001,PAYH3501A,1378500,VND,2026-11-30T10:01:02+07:00,SUCCESS\r\n"
    '2026-11-30,VCB,"FT26334,000002",PAYH3501B,250000,VND,2026-11-30T03:00:00+00:00,REVERSED\r\n'
    "TRAILER,2,1628500\r\n"
)
VNPAY = (
    "vnp_TxnRef;vnp_TransactionNo;vnp_Amount;vnp_PayDate;vnp_BankCode;vnp_TransactionStatus\n"
    "PAYH3501C;14012345;137850000;20261130235958;NCB;00\n"
    "PAYH3501D;14012346;25000000;20261130080000;MB;04\n"
    "TRAILER;2;162850000\n"
)


def read(text: str | bytes, bank: str = "VCB", day: date = DAY, **kwargs):
    raw = text.encode("utf-8") if isinstance(text, str) else text
    with validate_settlement(io.BytesIO(raw), format_for_bank(bank), bank, day, **kwargs) as file:
        return file.summary, list(file.lines())


def refusal(text: str | bytes, bank: str = "VCB", **kwargs) -> SettlementFileError:
    with pytest.raises(SettlementFileError) as caught:
        read(text, bank, **kwargs)
    return caught.value


def test_canonical_file_read_into_lines_with_hash_count_and_sum():
    summary, lines = read(CANONICAL)
    assert summary.sha256 == hashlib.sha256(CANONICAL.encode()).hexdigest()
    assert (summary.line_count, summary.total_vnd, summary.size_bytes) == (2, 1_628_500, len(CANONICAL.encode()))
    first, second = lines
    assert first == SettlementLine(2, DAY, "VCB", "FT26334000001", "PAYH3501A", 1_378_500, "VND",
                                   datetime(2026, 11, 30, 10, 1, 2, tzinfo=VN), "SUCCESS")
    assert (second.bank_txn_ref, second.status, second.line_no) == ("FT26334,000002", "REVERSED", 3)  # RFC 4180


def test_vnpay_file_mapped_to_canonical_lines():
    summary, lines = read(VNPAY, "MB", file_name="incoming/MB_20261130.csv")
    assert (summary.line_count, summary.total_vnd, summary.format_name) == (2, 1_628_500, "vnpay_semicolon")
    first, second = lines
    assert (first.payment_id, first.bank_txn_ref, first.amount_vnd, first.bank_code, first.status) == (
        "PAYH3501C", "14012345", 1_378_500, "MB", "SUCCESS")
    assert first.paid_at == datetime(2026, 11, 30, 23, 59, 58, tzinfo=VN) and first.settlement_date == DAY
    assert second.status == "REVERSED"


def test_a_bom_and_chunked_input_are_fine():
    chunks = [b"\xef\xbb\xbf" + CANONICAL.encode()[i:i + 7] if i == 0 else CANONICAL.encode()[i:i + 7]
              for i in range(0, len(CANONICAL.encode()), 7)]
    summary, lines = read(b"".join(chunks))
    assert summary.line_count == 2
    with validate_settlement(iter(chunks), format_for_bank("VCB"), "VCB", DAY) as file:
        assert [line.payment_id for line in file.lines()] == ["PAYH3501A", "PAYH3501B"]
        assert [line.payment_id for line in file.lines()] == ["PAYH3501A", "PAYH3501B"]  # pass 2 repeatable


def test_truncated_file_is_refused_whole_with_the_line_number():
    cut_before_trailer = CANONICAL[: CANONICAL.index("TRAILER")]
    error = refusal(cut_before_trailer)
    assert (error.code, error.line_no) == ("SETTLEMENT_TRAILER_MISSING", 4)
    assert "Dòng 4" in error.message and "cắt cụt" in error.message
    assert refusal(CANONICAL[:-30]).code in ("SETTLEMENT_LINE_MALFORMED", "SETTLEMENT_TRAILER_MISSING")


def test_nothing_is_yielded_before_the_whole_file_is_known_good():
    # A consumer of pass 1 never sees a line: validate_settlement returns only when everything checked out.
    raw = CANONICAL.replace("TRAILER,2,1628500", "TRAILER,3,1628500").encode()
    seen = []
    with pytest.raises(SettlementFileError) as caught:
        file = validate_settlement(io.BytesIO(raw), format_for_bank("VCB"), "VCB", DAY)
        seen.extend(file.lines())
    assert caught.value.code == "SETTLEMENT_TRAILER_MISMATCH" and seen == []


@pytest.mark.parametrize("change, code, line_no", [
    (("TRAILER,2,1628500", "TRAILER,2,1628501"), "SETTLEMENT_TRAILER_MISMATCH", 4),
    (("TRAILER,2,1628500", "TRAILER,two,1628500"), "SETTLEMENT_TRAILER_MALFORMED", 4),
    (("TRAILER,2,1628500", "TRAILER,2"), "SETTLEMENT_TRAILER_MALFORMED", 4),
    (("TRAILER,2,1628500\r\n", "TRAILER,2,1628500\r\n2026-11-30,VCB,X,Y,1,VND,2026-11-30T10:00:00+07:00,SUCCESS\r\n"),
     "SETTLEMENT_DATA_AFTER_TRAILER", 5),
    (("1378500,VND", "1378500.0,VND"), "SETTLEMENT_LINE_MALFORMED", 2),
    (("1378500,VND", "0,VND"), "SETTLEMENT_LINE_MALFORMED", 2),
    (("1378500,VND", "1378500,USD"), "SETTLEMENT_LINE_MALFORMED", 2),
    (("10:01:02+07:00", "10:01:02"), "SETTLEMENT_LINE_MALFORMED", 2),
    ((",SUCCESS", ",PAID"), "SETTLEMENT_LINE_MALFORMED", 2),
    (("FT26334000001,", ","), "SETTLEMENT_LINE_MALFORMED", 2),
    ((",VND,2026-11-30T10", ",VND,x,2026-11-30T10"), "SETTLEMENT_LINE_MALFORMED", 2),
    (('"FT26334,000002"', '"FT26334,000002'), "SETTLEMENT_LINE_MALFORMED", 3),
    (("2026-11-30,VCB,FT26334000001", "2026-11-29,VCB,FT26334000001"), "SETTLEMENT_WRONG_DATE", 2),
    (("2026-11-30T10:01:02+07:00", "2026-12-01T10:01:02+07:00"), "SETTLEMENT_WRONG_DATE", 2),
    (("2026-11-30,VCB,FT26334000001", "2026-11-30,BIDV,FT26334000001"), "SETTLEMENT_WRONG_BANK", 2),
    (("settlement_date,", "date,"), "SETTLEMENT_HEADER_INVALID", 1),
])
def test_any_bad_line_or_trailer_refuses_the_file(change, code, line_no):
    error = refusal(CANONICAL.replace(*change, 1))
    assert (error.code, error.line_no) == (code, line_no)
    assert error.message.startswith(f"Dòng {line_no}: ")


@pytest.mark.parametrize("change, code", [
    (("137850000;", "137850050;"), "SETTLEMENT_LINE_MALFORMED"),  # not whole đồng
    ((";00\n", ";01\n"), "SETTLEMENT_LINE_MALFORMED"),  # a status the format data does not know
    (("20261130235958", "20261130"), "SETTLEMENT_LINE_MALFORMED"),
    (("20261130235958", "20261202000000"), "SETTLEMENT_WRONG_DATE"),
    (("TRAILER;2;162850000", "TRAILER;2;1628500"), "SETTLEMENT_TRAILER_MISMATCH"),  # the sum is in x100 units
])
def test_vnpay_file_refusals(change, code):
    assert refusal(VNPAY.replace(*change, 1), "MB").code == code


def test_a_paid_at_within_the_grace_after_midnight_is_accepted():
    text = CANONICAL.replace("2026-11-30T10:01:02+07:00", "2026-12-01T00:00:30+07:00")
    assert read(text)[0].line_count == 2


def test_empty_non_utf8_too_large_and_wrong_name():
    assert refusal("").code == "SETTLEMENT_EMPTY"
    bad_byte = refusal(CANONICAL.encode("utf-8").replace(b"PAYH3501B", b"PAY\xff3501B"))
    assert (bad_byte.code, bad_byte.line_no) == ("SETTLEMENT_ENCODING", 3)
    assert refusal(CANONICAL, max_bytes=100).code == "SETTLEMENT_TOO_LARGE"
    error = refusal(CANONICAL, file_name="VCB_20261129.csv")
    assert error.code == "SETTLEMENT_WRONG_FILE" and "30/11/2026" in error.message


def test_writer_round_trip_both_formats():
    lines = [SettlementLine(0, DAY, bank, f"FT{i}", f"PAY{i}", 1_000 * i, "VND",
                            datetime(2026, 11, 30, 10, 0, i, tzinfo=VN), "SUCCESS")
             for bank in ("VCB",) for i in range(1, 4)]
    for bank in ("VCB", "MB"):
        fmt = format_for_bank(bank)
        out = io.StringIO(newline="")
        staged = [line.__class__(**{**line.__dict__, "bank_code": bank}) for line in lines]
        assert write_settlement(staged, fmt, out) == (3, 6_000 * fmt.amount_unit)
        summary, read_back = read(out.getvalue(), bank, file_name=settlement_file_name(bank, DAY, fmt))
        assert summary.total_vnd == 6_000
        assert [(row.payment_id, row.amount_vnd, row.paid_at) for row in read_back] == [
            (row.payment_id, row.amount_vnd, row.paid_at) for row in staged]
