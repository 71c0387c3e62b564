"""The VNPay-style bank's settlement file (semicolon-separated, the IPN's field names and units), row by row.

``vnp_TxnRef;vnp_TransactionNo;vnp_Amount;vnp_PayDate;vnp_BankCode;vnp_TransactionStatus``: our payment id, the
gateway's transaction number, đồng x 100, ``yyyyMMddHHmmss`` in GMT+7, a bank code, a status code (mapped through
the format's ``status_codes`` data). The file has no date or collecting-bank column: both come from the file being
asked for (and its name is checked).
"""
from __future__ import annotations

from typing import Mapping, Sequence

from chalicelib.payments.adapters.vnpay import format_vnp_date, parse_vnp_date
from chalicelib.reconciliation.domain.settlement import (
    LineContext,
    LineError,
    SettlementLine,
    parse_amount,
    require_text,
)


def line_mapper(status_codes: Mapping[str, str], check_bank_code: bool):
    """The (to_line, from_line) pair for this format's data."""
    status_of_code = dict(status_codes)
    code_of_status = {status: code for code, status in status_of_code.items()}

    def to_line(row: Sequence[str], ctx: LineContext) -> SettlementLine:
        txn_ref, txn_no, amount, pay_date, bank_code, status_code = row
        status = status_of_code.get(status_code)
        if status is None:
            raise LineError(f"Mã trạng thái giao dịch (vnp_TransactionStatus) {status_code!r} không được hỗ trợ.")
        require_text(bank_code, "Mã ngân hàng (vnp_BankCode)")
        try:
            paid_at = parse_vnp_date(pay_date)
        except ValueError:
            raise LineError("Thời điểm thanh toán (vnp_PayDate) phải có dạng yyyyMMddHHmmss.") from None
        return SettlementLine(
            line_no=ctx.line_no, settlement_date=ctx.settlement_date,
            bank_code=bank_code if check_bank_code else ctx.bank_code,
            bank_txn_ref=require_text(txn_no, "Mã giao dịch (vnp_TransactionNo)"),
            payment_id=require_text(txn_ref, "Mã thanh toán (vnp_TxnRef)"),
            amount_vnd=parse_amount(amount, 100, "Số tiền (vnp_Amount)"), currency="VND", paid_at=paid_at,
            status=status,
        )

    def from_line(line: SettlementLine) -> list[str]:
        return [line.payment_id, line.bank_txn_ref, str(line.amount_vnd * 100), format_vnp_date(line.paid_at),
                line.bank_code, code_of_status[line.status]]

    return to_line, from_line
