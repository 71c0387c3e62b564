"""M4 + M5: apply a bank's payment result, once, whatever the duplicates, concurrency and ordering.

Both bank adapters (signed JSON callbacks, VNPay-style IPN) translate into `BankResult` and call `apply_bank_result`;
so do the bank's answers to a status query (reconciliation), recorded with origin `status_query`.
Hot path: one batch read (payment + receipt counter) and one transaction (payment PAID, notice paid, receipt,
counter), then one queue send. A success never marks anything paid unless the amount and currency match.
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from enum import Enum

from chalicelib.core import banks
from chalicelib.core.clock import epoch
from chalicelib.core.errors import AppError, conflict, not_found
from chalicelib.outbox import domain as outbox
from chalicelib.payments.domain.payments import (
    Payment,
    PaymentState,
    check_transition,
    is_payment_id,
    province_of_payment,
)
from chalicelib.payments.ports import ConcurrentUpdateError, NoticeAlreadyPaidError, PaymentsContext
from chalicelib.receipts import units as agencies
from chalicelib.receipts.domain import build_receipt

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 25  # optimistic retries under contention (20 concurrent duplicates settle well within this)


@dataclass(frozen=True)
class BankResult:
    """A bank's word about one payment. ``origin``: how we heard it, kept in the payment's history ("callback",
    "status_query", "reconciliation").
    ``gateway_protocol``: set by a gateway that serves several banks (the VNPay-style IPN names the payer's bank,
    not the gateway); the payment's own bank must then speak that protocol, and ``bank_code`` is not compared."""

    bank_code: str
    payment_id: str
    bank_txn_ref: str
    amount_vnd: int
    currency: str
    success: bool
    paid_at: str | None = None
    origin: str = "callback"
    gateway_protocol: str | None = None


