"""The simulated bank speaks reconciliation as the real partners do, and our clients understand it.

VNPay-style querydr/refund (97 bad hash, 91 unknown, 94 repeated request id), the signed payment URL on its pay page,
the Standard Webhooks banks' status and refund API (signed both ways, one refund per id), settlement files with
planted discrepancies (found exactly by the matcher), and a status API that stops answering.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import io
import json
import socket
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from chalicelib.core.clock import FixedClock
from chalicelib.local.bank_sim import SimulatedBank
from chalicelib.payments.adapters.vnpay import PaymentUrlRequest, parse_return, payment_url_params
from chalicelib.reconciliation.adapters import vnpay_api
from chalicelib.reconciliation.adapters.settlement_formats import format_for_bank
from chalicelib.reconciliation.adapters.vnpay_gateway import VnpayGatewayClient
from chalicelib.reconciliation.adapters.webhook_banks import WebhookBankClient
from chalicelib.reconciliation.domain.matching import Category, PortalPayment, Totals, classify
from chalicelib.reconciliation.domain.settlement import SettlementFileError, validate_settlement
from chalicelib.reconciliation.ports import BankStatusKind, RefundKind, RefundOrder, StatusQuery

VN = timezone(timedelta(hours=7))
NOW = datetime(2026, 11, 30, 10, 0, 0, tzinfo=VN)
D = NOW.date()
BANK_SECRETS = {code: "whsec_" + base64.b64encode(f"secret-of-{code}".encode()).decode()
                for code in ("VCB", "ICB", "BIDV", "VBA")}
VNPAY_SECRET = "SIMULATEDHASHSECRET0123456789ABC"
TMN = "DVCQG001"
TIMEOUT = 5
C = Category


def _closed_port() -> int:
    with socket.socket() as probe:  # nothing listens there: callbacks fail fast, as a lost callback would
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def bank():
    secrets = {"banks": BANK_SECRETS, "vnpay_hash_secret": VNPAY_SECRET}
    with SimulatedBank(f"http://127.0.0.1:{_closed_port()}", secrets, clock=lambda: NOW) as simulated:
        yield simulated


def call(bank, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", urlsplit(bank.url).port, timeout=TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def post_json(bank, path, payload):
    status, _, raw = call(bank, "POST", path, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    return status, json.loads(raw)


def ids(prefix):
    counter = iter(range(1, 10_000))
    return lambda: f"{prefix}{next(counter):04d}"


def vnpay_client(bank, **kwargs):
    return VnpayGatewayClient(bank.url, TMN, VNPAY_SECRET, server_ip="10.0.0.5", clock=FixedClock(NOW),
                              new_request_id=ids("REQ"), **kwargs)


def webhook_client(bank, code="VCB", secret=None, **kwargs):
    return WebhookBankClient(code, f"{bank.url}/banks/{code}", lambda: [secret or BANK_SECRETS[code]],
                             clock=FixedClock(NOW), new_message_id=ids("msg_"), **kwargs)


def signed_pay_fields(payment_id="PAYH35MB1", amount=1_378_500, created=NOW, **changes):
    request = PaymentUrlRequest(payment_id=payment_id, amount_vnd=amount, order_info=f"Thanh toan {payment_id}",
                                return_url=f"https://dichvucong.gov.vn/ket-qua?payment_id={payment_id}",
                                ip_addr="203.113.1.20", created_at=created, expires_at=created + timedelta(minutes=15),
                                tmn_code=TMN)
    return {**payment_url_params(request, VNPAY_SECRET), **changes}


def query(payment_id="PAYH35MB1", created=NOW, bank_code="MB"):
    return StatusQuery(payment_id, bank_code, 1_378_500, created)


# --- VNPay-style: payment URL, querydr, refund --------------------------------------------------------------------

def test_signed_payment_url_then_querydr_follows_the_payment(bank):
    client = vnpay_client(bank)
    assert client.query_status(query()).kind is BankStatusKind.NOT_FOUND
    fields = signed_pay_fields()
    status, _, page = call(bank, "GET", "/paymentv2/vpcpay.html?" + urlencode(fields))
    assert status == 200 and "1.378.500 đ" in page.decode()
    assert client.query_status(query()).kind is BankStatusKind.PENDING  # the citizen is on the page
    status, headers, _ = call(bank, "POST", "/pay/confirm", urlencode(fields).encode(),
                              {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 303  # the IPN could not be delivered (nothing listens): the bank took the money anyway
    back = parse_return(dict(parse_qsl(urlsplit(headers["Location"]).query)), VNPAY_SECRET)
    assert (back.payment_id, back.amount_vnd, back.success) == ("PAYH35MB1", 1_378_500, True)
    paid = client.query_status(query())
    assert (paid.kind, paid.amount_vnd, paid.bank_txn_ref, paid.paid_at) == (
        BankStatusKind.PAID, 1_378_500, back.bank_txn_ref, NOW)


@pytest.mark.parametrize("change, words", [
    ({"vnp_SecureHash": ""}, "chưa được ký"),
    ({"vnp_Amount": "100"}, "Sai chữ ký"),
    ({"vnp_ReturnUrl": "https://evil.example/"}, "Sai chữ ký"),
])
def test_pay_page_refuses_unsigned_or_tampered_urls_visibly(bank, change, words):
    status, headers, page = call(bank, "GET", "/pay?" + urlencode(signed_pay_fields(**change)))
    assert status == 400 and headers["Content-Type"].startswith("text/html")
    assert words in page.decode() and "không hợp lệ" in page.decode()
    assert bank.transaction("MB", "PAYH35MB1") is None


def test_pay_page_refuses_the_old_unsigned_form_for_mb_expired_urls_and_other_merchants(bank):
    old = urlencode({"payment_id": "P", "bank_code": "MB", "amount_vnd": "1000"})
    assert call(bank, "GET", "/pay?" + old)[0] == 400
    expired = signed_pay_fields(created=NOW - timedelta(hours=1))
    status, _, page = call(bank, "GET", "/pay?" + urlencode(expired))
    assert status == 400 and "quá thời gian" in page.decode()
    other_merchant = payment_url_params(PaymentUrlRequest(
        "PAYH35MB1", 1_378_500, "x", "https://dichvucong.gov.vn/", "1.1.1.1", NOW, NOW + timedelta(minutes=5),
        "OTHER"), VNPAY_SECRET)
    status, _, page = call(bank, "GET", "/pay?" + urlencode(other_merchant))
    assert status == 400 and "vnp_TmnCode" in page.decode()
    # Tampered confirm form: refused, nothing booked.
    status, _, _ = call(bank, "POST", "/pay/confirm", urlencode(signed_pay_fields(vnp_Amount="100")).encode(),
                        {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400 and bank.transaction("MB", "PAYH35MB1") is None


def raw_querydr(bank, request_id="REQ1", secret=VNPAY_SECRET, **changes):
    body = vnpay_api.QueryDrRequest(request_id, TMN, "PAYH35MB1", "Truy van", NOW, NOW, "10.0.0.5").to_json(secret)
    status, answer = post_json(bank, "/merchant_webapi/api/transaction", {**body, **changes})
    assert status == 200 and vnpay_api.verify_query_answer(answer, VNPAY_SECRET)  # every answer signed
    return answer


def test_gateway_codes_97_91_94_02(bank):
    assert raw_querydr(bank, "R1", secret="WRONG")["vnp_ResponseCode"] == "97"
    assert raw_querydr(bank, "R2")["vnp_ResponseCode"] == "91"
    assert raw_querydr(bank, "R2")["vnp_ResponseCode"] == "94"
    assert raw_querydr(bank, "R3", vnp_TxnRef="OTHER")["vnp_ResponseCode"] == "97"  # the reference is signed
    other_merchant = vnpay_api.QueryDrRequest("R4", "OTHER", "PAYH35MB1", "x", NOW, NOW, "1.1.1.1")
    assert post_json(bank, "/merchant_webapi/api/transaction",
                     other_merchant.to_json(VNPAY_SECRET))[1]["vnp_ResponseCode"] == "02"
    status, answer = post_json(bank, "/merchant_webapi/api/transaction", {"vnp_Command": "pay"})
    assert status == 200 and answer["vnp_ResponseCode"] == "03"


def test_querydr_finds_a_transaction_only_with_its_creation_date(bank):
    call(bank, "GET", "/pay?" + urlencode(signed_pay_fields()))
    client = vnpay_client(bank)
    assert client.query_status(query(created=NOW)).kind is BankStatusKind.PENDING
    assert client.query_status(query(created=NOW - timedelta(seconds=1))).kind is BankStatusKind.NOT_FOUND


def paid_mb(bank, payment_id="PAYH35MB1", amount=1_378_500):
    status, answer = post_json(bank, "/api/pay", {"payment_id": payment_id, "bank_code": "MB", "amount_vnd": amount,
                                                  "outcome": "success", "deliver": False})
    assert status == 200 and answer["delivered"] is False
    return answer["transaction"]


def refund_order(refund_id="RF0001", amount=500_000, full=False, bank_code="MB", payment_id="PAYH35MB1", ref=None):
    return RefundOrder(refund_id, payment_id, bank_code, amount, full, ref, NOW, "op.nguyenvana", "Nộp thừa")


def test_vnpay_refunds_once_per_request_id_and_never_above_the_amount(bank):
    paid_mb(bank)
    client = vnpay_client(bank)
    first = client.refund(refund_order())
    assert first.kind is RefundKind.REFUNDED and first.bank_refund_ref
    assert client.refund(refund_order()).kind is RefundKind.DUPLICATE  # a retry: 94, not a second refund
    assert bank.transaction("MB", "PAYH35MB1").refunded_vnd == 500_000
    too_much = client.refund(refund_order("RF0002", amount=1_000_000))
    assert (too_much.kind, too_much.detail) == (RefundKind.REFUSED, "02")
    assert client.refund(refund_order("RF0003", amount=1_378_500, full=True)).detail == "04"  # full after partial
    assert bank.transaction("MB", "PAYH35MB1").refunded_vnd == 500_000
    status = client.query_status(StatusQuery("PAYH35MB1", "MB", 1_378_500, NOW))
    assert status.kind is BankStatusKind.PAID  # still paid; the gateway reports the refund's type
    assert client.refund(refund_order("RF0004", payment_id="NOPE")).detail == "91"


def test_vnpay_full_refund_must_be_the_whole_amount(bank):
    paid_mb(bank)
    client = vnpay_client(bank)
    assert client.refund(refund_order("RF1", amount=1_000, full=True)).detail == "93"
    assert client.refund(refund_order("RF2", amount=1_378_500, full=True)).kind is RefundKind.REFUNDED


# --- Standard Webhooks banks ----------------------------------------------------------------------------------

def test_webhook_bank_status_follows_the_payment(bank):
    client = webhook_client(bank, "BIDV")
    assert client.query_status(query("PAYBIDV1", bank_code="BIDV")).kind is BankStatusKind.NOT_FOUND
    page = urlencode({"payment_id": "PAYBIDV1", "bank_code": "BIDV", "amount_vnd": "250000"})
    assert call(bank, "GET", "/pay?" + page)[0] == 200
    assert client.query_status(query("PAYBIDV1", bank_code="BIDV")).kind is BankStatusKind.PENDING
    post_json(bank, "/api/pay", {"payment_id": "PAYBIDV1", "bank_code": "BIDV", "amount_vnd": 250_000,
                                 "outcome": "success", "deliver": False})
    paid = client.query_status(query("PAYBIDV1", bank_code="BIDV"))
    assert (paid.kind, paid.amount_vnd, paid.paid_at) == (BankStatusKind.PAID, 250_000, NOW)
    assert paid.bank_txn_ref.startswith("FT26334")


def test_webhook_bank_requests_and_answers_are_signed(bank):
    status, _, _ = call(bank, "GET", "/banks/VCB/transactions/P1")  # unsigned
    assert status == 401
    wrong = webhook_client(bank, "VCB", secret=BANK_SECRETS["ICB"])
    assert wrong.query_status(query("P1", bank_code="VCB")).detail == "HTTP_401"
    assert call(bank, "GET", "/banks/MB/transactions/P1")[0] == 404  # MB speaks the VNPay-style API


def test_webhook_bank_refund_is_recorded_once_per_refund_id(bank):
    post_json(bank, "/api/pay", {"payment_id": "PAYVCB1", "bank_code": "VCB", "amount_vnd": 1_000_000,
                                 "outcome": "success", "deliver": False})
    client = webhook_client(bank)
    order = refund_order("RF-1", 400_000, bank_code="VCB", payment_id="PAYVCB1")
    first = client.refund(order)
    again = client.refund(order)
    assert first.kind is again.kind is RefundKind.REFUNDED and first.bank_refund_ref == again.bank_refund_ref
    assert bank.transaction("VCB", "PAYVCB1").refunded_vnd == 400_000 and len(bank.refunds("VCB")) == 1
    reused = client.refund(refund_order("RF-1", 1_000, bank_code="VCB", payment_id="PAYVCB1"))
    assert (reused.kind, reused.detail) == (RefundKind.REFUSED, "REFUND_ID_REUSED")
    over = client.refund(refund_order("RF-2", 600_001, bank_code="VCB", payment_id="PAYVCB1"))
    assert (over.kind, over.detail) == (RefundKind.REFUSED, "AMOUNT_EXCEEDS_PAID")
    unknown = client.refund(refund_order("RF-3", 1, bank_code="VCB", payment_id="NOPE"))
    assert unknown.detail == "TRANSACTION_NOT_FOUND"


# --- a status API that does not answer --------------------------------------------------------------------------

def test_silenced_status_api_is_no_answer_for_both_clients_then_answers_again(bank):
    assert post_json(bank, "/control/status-api", {"answer": False}) == (200, {"answering": False})
    quick = (0.5, 0.3)
    assert vnpay_client(bank, timeout=quick).query_status(query()).detail == "UNREACHABLE:ReadTimeout"
    silent = webhook_client(bank, timeout=quick).query_status(query("P1", bank_code="VCB"))
    assert (silent.kind, silent.detail) == (BankStatusKind.NO_ANSWER, "UNREACHABLE:ReadTimeout")
    refund = webhook_client(bank, timeout=quick).refund(refund_order(bank_code="VCB"))
    assert refund.kind is RefundKind.NO_ANSWER  # unknown outcome: retry with the same refund id
    post_json(bank, "/control/status-api", {"answer": True})
    assert vnpay_client(bank).query_status(query()).kind is BankStatusKind.NOT_FOUND


# --- settlement files -----------------------------------------------------------------------------------------

def seed(bank, code, n, last_paid_at=None):
    """n paid transactions at the bank on D, the last one at ``last_paid_at``; returns the portal's view."""
    portal = {}
    for i in range(n):
        moment = last_paid_at if (last_paid_at and i == n - 1) else NOW + timedelta(minutes=i)
        status, txn = post_json(bank, "/control/transactions", {
            "bank_code": code, "payment_id": f"PAY{code}{i:03d}", "amount_vnd": 100_000 * (i + 1),
            "status": "SUCCESS", "paid_at": moment.isoformat()})
        assert status == 201
        portal[txn["payment_id"]] = PortalPayment(txn["payment_id"], "PAID", txn["amount_vnd"], txn["bank_txn_ref"],
                                                  moment)
    return portal


