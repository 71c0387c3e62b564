"""M13 through the use cases: tax information (personal tax without amounts, registration fees with), paying all
personal tax or one registration fee on the payments' rails, the tax authority told, the debt gone, the history;
the tax authority down is a 503 with nothing written."""
from __future__ import annotations

from datetime import datetime

import pytest

from chalicelib.core.clock import VN_TZ, FixedClock
from chalicelib.core.errors import AppError
from chalicelib.payments.services.bank_results import BankResult, apply_bank_result
from chalicelib.taxes.services import pay_taxes, tax_info, tax_transactions
from tests import fakes_receipts as fr
from tests.fakes import FakeBankLinks, make_services

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=VN_TZ)
SUB = "acct-0001"
TAX_CODE = "035095001234"


@pytest.fixture
def svc():
    return make_services(clock=FixedClock(NOW), tax_authority=fr.FakeTaxAuthority(), tax_payments=None,
                         taxpayers=fr.FakeTaxpayers({SUB: (TAX_CODE, "+84912345678"), "no-code": (None, None)}))


def wire(svc):
    svc.__dict__["tax_payments"] = svc.tax_authority  # the outbox tells the same (fake) tax authority
    return svc


def refused(call, *args) -> AppError:
    with pytest.raises(AppError) as exc:
        call(*args)
    return exc.value


def paid(svc, answer: dict) -> None:
    apply_bank_result(svc, BankResult(answer["bank_code"], answer["payment_id"], "FT9", answer["amount_vnd"], "VND",
                                      True, NOW.isoformat()))


def test_personal_tax_is_shown_by_sub_item_without_amounts_and_fees_with_them(svc):
    info = tax_info(svc, SUB)
    assert info["taxpayer"]["tax_code"] == TAX_CODE and info["taxpayer"]["id_number_masked"].endswith("1234")
    assert "035095001234" not in str(info["taxpayer"]["id_number_masked"])
    (category,) = info["personal_tax"]["categories"]
    assert [s["sub_item_code"] for s in category["sub_items"]] == ["1001", "1014"]
    assert "amount_vnd" not in str(info["personal_tax"])  # the tax authority's rule
    assert [(f["vehicle"], f["amount_vnd"]) for f in info["registration_fees"]] == [("car", 54_000_000),
                                                                                   ("motorbike", 1_650_000)]
    assert info["can_pay"] is True


def test_a_tax_code_on_the_account_is_required(svc):
    assert refused(tax_info, svc, "no-code").code == "TAX_CODE_REQUIRED"


def test_all_personal_tax_is_paid_at_once_and_then_disappears(svc):
    wire(svc)
    status, answer = pay_taxes(svc, SUB, {"kind": "personal_tax", "bank_code": "BIDV"}, None)
    assert status == 201 and answer["kind"] == "personal_tax" and answer["amount_vnd"] == 3_700_000
    assert answer["reference_number"] in answer["redirect_url"] and "tax_payment_id=" in answer["redirect_url"]
    paid(svc, answer)
    receipt = svc.ledger.get_receipt(svc.ledger.get_payment(answer["payment_id"]).receipt_id)
    assert (receipt.payment_kind, receipt.payer_tax_code, receipt.amount_vnd) == ("personal_tax", TAX_CODE, 3_700_000)
    assert [i["amount_vnd"] for i in receipt.items] == [2_500_000, 1_200_000]  # the receipt shows the amounts
    assert receipt.delivery_state == "NONE" and svc.forwarding.receipts == []  # no province for personal tax
    assert svc.tax_authority.paid == {receipt.tax_payment_id}  # told, through the outbox
    assert tax_info(svc, SUB)["personal_tax"] is None


def test_one_registration_fee_per_payment_by_decision_number(svc):
    wire(svc)
    decision = tax_info(svc, SUB)["registration_fees"][1]["decision_number"]
    status, answer = pay_taxes(svc, SUB, {"kind": "registration_fee", "decision_number": decision,
                                          "bank_code": "BIDV"}, None)
    assert (answer["amount_vnd"], answer["notice_number"]) == (1_650_000, decision)
    assert refused(pay_taxes, svc, SUB, {"kind": "registration_fee", "decision_number": decision,
                                         "bank_code": "BIDV"}, None).code == "PAYMENT_IN_PROGRESS"
    paid(svc, answer)
    fees = tax_info(svc, SUB)["registration_fees"]
    assert [f["decision_number"] for f in fees] != [decision] and len(fees) == 1
    assert refused(pay_taxes, svc, SUB, {"kind": "registration_fee", "decision_number": decision,
                                         "bank_code": "BIDV"}, None).code == "TAX_DEBT_NOT_FOUND"


def test_the_debt_is_gone_from_the_lookup_even_before_the_tax_authority_applied_it(svc):
    svc.__dict__["tax_payments"] = fr.FakeTaxPayments()
    svc.tax_payments.fail = True  # the notice will be retried by the outbox sweep
    status, answer = pay_taxes(svc, SUB, {"kind": "personal_tax", "bank_code": "BIDV"}, None)
    paid(svc, answer)
    assert svc.tax_authority.paid == set()  # not told yet...
    assert tax_info(svc, SUB)["personal_tax"] is None  # ...and still not shown as owed
    svc.tax_payments.fail = False
    assert svc.outbox.retry() == 1 and svc.tax_payments.notified[0]["payment"]["payment_id"] == answer["payment_id"]


def test_the_tax_authority_down_is_a_503_and_nothing_is_written(svc):
    svc.tax_authority.mode = "down"
    before = (len(svc.ledger.payments), dict(svc.outbox.items))
    error = refused(pay_taxes, svc, SUB, {"kind": "personal_tax", "bank_code": "BIDV"}, None)
    assert (error.code, error.status) == ("TAX_AUTHORITY_UNAVAILABLE", 503)
    assert refused(tax_info, svc, SUB).status == 503
    assert (len(svc.ledger.payments), dict(svc.outbox.items)) == before


def test_single_sign_on_banks_need_a_linked_account(svc):
    error = refused(pay_taxes, svc, SUB, {"kind": "personal_tax", "bank_code": "VCB"}, None)
    assert error.code == "BANK_ACCOUNT_NOT_LINKED"
    svc.__dict__["bank_links"] = FakeBankLinks({(SUB, "VCB")})
    status, answer = pay_taxes(svc, SUB, {"kind": "personal_tax", "bank_code": "VCB"}, None)
    assert "/pay?" in answer["redirect_url"]


def test_the_tax_history_lists_tax_payments_with_their_receipts(svc):
    wire(svc)
    status, answer = pay_taxes(svc, SUB, {"kind": "personal_tax", "bank_code": "BIDV"}, "key-1")
    assert pay_taxes(svc, SUB, {"kind": "personal_tax", "bank_code": "BIDV"}, "key-1")[1]["payment_id"] == \
        answer["payment_id"]  # the same Idempotency-Key replays the first answer
    paid(svc, answer)

    class History:
        def payments_of(self, sub, limit, cursor):
            return [p for p in svc.ledger.payments if p.citizen_sub == sub], None

    svc.__dict__["history"] = History()
    (item,) = tax_transactions(svc, SUB, 20, None)["items"]
    assert (item["state"], item["kind"], item["receipt_url"]) == ("PAID", "personal_tax",
                                                                  f"/v1/receipts/{item['receipt_id']}")