class Outcome(str, Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"


def _refuse(svc: PaymentsContext, kind: str, result: BankResult, error: AppError, **details) -> AppError:
    info = {
        "bank_code": result.bank_code or result.gateway_protocol,
        "payment_id": result.payment_id,
        "bank_txn_ref": result.bank_txn_ref,
        "amount_vnd": result.amount_vnd,
        "currency": result.currency,
        "status": "SUCCESS" if result.success else "FAILED",
        "origin": result.origin,
        **details,
    }
    svc.ledger.record_anomaly(kind, result.payment_id, info,
                              [outbox.ops_alert(kind, f"Kết quả thanh toán bị từ chối: {kind}", info)])
    svc.count("CallbacksRefused")
    return error


def apply_bank_result(svc: PaymentsContext, result: BankResult) -> Outcome:
    if not is_payment_id(result.payment_id):
        raise _refuse(svc, "UNKNOWN_PAYMENT", result, _payment_not_found())
    unit_letter = province_of_payment(result.payment_id)
    for attempt in range(MAX_ATTEMPTS):
        now = svc.clock.now()
        payment, counter = svc.ledger.get_payment_and_counter(
            result.payment_id, f"000.00.00.{unit_letter}", now.year
        )
        if payment is None:
            raise _refuse(svc, "UNKNOWN_PAYMENT", result, _payment_not_found())
        _check_match(svc, payment, result)
        try:
            return _apply(svc, payment, counter, result, now)
        except ConcurrentUpdateError:
            time.sleep(random.uniform(0, 0.004 * (attempt + 1)))  # jitter: contention is a handful of callbacks
    raise AppError("CONCURRENT_UPDATE", "Giao dịch đang được xử lý đồng thời, vui lòng gửi lại.", 409, "Xung đột")


def _payment_not_found() -> AppError:
    return not_found("PAYMENT_NOT_FOUND", "Không tìm thấy giao dịch thanh toán.")


def _check_match(svc: PaymentsContext, payment: Payment, result: BankResult) -> None:
    if result.gateway_protocol is not None:
        same_bank = banks.get_bank(payment.bank_code).protocol == result.gateway_protocol
    else:
        same_bank = result.bank_code == payment.bank_code
    if not same_bank:
        raise _refuse(
            svc, "BANK_MISMATCH", result,
            AppError("BANK_MISMATCH", "Ngân hàng gửi kết quả không phải ngân hàng của giao dịch.", 422,
                     "Dữ liệu không khớp"),
            expected_bank=payment.bank_code,
        )
    if result.amount_vnd != payment.amount_vnd or result.currency != payment.currency:
        raise _refuse(
            svc, "AMOUNT_MISMATCH", result,
            AppError("AMOUNT_MISMATCH", "Số tiền hoặc loại tiền không khớp với giao dịch thanh toán.", 422,
                     "Dữ liệu không khớp"),
            expected_amount_vnd=payment.amount_vnd,
        )


def _apply(svc: PaymentsContext, payment: Payment, counter: int, result: BankResult, now) -> Outcome:
    state = payment.effective_state(epoch(now))
    if payment.state == PaymentState.PAID:
        if result.success:
            return _success_for_paid(svc, payment, result, now)
        raise conflict("PAYMENT_ALREADY_FINAL", "Giao dịch đã có kết quả cuối cùng, không thể thay đổi.",
                       state=payment.state.value)
    if payment.state == PaymentState.FAILED:
        if not result.success:
            return Outcome.DUPLICATE
        raise conflict("PAYMENT_ALREADY_FINAL", "Giao dịch đã có kết quả cuối cùng, không thể thay đổi.",
                       state=payment.state.value)
    if not result.success:
        if state in (PaymentState.EXPIRED, PaymentState.CANCELLED):
            return Outcome.DUPLICATE  # already over on our side; the bank confirms no money moved
        failed = _moved(payment, PaymentState.FAILED, now, result.origin, failure_reason="BANK_REPORTED_FAILURE",
                        bank_txn_ref=result.bank_txn_ref or None)
        svc.ledger.record_failed(failed, payment)
        svc.count("PaymentsFailed")
        return Outcome.APPLIED
    return _apply_success(svc, payment, counter, result, now)


def _moved(payment: Payment, target: PaymentState, now, origin: str = "callback", **changes) -> Payment:
    check_transition(payment.state, target)
    return payment.model_copy(
        update={
            "state": target,
            "history": [*payment.history, {"state": target.value, "at": now.isoformat(), "origin": origin}],
            "rev": payment.rev + 1,
            **changes,
        }
    )


def _apply_success(svc: PaymentsContext, payment: Payment, counter: int, result: BankResult, now) -> Outcome:
    paid_at = result.paid_at or now.isoformat()
    receipt = build_receipt(
        payment=payment,
        sequence=counter + 1,
        template_symbol=svc.settings.receipt_template_symbol,
        series_pattern=svc.settings.receipt_series_pattern,
        collecting_unit_name=agencies.collecting_unit_name(payment.collecting_unit),
        bank_name=banks.get_bank(payment.bank_code).name_vi,
        bank_txn_ref=result.bank_txn_ref,
        paid_at=paid_at,
        issued_at=now,
    )
    paid = _moved(payment, PaymentState.PAID, now, result.origin, receipt_id=receipt.receipt_id,
                  bank_txn_ref=result.bank_txn_ref, paid_at=paid_at)
    try:
        # The receipt goes to the province with the payment: its forwarding intent is part of this transaction.
        svc.ledger.record_paid(paid, payment, receipt, counter, now.year,
                               [outbox.forward_receipt(receipt.model_dump())])
    except NoticeAlreadyPaidError:
        double = _moved(payment, PaymentState.PAID, now, result.origin, bank_txn_ref=result.bank_txn_ref,
                        paid_at=paid_at, refund_required=True)
        svc.ledger.record_double_payment(double, payment, [_double_payment_alert(payment, result)])
        svc.count("DoublePayments")
        return Outcome.APPLIED
    svc.count("PaymentsPaid")
    return Outcome.APPLIED


def _success_for_paid(svc: PaymentsContext, payment: Payment, result: BankResult, now) -> Outcome:
    """A success for a payment already PAID: a repeat of the same bank transaction is a duplicate; another bank
    transaction is the bank taking the money twice - recorded, marked for refund and alerted, never forgotten."""
    if result.bank_txn_ref in (payment.bank_txn_ref, *payment.extra_bank_txn_refs):
        return Outcome.DUPLICATE
    again = payment.model_copy(update={
        "refund_required": True, "extra_bank_txn_refs": [*payment.extra_bank_txn_refs, result.bank_txn_ref],
        "history": [*payment.history, {"state": "PAID", "at": now.isoformat(), "origin": result.origin,
                                       "second_bank_txn_ref": result.bank_txn_ref}], "rev": payment.rev + 1})
    svc.ledger.record_double_payment(again, payment, [_double_payment_alert(payment, result)])
    svc.count("DoublePayments")
    return Outcome.APPLIED


def _double_payment_alert(payment: Payment, result: BankResult):
    info = {"payment_id": payment.payment_id, "dossier_code": payment.dossier_code,
            "notice_number": payment.notice_number, "amount_vnd": payment.amount_vnd,
            "bank_code": payment.bank_code, "bank_txn_ref": result.bank_txn_ref}
    return outbox.ops_alert("DOUBLE_PAYMENT", "Thanh toán trùng: cần hoàn tiền cho người nộp", info)
