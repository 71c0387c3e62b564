"""A receipt is read with its payment's access secret or by the signed-in citizen who paid; anyone else, including
someone holding a wrong secret or the receipt id from a log, gets what an unknown receipt gets."""
from __future__ import annotations

import pytest

from chalicelib.core.errors import AppError
from chalicelib.payments.services.bank_results import BankResult, apply_bank_result
from chalicelib.payments.services.intake import ingest_notices
from chalicelib.payments.services.payment_requests import initiate_payment
from chalicelib.receipts.domain import receipt_id_for
from chalicelib.receipts.services import receipt_pdf, receipt_view
from tests.fakes import AMOUNT, WRONG_SECRET, make_services, payment_body, sample_batch, secret

CITIZEN_A, CITIZEN_B = "citizen-a", "citizen-b"


def paid(citizen: str | None = None):
    svc = make_services(receipt_pdf=lambda doc: b"%PDF-1.4 " + doc["receipt_id"].encode())
    ingest_notices(svc, sample_batch())
    _, answer = initiate_payment(svc, payment_body(), None, citizen)
    pid = answer["payment_id"]
    apply_bank_result(svc, BankResult("BIDV", pid, "FT1", AMOUNT, "VND", True))
    return svc, pid, receipt_id_for(pid)


def refused(fn, *args) -> AppError:
    with pytest.raises(AppError) as exc:
        fn(*args)
    return exc.value


def test_the_payments_secret_opens_its_receipt_and_pdf():
    svc, pid, rid = paid()
    assert receipt_view(svc, rid, secret(svc, pid))["receipt_id"] == rid
    assert receipt_pdf(svc, rid, secret(svc, pid))[0].startswith(b"%PDF")


def test_no_secret_is_a_401_and_a_wrong_one_or_another_payments_is_not_found():
    svc, pid, rid = paid()
    assert (refused(receipt_view, svc, rid).status, refused(receipt_view, svc, rid).code) == (
        401, "CLIENT_SECRET_REQUIRED")
    assert refused(receipt_view, svc, rid, WRONG_SECRET).code == "RECEIPT_NOT_FOUND"
    assert refused(receipt_pdf, svc, rid, secret(svc, "PAYH3501HZX4Y9Q2M7K8V3T6R5W0N1PQ")).code == "RECEIPT_NOT_FOUND"


def test_the_citizen_who_paid_reads_it_signed_in_and_no_other_citizen_does():
    svc, _, rid = paid(CITIZEN_A)
    assert receipt_view(svc, rid, None, CITIZEN_A)["receipt_id"] == rid
    assert refused(receipt_view, svc, rid, None, CITIZEN_B).code == "RECEIPT_NOT_FOUND"