def fetch_and_classify(bank, code, day, plant, portal, previous=None):
    status, made = post_json(bank, "/control/settlement", {"bank": code, "date": day.isoformat(), "plant": plant})
    assert status == 200, made
    status, _, content = call(bank, "GET", made["url"])
    assert status == 200 and made["sha256"] == hashlib.sha256(content).hexdigest()
    with validate_settlement(io.BytesIO(content), format_for_bank(code), code, day, file_name=made["name"]) as file:
        assert file.summary.sha256 == made["sha256"]
        findings = list(classify(file.lines(), portal, lambda payment_id: None, previous))
    return made, findings, Totals.of(findings)


@pytest.mark.parametrize("code", ["VCB", "MB"])
def test_every_planted_discrepancy_is_found_exactly_then_cut_off_resolves_next_day(bank, code):
    portal = seed(bank, code, 8, last_paid_at=NOW.replace(hour=23, minute=59, second=58))
    plants = ["missing_at_bank", "amount_mismatch", "duplicate_at_bank", "status_mismatch", "missing_at_portal",
              {"kind": "next_day", "payment_id": f"PAY{code}007"}]
    made, findings, totals = fetch_and_classify(bank, code, D, plants, portal)
    planted = {entry["kind"]: entry for entry in made["planted"]}
    got = {(f.category, f.payment_id) for f in findings if f.category is not C.MATCHED}
    assert got == {
        (C.PENDING_NEXT_DAY, planted["missing_at_bank"]["payment_id"]),
        (C.AMOUNT_MISMATCH, planted["amount_mismatch"]["payment_id"]),
        (C.DUPLICATE_AT_BANK, planted["duplicate_at_bank"]["payment_id"]),
        (C.STATUS_MISMATCH, planted["status_mismatch"]["payment_id"]),
        (C.MISSING_AT_PORTAL, planted["missing_at_portal"]["payment_id"]),
        (C.PENDING_NEXT_DAY, f"PAY{code}007"),  # paid 23:59:58, settled on D+1: not missing at bank
    }
    amounts = {p.payment_id: p.amount_vnd for p in portal.values()}
    # 8 payments: 4 untouched (one of them also charged twice), 4 altered.
    assert totals.counts == {C.MATCHED: 4, C.PENDING_NEXT_DAY: 2, C.AMOUNT_MISMATCH: 1, C.DUPLICATE_AT_BANK: 1,
                             C.STATUS_MISMATCH: 1, C.MISSING_AT_PORTAL: 1, C.MISSING_AT_BANK: 0}
    assert totals.vnd[C.AMOUNT_MISMATCH] == amounts[planted["amount_mismatch"]["payment_id"]] + 1_000
    assert totals.vnd[C.PENDING_NEXT_DAY] == amounts[planted["missing_at_bank"]["payment_id"]] + amounts[
        f"PAY{code}007"]
    assert totals.vnd[C.MISSING_AT_PORTAL] == planted["missing_at_portal"]["amount_vnd"]
    assert [f for f in findings if f.category is C.DUPLICATE_AT_BANK][0].refund_required

    # D+1: the late payment is in the file; the one the bank never settled becomes MISSING_AT_BANK.
    pending = {f.payment_id: portal[f.payment_id] for f in findings if f.category is C.PENDING_NEXT_DAY}
    _, next_findings, _ = fetch_and_classify(bank, code, D + timedelta(days=1), [], {}, previous=pending)
    assert {(f.category, f.payment_id) for f in next_findings} == {
        (C.MATCHED, f"PAY{code}007"), (C.MISSING_AT_BANK, planted["missing_at_bank"]["payment_id"])}


