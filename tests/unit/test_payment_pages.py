"""M14 §1b: the VNPay-style gateway gets the whole signed payment URL, verified by the simulated gateway as the real
one would; the gateway's results are matched to the payment's own bank, never to vnp_BankCode."""
from __future__ import annotations

import http.client
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from chalicelib.core.clock import VN_TZ, FixedClock
from chalicelib.core.errors import AppError
from chalicelib.local.bank_sim import SimulatedBank
from chalicelib.payments.adapters.vnpay import verify_ipn
from chalicelib.payments.services.bank_results import BankResult, Outcome, apply_bank_result
from chalicelib.payments.services.intake import ingest_notices
from chalicelib.payments.services.payment_requests import initiate_payment
from tests.fakes import (
    AMOUNT,
    NOTICE_NUMBER,
    START,
    TEST_VNPAY_SECRET,
    make_services,
    payment_body,
    sample_batch,
    sample_notice,
)

REQUIRED = {"vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_Amount", "vnp_CurrCode", "vnp_TxnRef", "vnp_OrderInfo",
            "vnp_OrderType", "vnp_Locale", "vnp_ReturnUrl", "vnp_IpAddr", "vnp_CreateDate", "vnp_ExpireDate",
            "vnp_SecureHash"}


def services(clock=None):
    svc = make_services(clock=clock or FixedClock(START))
    ingest_notices(svc, sample_batch(sample_notice(), sample_notice("TB-2021-000124", amount=2_000_000)))
    return svc


def pay_mb(svc, **body) -> dict:
    status, answer = initiate_payment(svc, payment_body(NOTICE_NUMBER, "MB", **body), None, None, "203.113.1.20")
    assert status == 201
    return answer


def test_the_vnpay_payment_url_carries_every_field_signed():
    svc = services()
    answer = pay_mb(svc)

    url = urlsplit(answer["redirect_url"])
    params = dict(parse_qsl(url.query))
    assert url.path == "/paymentv2/vpcpay.html" and set(params) == REQUIRED
    assert verify_ipn(params, TEST_VNPAY_SECRET)
    assert params["vnp_Version"] == "2.1.0" and params["vnp_Command"] == "pay" and params["vnp_CurrCode"] == "VND"
    assert params["vnp_TmnCode"] == svc.settings.vnpay_tmn_code
    assert params["vnp_Amount"] == str(AMOUNT * 100)
    assert params["vnp_TxnRef"] == answer["payment_id"]
    assert params["vnp_ReturnUrl"] == "https://dichvucong.gov.vn/p/thanh-toan/ket-qua"
    assert params["vnp_IpAddr"] == "203.113.1.20"
    assert params["vnp_CreateDate"] == "20260520090000"  # the payment's creation: querydr's vnp_TransactionDate
    assert params["vnp_ExpireDate"] == "20260520091500"  # PAYMENT_TTL_MINUTES later
    assert params["vnp_OrderInfo"].isascii() and NOTICE_NUMBER.replace("-", " ") in params["vnp_OrderInfo"]
    assert "vnp_BankCode" not in params  # the payer chooses their bank on the gateway's page


def test_without_a_return_url_the_portal_result_page_is_used():
    svc = services()
    params = dict(parse_qsl(urlsplit(pay_mb(svc, return_url=None)["redirect_url"]).query))
    assert params["vnp_ReturnUrl"] == svc.settings.vnpay_return_url


def test_the_simulated_gateway_accepts_the_url_and_refuses_it_tampered_or_expired():
    now = datetime.now(VN_TZ).replace(microsecond=0)
    svc = services(FixedClock(now))
    url = urlsplit(pay_mb(svc)["redirect_url"])
    later = now + timedelta(minutes=20)
    secrets = {"banks": {}, "vnpay_hash_secret": TEST_VNPAY_SECRET, "vnpay_tmn_code": svc.settings.vnpay_tmn_code}

    def get(bank, path_and_query):
        connection = http.client.HTTPConnection("127.0.0.1", urlsplit(bank.url).port, timeout=5)
        try:
            connection.request("GET", path_and_query)
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    with SimulatedBank("http://127.0.0.1:9", secrets, clock=lambda: now) as bank:
        status, page = get(bank, f"{url.path}?{url.query}")
        assert status == 200 and "1.378.500 đ" in page
        status, page = get(bank, f"{url.path}?{url.query.replace(str(AMOUNT * 100), str(AMOUNT * 10))}")
        assert status == 400 and "Sai chữ ký" in page
    with SimulatedBank("http://127.0.0.1:9", secrets, clock=lambda: later) as bank:
        status, page = get(bank, f"{url.path}?{url.query}")
        assert status == 400 and "vnp_ExpireDate" in page


def test_the_simulated_gateway_requires_every_field_even_when_signed():
    from chalicelib.local.bank_sim import InvalidOrderError, PaymentOrder
    from chalicelib.payments.adapters.vnpay import sign_params

    svc = services()
    params = dict(parse_qsl(urlsplit(pay_mb(svc)["redirect_url"]).query))
    del params["vnp_IpAddr"]
    params["vnp_SecureHash"] = sign_params(params, TEST_VNPAY_SECRET)
    with pytest.raises(InvalidOrderError, match="vnp_IpAddr"):
        PaymentOrder.from_vnpay(params, TEST_VNPAY_SECRET, svc.settings.vnpay_tmn_code, START)


def test_a_gateway_result_is_matched_to_the_payments_own_bank_not_to_vnp_bankcode():
    svc = services()
    mb = pay_mb(svc)["payment_id"]
    status, bidv = initiate_payment(svc, payment_body("TB-2021-000124", "BIDV"), None, None)

    ipn = BankResult("", mb, "14000001", AMOUNT, "VND", True, gateway_protocol="vnpay_ipn")
    assert apply_bank_result(svc, ipn) == Outcome.APPLIED
    assert svc.ledger.get_payment(mb).bank_code == "MB" and svc.ledger.receipts[0].bank_code == "MB"
    # The VNPay-style gateway cannot report on a payment made at a Standard Webhooks bank.
    with pytest.raises(AppError) as exc:
        apply_bank_result(svc, BankResult("", bidv["payment_id"], "14000002", 2_000_000, "VND", True,
                                          gateway_protocol="vnpay_ipn"))
    assert exc.value.code == "BANK_MISMATCH"
    assert svc.ledger.get_payment(bidv["payment_id"]).state.value == "PENDING_BANK"
