"""The integration self-test's side of payments: a clearly marked test dossier, its payment through the test bank
and its receipt from the test series. No route reaches these: the self-test job calls them.

The rules that protect real money hold here too, and more: a test dossier is marked ``test`` and takes no SMS and no
forwarding intent (the self-test delivers its notice itself, marked ``"test": true``); a citizen's payment route
refuses it (TEST_DOSSIER_NOT_PAYABLE); only the test bank pays it, and the test bank pays nothing else
(bank_results checks both ways); its receipt draws from the test counter and series, never the real numbering.
"""
from __future__ import annotations

import secrets

from chalicelib.core import banks
from chalicelib.core.clock import epoch
from chalicelib.core.errors import conflict
from chalicelib.core.parsing import parse
from chalicelib.payments.domain.notices import Dossier, NoticeBatchIn, merge_batch
from chalicelib.payments.domain.payments import Payment
from chalicelib.payments.ports import PaymentsContext
from chalicelib.payments.services.bank_results import BankResult, apply_bank_result
from chalicelib.payments.services.intake import resolve_commune
from chalicelib.payments.services.lookup import find_dossier
from chalicelib.payments.services.payment_requests import land_order, new_payment
from chalicelib.receipts.domain import Receipt


def create_test_dossier(svc: PaymentsContext, body: dict) -> Dossier:
    """Store a new test dossier from a notice-intake body (the same validation and commune mapping as intake)."""
    batch = parse(NoticeBatchIn, body)
    commune = resolve_commune(svc, batch)
    now = svc.clock.now()
    dossier, _, _ = merge_batch(None, batch, svc.hasher.hash_id(batch.id_number), epoch(now), now.isoformat(),
                                commune, test=True)
    svc.dossiers.save(dossier, None, ())  # no intents: no SMS to anyone, nothing queued to the province
    return dossier


def start_test_payment(svc: PaymentsContext, dossier_code: str, id_number: str, notice_number: str) -> Payment:
    """A payment of the test dossier's notice at the test bank (found as a citizen finds it: code + ID number)."""
    dossier = find_dossier(svc, dossier_code, id_number)
    if not dossier.test:
        raise conflict("NOT_A_TEST_DOSSIER", "Ngân hàng kiểm thử chỉ nhận thanh toán của hồ sơ kiểm thử.")
    notice = dossier.notices[notice_number]
    now = svc.clock.now()
    payment = new_payment(svc, land_order(svc, dossier, notice, id_number), banks.test_bank().code, now, test=True)
    svc.ledger.create_payment(payment, None, epoch(now))
    return payment


def settle_test_payment(svc: PaymentsContext, payment: Payment) -> tuple[Payment, Receipt]:
    """The test bank reports success: the payment is PAID and its receipt issued from the test series."""
    apply_bank_result(svc, BankResult(bank_code=banks.test_bank().code, payment_id=payment.payment_id,
                                      bank_txn_ref=f"KT{secrets.token_hex(6).upper()}", amount_vnd=payment.amount_vnd,
                                      currency=payment.currency, success=True,
                                      paid_at=svc.clock.now().isoformat()))
    paid = svc.ledger.get_payment(payment.payment_id)
    receipt = svc.ledger.get_receipt(paid.receipt_id) if paid and paid.receipt_id else None
    if paid is None or receipt is None or not receipt.test:
        raise RuntimeError("the test payment did not issue a test receipt")
    return paid, receipt