@pytest.mark.parametrize("plant, code", [("truncated", "SETTLEMENT_TRAILER_MISSING"),
                                         ("wrong_trailer", "SETTLEMENT_TRAILER_MISMATCH")])
def test_broken_files_are_refused_whole(bank, plant, code):
    portal = seed(bank, "ICB", 3)
    with pytest.raises(SettlementFileError) as caught:
        fetch_and_classify(bank, "ICB", D, [plant], portal)
    assert caught.value.code == code


def test_settlement_control_refusals(bank):
    assert post_json(bank, "/control/settlement", {"bank": "VCB", "date": "2026-11-30", "plant": ["oops"]})[0] == 400
    assert post_json(bank, "/control/settlement", {"bank": "VCB", "date": "2026-11-30",
                                                   "plant": ["amount_mismatch"]})[0] == 400  # no payment that day
    assert post_json(bank, "/control/settlement", {"bank": "XYZ", "date": "2026-11-30"})[0] == 400
    assert call(bank, "GET", "/settlement/VCB_20261130.csv")[0] == 404
    status, made = post_json(bank, "/control/settlement", {"bank": "VBA", "date": "2026-11-30"})
    assert status == 200 and made["name"] == "VBA_20261130.csv"
    assert call(bank, "GET", made["url"])[2].decode().splitlines()[-1] == "TRAILER,0,0"
