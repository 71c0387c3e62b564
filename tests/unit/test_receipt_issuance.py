"""Receipts under Decree 254/2026 as the paying transaction issues them: symbols and numbering per unit, the signed XML
(checked by xmlsec1 and signxml, not by the code that signed it), the PAdES PDF with its QR code, the payment
identifiers on the receipt, and the replaced rules kept for receipts issued before the switch date."""
from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import replace
from datetime import date, datetime

import pytest

from chalicelib.core.clock import VN_TZ, FixedClock
from chalicelib.core.errors import AppError
from chalicelib.payments.services.bank_results import BankResult, apply_bank_result
from chalicelib.payments.services.intake import ingest_notices
from chalicelib.payments.services.payment_requests import initiate_payment
from chalicelib.receipts.domain import ReceiptRules
from chalicelib.receipts.ports import SigningUnavailableError
from chalicelib.receipts.signing import verify_receipt_xml
from chalicelib.receipts.units import all_units, collecting_unit
from tests import fakes_receipts as fr
from tests.fakes import AMOUNT, NOTICE_NUMBER, make_services, payment_body, sample_batch, sample_notice, secret
from tests.unit import receipt_fixtures as fx

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=VN_TZ)
UNIT = "000.00.00.H35"
SECOND = "TB-2021-000124"


def services(clock=None, **overrides):
    svc = make_services(clock=clock or FixedClock(NOW), **overrides)
    notices = [sample_notice(payer_tax_code="8012345677", payer_address="Số 12 Trần Phú, Hà Đông",
                             tax_payment_id="7012026000123"),
               sample_notice(SECOND, amount=2_450_000)]
    ingest_notices(svc, sample_batch(*notices))
    return svc


def pay(svc, notice=NOTICE_NUMBER, amount=AMOUNT, **extra) -> str:
    status, answer = initiate_payment(svc, payment_body(notice), None, None)
    assert status == 201
    pid = answer["payment_id"]
    apply_bank_result(svc, BankResult("BIDV", pid, f"FT{pid[-8:]}", amount, "VND", True, NOW.isoformat(), **extra))
    return pid


def receipt_of(svc, pid):
    return svc.ledger.get_receipt(svc.ledger.get_payment(pid).receipt_id)


def test_receipts_take_the_new_symbols_the_units_series_and_eight_digit_numbers_in_order():
    svc = services()
    first, second = pay(svc), pay(svc, SECOND, 2_450_000)
    letters = collecting_unit(UNIT).series_letters
    receipts = [receipt_of(svc, p) for p in (first, second)]
    assert [(r.template_symbol, r.series, r.receipt_number) for r in receipts] == [
        ("EBL01", f"26T{letters}", "00000001"), ("EBL01", f"26T{letters}", "00000002")]
    unit = collecting_unit(UNIT)
    assert {(r.collecting_unit_name, r.collecting_unit_tax_code) for r in receipts} == {(unit.name, unit.tax_code)}
    assert "đơn vị" not in unit.name  # a name from the data, not the old placeholder


def test_receipts_issued_before_the_switch_date_keep_the_replaced_symbols():
    svc = services(clock=FixedClock(datetime(2026, 6, 30, 23, 59, tzinfo=VN_TZ)))
    old = receipt_of(svc, pay(svc))
    svc.clock.advance(minutes=2)  # 1 July 2026 in Vietnam: the new rules
    new = receipt_of(svc, pay(svc, SECOND, 2_450_000))
    assert (old.template_symbol, old.series, old.receipt_number, old.signed) == ("01BLP0-001", "BI-26T", "0000001",
                                                                                 False)
    assert (new.template_symbol, new.receipt_number, new.signed) == ("EBL01", "00000001", True)
    assert svc.ledger.get_receipt(old.receipt_id) == old  # the old one is never renumbered


def test_the_switch_date_is_configuration():
    later = replace(make_services().settings, receipt_rules=ReceiptRules(switch_date=date(2027, 1, 1)))
    svc = services(settings=later)
    assert receipt_of(svc, pay(svc)).template_symbol == "01BLP0-001"


