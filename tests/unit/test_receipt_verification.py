"""The public verification of a receipt (by the QR code's series, number and secret; by the document), with nothing
personal in its answer, tampering refused; and corrections: a new receipt referencing the old, never an edit."""
from __future__ import annotations

import base64
import json

import pytest

from chalicelib.core.errors import AppError
from chalicelib.receipts.services.corrections import correct_receipt
from chalicelib.receipts.services.verification import verify_by_code, verify_document
from tests.fakes import ID_NUMBER, PAYER_PHONE
from tests.unit.test_receipt_issuance import pay, receipt_of, services

PAYER_NAME = "Nguyễn Thị Trang"


@pytest.fixture
def issued():
    svc = services()
    return svc, receipt_of(svc, pay(svc))


def code(receipt, **changes):
    query = {"kh": receipt.series, "so": receipt.receipt_number, "ma": receipt.verification_secret}
    return {**query, **changes}


def refused(call, *args) -> AppError:
    with pytest.raises(AppError) as exc:
        call(*args)
    return exc.value


def test_the_code_on_the_receipt_says_it_is_genuine_with_its_amount_and_issuer(issued):
    svc, receipt = issued
    answer = verify_by_code(svc, code(receipt))
    assert answer["genuine"] is True and answer["status"] == "valid"
    assert (answer["series"], answer["receipt_number"], answer["amount_vnd"]) == (
        receipt.series, receipt.receipt_number, receipt.amount_vnd)
    assert answer["collecting_unit_name"] == receipt.collecting_unit_name
    assert answer["signed_by"] == "Thuế tỉnh Quảng Ninh"
    assert verify_by_code(svc, code(receipt, so=str(int(receipt.receipt_number))))["genuine"]  # typed without zeros


def test_the_answer_holds_nothing_personal(issued):
    svc, receipt = issued
    text = json.dumps(verify_by_code(svc, code(receipt)), ensure_ascii=False)
    for personal in (ID_NUMBER, PAYER_PHONE, "+84912345678", PAYER_NAME, "8012345677", "Trần Phú",
                     receipt.bank_txn_ref, receipt.payment_id, receipt.reference_number):
        assert personal not in text


def test_a_wrong_secret_is_an_unknown_receipt(issued):
    svc, receipt = issued
    wrong = "Z" * 10 if receipt.verification_secret != "Z" * 10 else "Y" * 10
    assert refused(verify_by_code, svc, code(receipt, ma=wrong)).code == "RECEIPT_NOT_FOUND"
    assert refused(verify_by_code, svc, code(receipt, so="99")).code == "RECEIPT_NOT_FOUND"


def test_a_receipt_whose_stored_data_was_changed_is_refused(issued):
    svc, receipt = issued
    svc.receipts.tamper(receipt.receipt_id, amount_vnd=receipt.amount_vnd + 1)
    error = refused(verify_by_code, svc, code(receipt))
    assert (error.code, error.extra["reason"]) == ("RECEIPT_NOT_GENUINE", "DATA_MISMATCH")


def test_a_tampered_signed_xml_is_refused_and_the_genuine_one_accepted(issued):
    svc, receipt = issued
    xml = svc.receipts.get_signed_xml(receipt.receipt_id)
    assert verify_document(svc, {"signed_xml": xml.decode()})["genuine"] is True
    tampered = xml.replace(f"<TgTTBSo>{receipt.amount_vnd}<".encode(), f"<TgTTBSo>{receipt.amount_vnd * 10}<".encode())
    assert tampered != xml
    error = refused(verify_document, svc, {"signed_xml": tampered.decode()})
    assert (error.code, error.extra["reason"]) == ("RECEIPT_NOT_GENUINE", "DIGEST_MISMATCH")


def test_a_document_signed_by_another_key_or_never_issued_here_is_refused(issued):
    from chalicelib.receipts.adapters.keys import receipt_xml_fields
    from tests import fakes_receipts as fr
    from tests.unit import receipt_fixtures as fx

    svc, receipt = issued
    foreign = fr.signing_keys({**fx.stranger()}).sign_xml(receipt)
    assert refused(verify_document, svc, {"signed_xml": foreign.decode()}).extra["reason"] == "CERTIFICATE_UNTRUSTED"
    never = svc.receipt_signing.sign_xml(receipt.model_copy(update={"receipt_id": "RCPH35" + "0" * 26}))
    assert refused(verify_document, svc, {"signed_xml": never.decode()}).extra["reason"] == "UNKNOWN_RECEIPT"
    assert receipt_xml_fields(receipt)["amount_vnd"] == receipt.amount_vnd


def test_the_pdf_verifies_and_a_byte_changed_after_signing_does_not(issued):
    svc, receipt = issued
    pdf = svc.receipt_documents.pdf(receipt)
    assert verify_document(svc, {"pdf_base64": base64.b64encode(pdf).decode()})["genuine"]
    changed = pdf + b"\n% appended after signing\n"
    assert refused(verify_document, svc, {"pdf_base64": base64.b64encode(changed).decode()}).code == \
        "RECEIPT_NOT_GENUINE"


def test_a_correction_is_a_new_receipt_referencing_the_old_which_stays_as_it_was(issued):
    svc, old = issued
    before = svc.receipts.get_receipt(old.receipt_id)
    before_xml = svc.receipts.get_signed_xml(old.receipt_id)
    new = correct_receipt(svc, "operator-1", old.receipt_id,
                          {"relation": "replacement", "note": "Sai địa chỉ người nộp", "payer_address": "Số 14"})
    assert new["receipt_id"] != old.receipt_id and int(new["receipt_number"]) == int(old.receipt_number) + 1
    assert new["related_receipt"]["receipt_number"] == old.receipt_number and new["payer_address"] == "Số 14"
    assert svc.receipts.get_receipt(old.receipt_id) == before
    assert svc.receipts.get_signed_xml(old.receipt_id) == before_xml
    answer = verify_by_code(svc, code(old))
    assert answer["status"] == "corrected" and answer["corrected_by"]["receipt_number"] == new["receipt_number"]
    signed = svc.receipt_signing.verify_xml(svc.receipts.get_signed_xml(new["receipt_id"])).receipt
    assert signed["related_receipt"]["relation"] == "replacement"
    assert refused(correct_receipt, svc, "operator-1", old.receipt_id,
                   {"relation": "cancellation", "note": "Hủy lần hai"}).code == "RECEIPT_ALREADY_CORRECTED"


def test_only_a_replacement_may_change_the_payers_details(issued):
    svc, old = issued
    error = refused(correct_receipt, svc, "op", old.receipt_id,
                    {"relation": "adjustment", "note": "Điều chỉnh", "payer_name": "Người khác"})
    assert error.code == "CORRECTION_CHANGES_NOT_ALLOWED"
