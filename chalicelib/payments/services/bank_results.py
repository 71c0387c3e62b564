"""M4 + M5: apply a bank's payment result, once, whatever the duplicates, concurrency and ordering.

Both bank adapters (signed JSON callbacks, VNPay-style IPN) translate into `BankResult` and call `apply_bank_result`.
So do the bank's answers to a status query (origin ``status_query``) and a settlement file's (``reconciliation``),
kept in the payment's history. Hot path: one batch read (payment + receipt counter), the receipt's XML signed in
memory (~2 ms), and one transaction (payment PAID, notice or tax-debt claim paid, receipt with its signed XML,
counter, verification key, summary row, intents, and the report tally unless it is a test payment). The PDF is not made here: it is rendered and PAdES-signed on first need (download or the
province's attachment) and kept. A success never marks anything paid unless the amount, currency and reference
number match.
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from enum import Enum

from chalicelib.core import banks, tallies
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
from chalicelib.receipts.domain import Issue, build_receipt, slot_for
from chalicelib.receipts.ports import SigningUnavailableError
from chalicelib.receipts.qr import new_verification_secret
from chalicelib.receipts.units import UnknownCollectingUnitError, collecting_unit

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
    reference_number: str | None = None  # echoed by the bank when its protocol carries it: must be the payment's


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
    try:
        unit = collecting_unit(f"000.00.00.{province_of_payment(result.payment_id)}")
    except UnknownCollectingUnitError:
        raise _refuse(svc, "UNKNOWN_PAYMENT", result, _payment_not_found()) from None
    for attempt in range(MAX_ATTEMPTS):
        now = svc.clock.now()
        # Only the test bank ever pays a test payment (and only test payments): its receipts draw from the test series.
        slot = slot_for(svc.settings.receipt_rules, unit, now, test=banks.is_test_bank(result.bank_code))
        payment, counter = svc.ledger.get_payment_and_counter(result.payment_id, slot.counter_key)
        if payment is None:
            raise _refuse(svc, "UNKNOWN_PAYMENT", result, _payment_not_found())
        _check_match(svc, payment, result)
        try:
            return _apply(svc, payment, (slot, counter), result, now)
        except ConcurrentUpdateError:
            time.sleep(random.uniform(0, 0.004 * (attempt + 1)))  # jitter: contention is a handful of callbacks
    raise AppError("CONCURRENT_UPDATE", "Giao dịch đang được xử lý đồng thời, vui lòng gửi lại.", 409, "Xung đột")


def _payment_not_found() -> AppError:
    return not_found("PAYMENT_NOT_FOUND", "Không tìm thấy giao dịch thanh toán.")


def _check_match(svc: PaymentsContext, payment: Payment, result: BankResult) -> None:
    if payment.test != banks.is_test_bank(result.bank_code):
        same_bank = False  # a test payment is paid by the test bank alone, and the test bank pays nothing else
    elif result.gateway_protocol is not None:  # the IPN's bank is the payment's own, whatever vnp_BankCode says
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
    if result.reference_number and result.reference_number != payment.reference_number:
        raise _refuse(
            svc, "REFERENCE_MISMATCH", result,
            AppError("REFERENCE_MISMATCH", "Số tham chiếu không khớp với giao dịch thanh toán.", 422,
                     "Dữ liệu không khớp"),
            expected_reference_number=payment.reference_number,
        )


def _apply(svc: PaymentsContext, payment: Payment, counter: tuple, result: BankResult, now) -> Outcome:
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


def _apply_success(svc: PaymentsContext, payment: Payment, counter: tuple, result: BankResult, now) -> Outcome:
    slot, counter_was = counter
    paid_at = result.paid_at or now.isoformat()
    receipt = build_receipt(payment=payment, slot=slot, sequence=counter_was + 1,
                            bank_name=banks.bank_name(payment.bank_code), bank_txn_ref=result.bank_txn_ref,
                            paid_at=paid_at, issued_at=now,
                            verification_secret=new_verification_secret() if slot.modern else None)
    signed_xml = _signed(svc, receipt) if slot.modern else None
    if signed_xml is not None:
        receipt = receipt.model_copy(update={"signed": True})
    issue = Issue(receipt, slot.counter_key, counter_was, signed_xml)
    # The payer's sealed ID number leaves with the province's intent and is not kept on the paid payment.
    paid = _moved(payment, PaymentState.PAID, now, result.origin, receipt_id=receipt.receipt_id,
                  bank_txn_ref=result.bank_txn_ref, paid_at=paid_at, payer_id_sealed=None)
    try:
        svc.ledger.record_paid(paid, payment, issue, paid_intents(svc, payment, receipt),
                               reminders_of=(payment.dossier_code, payment.notice_number) if payment.dossier_code
                               else None, tallies=_collected(paid))
    except NoticeAlreadyPaidError:
        double = _moved(payment, PaymentState.PAID, now, result.origin, bank_txn_ref=result.bank_txn_ref,
                        paid_at=paid_at, refund_required=True)
        svc.ledger.record_double_payment(double, payment, [_double_payment_alert(payment, result)],
                                         _collected(double))
        svc.count("DoublePayments")
        return Outcome.APPLIED
    svc.count("PaymentsPaid")
    return Outcome.APPLIED


def _signed(svc: PaymentsContext, receipt) -> bytes:
    """The collecting organisation signs the receipt as it is issued (~2 ms): the legal record is complete in the
    paying transaction. Without the key nothing is written and the bank is told to retry (its protocol does)."""
    try:
        return svc.receipt_signing.sign_xml(receipt)
    except SigningUnavailableError:
        log.error("receipt signing key unavailable")
        svc.count("ReceiptSigningUnavailable")
        raise AppError("RECEIPT_SIGNING_UNAVAILABLE", "Tạm thời chưa ký được biên lai điện tử, vui lòng gửi lại kết "
                       "quả sau ít phút.", 503, "Dịch vụ tạm thời gián đoạn") from None


def paid_intents(svc: PaymentsContext, payment: Payment, receipt) -> list:
    """Written with PAID: the receipt to the province (land; with the payer's ID still sealed), what the order asked
    for (taxes: tell the tax authority), and the payer's SMS with the receipt's verification link (opt-out honoured
    when it is sent). A self-test payment writes none: the self-test delivers its receipt itself, marked "test", and
    records the province's answers."""
    if payment.test:
        return []
    intents = []
    if payment.kind == "land":
        intents.append(outbox.forward_receipt(receipt.model_dump(), payer_id_sealed=payment.payer_id_sealed))
    facts = {"payment_id": payment.payment_id, "reference_number": payment.reference_number,
             "receipt_id": receipt.receipt_id, "receipt_series": receipt.series,
             "receipt_number": receipt.receipt_number, "paid_at": receipt.paid_at, "bank_code": payment.bank_code,
             "bank_txn_ref": receipt.bank_txn_ref}
    intents += [outbox.Intent(i["kind"], {**i["payload"], "payment": facts}, ref=i.get("ref", ""))
                for i in payment.on_paid]
    if payment.notify_phone_sealed and receipt.verification_secret:
        from chalicelib.core.money import format_vnd
        from chalicelib.receipts.qr import verification_url
        from chalicelib.reminders.domain import paid_text

        url = verification_url(svc.settings.receipt_verify_url, receipt.series, receipt.receipt_number,
                               receipt.verification_secret)
        phone = svc.sealer.open(payment.notify_phone_sealed).decode()
        intents.append(outbox.sms(phone, paid_text(format_vnd(receipt.amount_vnd), url), ref=receipt.receipt_id,
                                  optional=True))
    return intents


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


def _collected(payment: Payment) -> list[tallies.Tally]:
    """The report tally of a payment that just became PAID (money collected); none for a test payment. A second
    bank transaction of a payment already PAID is not a collection (it is to be refunded)."""
    if payment.test:
        return []
    items = [(str(i.get("sub_item_code", "")), int(i.get("amount_vnd", 0))) for i in payment.items]
    try:
        return [tallies.paid(payment.collecting_unit, payment.bank_code, items, payment.amount_vnd,
                             payment.paid_at or payment.created_at)]
    except ValueError:  # InvalidValueError included: the money is recorded whatever the report can make of it
        log.error("payment not tallied for reports", extra={"payment_id": payment.payment_id})
        return []


def _double_payment_alert(payment: Payment, result: BankResult):
    info = {"payment_id": payment.payment_id, "dossier_code": payment.dossier_code,
            "notice_number": payment.notice_number, "amount_vnd": payment.amount_vnd,
            "bank_code": payment.bank_code, "bank_txn_ref": result.bank_txn_ref}
    return outbox.ops_alert("DOUBLE_PAYMENT", "Thanh toán trùng: cần hoàn tiền cho người nộp", info)