def test_the_receipt_carries_the_payers_tax_code_address_and_both_payment_identifiers():
    svc = services()
    pid = pay(svc)
    payment, receipt = svc.ledger.get_payment(pid), receipt_of(svc, pid)
    assert payment.reference_number.startswith("DVC261202") and len(payment.reference_number) == 18
    assert (receipt.reference_number, receipt.tax_payment_id) == (payment.reference_number, "7012026000123")
    assert (receipt.payer_tax_code, receipt.payer_address) == ("8012345677", "Số 12 Trần Phú, Hà Đông")
    signed = verify_receipt_xml(svc.receipts.get_signed_xml(receipt.receipt_id), fr.test_pki()["ca_cert_pem"]).receipt
    assert (signed["reference_number"], signed["tax_payment_id"], signed["payer_tax_code"]) == (
        payment.reference_number, "7012026000123", "8012345677")


def test_a_bank_result_quoting_another_reference_number_is_refused_and_nothing_is_paid():
    svc = services()
    status, answer = initiate_payment(svc, payment_body(), None, None)
    with pytest.raises(AppError) as refused:
        apply_bank_result(svc, BankResult("BIDV", answer["payment_id"], "FT1", AMOUNT, "VND", True,
                                          reference_number="DVC261202000000000"))
    assert refused.value.code == "REFERENCE_MISMATCH"
    assert svc.ledger.get_payment(answer["payment_id"]).state.value == "PENDING_BANK"
    assert svc.ledger.receipts == []


def test_reference_numbers_are_unique_in_the_portal():
    svc = services()
    a, b = pay(svc), pay(svc, SECOND, 2_450_000)
    refs = {svc.ledger.get_payment(p).reference_number for p in (a, b)}
    assert len(refs) == 2
    assert {svc.ledger.find_payment_by_reference(r) for r in refs} == {a, b}


def test_the_signed_xml_verifies_with_xmlsec1_and_a_changed_amount_does_not(tmp_path):
    if shutil.which("xmlsec1") is None:
        pytest.skip("xmlsec1 not installed")
    svc = services()
    receipt = receipt_of(svc, pay(svc))
    signed = svc.receipts.get_signed_xml(receipt.receipt_id)
    ca = fx.write(tmp_path, "ca.pem", fr.test_pki()["ca_cert_pem"])

    def xmlsec1(name: str, document: bytes) -> int:
        args = ["xmlsec1", "--verify", "--trusted-pem", ca, "--id-attr:Id", "DLBLai", "--id-attr:Id", "Object",
                "--verification-gmt-time", "2026-12-02 03:00:00", fx.write(tmp_path, name, document)]
        return subprocess.run(args, capture_output=True, timeout=60).returncode

    assert xmlsec1("ok.xml", signed) == 0
    assert xmlsec1("bad.xml", signed.replace(b"<TgTTBSo>1378500<", b"<TgTTBSo>1378501<")) != 0


def test_the_pdf_is_pades_signed_with_the_verification_qr_and_secret(tmp_path):
    from pypdf import PdfReader

    svc = services()
    receipt = receipt_of(svc, pay(svc))
    pdf = svc.receipt_documents.pdf(receipt)
    assert svc.receipt_signing.verify_pdf(pdf).trusted
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert receipt.verification_secret in text and receipt.reference_number in text and "Mã tra cứu" in text
    assert svc.receipt_documents.pdf(receipt) == pdf  # made once, then kept
    if shutil.which("pdfsig"):
        out = subprocess.run(["pdfsig", fx.write(tmp_path, "r.pdf", pdf)], capture_output=True, timeout=60)
        assert b"Signature is Valid." in out.stdout


def test_without_the_signing_key_the_bank_is_told_to_retry_and_nothing_is_written():
    class Down:
        signer_name = "x"

        def sign_xml(self, receipt):
            raise SigningUnavailableError("secret store down")

    svc = services(receipt_signing=Down())
    status, answer = initiate_payment(svc, payment_body(), None, None)
    with pytest.raises(AppError) as refused:
        apply_bank_result(svc, BankResult("BIDV", answer["payment_id"], "FT1", AMOUNT, "VND", True))
    assert (refused.value.code, refused.value.status) == ("RECEIPT_SIGNING_UNAVAILABLE", 503)
    assert svc.ledger.receipts == [] and svc.ledger.get_payment(answer["payment_id"]).state.value == "PENDING_BANK"


def test_the_province_gets_the_receipt_with_the_payer_id_sealed_and_the_paid_payment_keeps_no_copy():
    svc = services()
    pid = pay(svc)
    (sealed,) = svc.forwarding.sealed_ids
    assert svc.sealer.open(sealed) == b"035095001234"
    assert svc.ledger.get_payment(pid).payer_id_sealed is None
    assert "035095001234" not in svc.ledger.get_payment(pid).model_dump_json()


def test_the_payer_gets_an_sms_with_the_verification_link_and_the_access_secret_reads_it():
    from chalicelib.receipts.services import receipt_view

    svc = services()
    pid = pay(svc)
    receipt = receipt_of(svc, pid)
    phone, text = svc.sms.sent[-1]
    assert phone == "+84912345678" and receipt.verification_secret in text and f"kh={receipt.series}" in text
    view = receipt_view(svc, receipt.receipt_id, secret(svc, pid))
    assert view["verification_url"].endswith(f"ma={receipt.verification_secret}")


def test_every_unit_has_a_name_a_valid_tax_code_and_its_own_series_letters():
    from chalicelib.core.taxcode import validate_tax_code

    units = all_units()
    assert len(units) == 34
    assert len({u.series_letters for u in units}) == len(units)  # series + number identify a receipt nationwide
    from chalicelib.receipts.domain import ReceiptRules

    assert ReceiptRules().test_series_letters not in {u.series_letters for u in units}  # the self-test's own
    for unit in units:
        assert unit.name.startswith("Thuế ") and validate_tax_code(unit.tax_code, allow_personal_id=False)
    # A code closed by the mergers (H23, Hải Dương in the administrative-unit table): its successor's unit.
    assert collecting_unit("000.00.00.H23").code == "000.00.00.H24"
    assert collecting_unit("000.00.00.H23").name == "Thuế thành phố Hải Phòng"
    # Every current province of the one province table has its unit, under the same code.
    from chalicelib.core import admin_units

    assert {u.code for u in units} == {f"000.00.00.{p.agency_code}" for p in admin_units.provinces()}


def test_notices_of_a_province_without_a_collecting_unit_are_refused_at_intake():
    svc = make_services(clock=FixedClock(NOW))
    with pytest.raises(AppError) as refused:
        ingest_notices(svc, sample_batch(dossier_code="000.00.43.H99-210520-0001"))
    assert refused.value.status == 422 and "COLLECTING_UNIT_UNKNOWN" in str(refused.value.to_problem())


def test_a_self_test_receipt_takes_the_test_series_never_a_units_own():
    from datetime import datetime

    from chalicelib.core.clock import VN_TZ
    from chalicelib.receipts.domain import ReceiptRules, slot_for

    rules, unit = ReceiptRules(), collecting_unit("000.00.00.H35")
    now = datetime(2026, 12, 1, 9, tzinfo=VN_TZ)
    test, real = slot_for(rules, unit, now, test=True), slot_for(rules, unit, now)
    assert (test.series, test.counter_key, test.modern) == ("26TKT", "CTR#TEST#EBL01#26TKT", True)
    assert real.series != test.series and real.counter_key != test.counter_key
    legacy = slot_for(rules, unit, datetime(2026, 5, 20, 9, tzinfo=VN_TZ), test=True)
    assert (legacy.series, legacy.counter_key) == ("KT-26T", "CTR#000.00.00.H35#TEST#KT-26T")
