"""The bank clients believe only signed answers about what they asked; everything else is NO_ANSWER."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
import requests

from chalicelib.core.clock import FixedClock
from chalicelib.core.webhooks import sign_webhook, verify_webhook
from chalicelib.reconciliation.adapters import vnpay_api
from chalicelib.reconciliation.adapters.vnpay_gateway import VnpayGatewayClient
from chalicelib.reconciliation.adapters.webhook_banks import WebhookBankClient
from chalicelib.reconciliation.ports import BankStatusKind, RefundKind, RefundOrder, StatusQuery

VN = timezone(timedelta(hours=7))
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=VN)
SECRET = "SIMULATEDHASHSECRET0123456789ABC"
WHSEC = "whsec_" + base64.b64encode(b"secret-of-VCB").decode()
QUERY = StatusQuery("PAYH3501J", "MB", 1_378_500, NOW - timedelta(minutes=20))
REFUND = RefundOrder("RF0001", "PAYH3501J", "VCB", 500_000, False, "FT1", NOW, "op.a", "Nộp thừa")


@dataclass
class FakeResponse:
    status_code: int
    content: bytes
    headers: dict = field(default_factory=dict)

    def json(self):
        return json.loads(self.content)


@dataclass
class FakeSession:
    """Answers what the test sets; records what was sent."""

    answer: FakeResponse | Exception | None = None
    sent: list = field(default_factory=list)

    def post(self, url, json=None, timeout=None):
        self.sent.append(("POST", url, json, None, timeout))
        return self._answer()

    def request(self, method, url, data=None, headers=None, timeout=None):
        self.sent.append((method, url, data, headers, timeout))
        return self._answer()

    def _answer(self):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def gateway(session):
    return VnpayGatewayClient("https://gw.example.vn/", "DVCQG001", lambda: SECRET, server_ip="10.0.0.5",
                              clock=FixedClock(NOW), new_request_id=lambda: "REQ1", session=session)


def query_answer(**changes):
    fields = {"vnp_ResponseId": "R", "vnp_Command": "querydr", "vnp_ResponseCode": "00", "vnp_Message": "ok",
              "vnp_TmnCode": "DVCQG001", "vnp_TxnRef": "PAYH3501J", "vnp_Amount": "137850000", "vnp_BankCode": "MB",
              "vnp_PayDate": "20261130094100", "vnp_TransactionNo": "14012345", "vnp_TransactionType": "01",
              "vnp_TransactionStatus": "00", "vnp_OrderInfo": "x", **changes}
    return vnpay_api.sign_query_answer(fields, SECRET)


def reply(payload, status=200):
    return FakeResponse(status, json.dumps(payload).encode())


def test_querydr_is_posted_signed_with_timeouts_and_read_when_signed():
    session = FakeSession(reply(query_answer()))
    status = gateway(session).query_status(QUERY)
    assert (status.kind, status.amount_vnd, status.bank_txn_ref) == (BankStatusKind.PAID, 1_378_500, "14012345")
    assert status.paid_at == datetime(2026, 11, 30, 9, 41, tzinfo=VN)
    method, url, body, _, timeout = session.sent[0]
    assert url == "https://gw.example.vn/merchant_webapi/api/transaction" and timeout == (3.05, 10.0)
    assert vnpay_api.verify_query_request(body, SECRET)
    assert (body["vnp_TransactionDate"], body["vnp_CreateDate"]) == ("20261130094000", "20261130100000")


@pytest.mark.parametrize("status_code, kind", [("01", BankStatusKind.PENDING), ("02", BankStatusKind.FAILED),
                                               ("04", BankStatusKind.PENDING)])
def test_querydr_transaction_statuses(status_code, kind):
    assert gateway(FakeSession(reply(query_answer(vnp_TransactionStatus=status_code)))).query_status(QUERY).kind \
        is kind


@pytest.mark.parametrize("answer, detail", [
    ({**query_answer(), "vnp_Amount": "1000"}, "INVALID_SIGNATURE"),  # tampered after signing
    (vnpay_api.sign_query_answer({"vnp_ResponseCode": "00"}, "OTHER-SECRET"), "INVALID_SIGNATURE"),
    (query_answer(vnp_TxnRef="PAYOTHER"), "MISMATCHED_ANSWER"),  # a signed answer about another payment
    (query_answer(vnp_TmnCode="OTHER"), "MISMATCHED_ANSWER"),
    (query_answer(vnp_Command="refund"), "MISMATCHED_ANSWER"),
    (query_answer(vnp_ResponseCode="97"), "97"),
    (query_answer(vnp_ResponseCode="94"), "94"),
    (query_answer(vnp_Amount=""), "PAID_WITHOUT_AMOUNT_OR_REFERENCE"),
    (query_answer(vnp_Amount="13785"), "MALFORMED:vnp_Amount is not a whole number of dong x 100"),
])
def test_querydr_untrusted_answers_are_no_answer(answer, detail):
    status = gateway(FakeSession(reply(answer))).query_status(QUERY)
    assert (status.kind, status.detail) == (BankStatusKind.NO_ANSWER, detail)


def test_querydr_not_found_only_when_signed():
    assert gateway(FakeSession(reply(query_answer(vnp_ResponseCode="91")))).query_status(QUERY).kind \
        is BankStatusKind.NOT_FOUND
    forged = {"vnp_ResponseCode": "91", "vnp_TxnRef": "PAYH3501J", "vnp_SecureHash": "00"}
    assert gateway(FakeSession(reply(forged))).query_status(QUERY).kind is BankStatusKind.NO_ANSWER


@pytest.mark.parametrize("answer, detail", [
    (requests.ConnectTimeout(), "UNREACHABLE:ConnectTimeout"),
    (requests.ConnectionError(), "UNREACHABLE:ConnectionError"),
    (FakeResponse(502, b"Bad gateway"), "HTTP_502"), (FakeResponse(200, b"<html>"), "NOT_JSON"),
    (FakeResponse(200, b"[]"), "INVALID_SIGNATURE"),
])
def test_transport_failures_are_no_answer(answer, detail):
    assert gateway(FakeSession(answer)).query_status(QUERY).detail == detail


def refund_answer(code="00", **changes):
    fields = {"vnp_ResponseId": "R", "vnp_Command": "refund", "vnp_ResponseCode": code, "vnp_Message": "m",
              "vnp_TmnCode": "DVCQG001", "vnp_TxnRef": "PAYH3501J", "vnp_Amount": "50000000",
              "vnp_TransactionNo": "14099999", "vnp_TransactionType": "03", "vnp_TransactionStatus": "06", **changes}
    return vnpay_api.sign_refund_answer(fields, SECRET)


@pytest.mark.parametrize("code, kind", [("00", RefundKind.REFUNDED), ("94", RefundKind.DUPLICATE),
                                        ("02", RefundKind.REFUSED), ("91", RefundKind.REFUSED),
                                        ("97", RefundKind.NO_ANSWER), ("99", RefundKind.NO_ANSWER)])
def test_vnpay_refund_answers(code, kind):
    session = FakeSession(reply(refund_answer(code)))
    result = gateway(session).refund(REFUND)
    assert result.kind is kind
    body = session.sent[0][2]
    assert vnpay_api.verify_refund_request(body, SECRET)
    assert (body["vnp_RequestId"], body["vnp_TransactionType"], body["vnp_CreateBy"]) == ("RF0001", "03", "op.a")


def test_vnpay_refund_answer_signed_as_a_query_is_not_believed():
    forged = vnpay_api.sign_query_answer({k: v for k, v in refund_answer().items() if k != "vnp_SecureHash"}, SECRET)
    assert gateway(FakeSession(reply(forged))).refund(REFUND).kind is RefundKind.NO_ANSWER


# --- Standard Webhooks bank -----------------------------------------------------------------------------------

def webhook(session, secrets=(WHSEC,)):
    return WebhookBankClient("VCB", "https://api.vcb.example/v1/", lambda: list(secrets), clock=FixedClock(NOW),
                             new_message_id=lambda: "msg_1", session=session)


def signed_reply(payload, status=200, secret=WHSEC, timestamp=None):
    body = json.dumps(payload).encode()
    return FakeResponse(status, body, sign_webhook(body, secret, "msg_b", timestamp or int(NOW.timestamp())))


STATUS = {"payment_id": "PAYH3501J", "bank_txn_ref": "FT26334000001", "status": "SUCCESS", "amount_vnd": 1_378_500,
          "paid_at": "2026-11-30T09:41:00+07:00"}


def test_webhook_status_request_is_signed_over_an_empty_body_and_the_answer_verified():
    session = FakeSession(signed_reply(STATUS))
    status = webhook(session).query_status(QUERY)
    assert (status.kind, status.amount_vnd, status.bank_txn_ref) == (BankStatusKind.PAID, 1_378_500, "FT26334000001")
    method, url, data, headers, _ = session.sent[0]
    assert (method, url, data) == ("GET", "https://api.vcb.example/v1/transactions/PAYH3501J", None)
    assert verify_webhook(b"", headers, [WHSEC], now=int(NOW.timestamp())) == "msg_1"


@pytest.mark.parametrize("payload, kind", [({**STATUS, "status": "FAILED"}, BankStatusKind.FAILED),
                                           ({**STATUS, "status": "PENDING"}, BankStatusKind.PENDING),
                                           ({"payment_id": "PAYH3501J", "status": "NOT_FOUND"},
                                            BankStatusKind.NOT_FOUND)])
def test_webhook_statuses(payload, kind):
    assert webhook(FakeSession(signed_reply(payload))).query_status(QUERY).kind is kind


@pytest.mark.parametrize("answer, detail", [
    (signed_reply(STATUS, secret="whsec_" + base64.b64encode(b"other").decode()), "INVALID_SIGNATURE"),
    (signed_reply(STATUS, timestamp=int(NOW.timestamp()) - 301), "INVALID_SIGNATURE"),
    (FakeResponse(200, json.dumps(STATUS).encode()), "INVALID_SIGNATURE"),
    (signed_reply({**STATUS, "payment_id": "PAYOTHER"}), "MISMATCHED_ANSWER"),
    (signed_reply({**STATUS, "status": "DONE"}), "UNKNOWN_STATUS"),
    (signed_reply({**STATUS, "amount_vnd": "1378500"}), "PAID_WITHOUT_AMOUNT_OR_REFERENCE"),
    (signed_reply({**STATUS, "paid_at": "2026-11-30T09:41:00"}), "PAID_WITHOUT_VALID_PAID_AT"),
    (signed_reply(STATUS, status=500), "HTTP_500"),
    (requests.ReadTimeout(), "UNREACHABLE:ReadTimeout"),
])
def test_webhook_untrusted_answers_are_no_answer(answer, detail):
    status = webhook(FakeSession(answer)).query_status(QUERY)
    assert (status.kind, status.detail) == (BankStatusKind.NO_ANSWER, detail)


def test_tampered_answer_body_fails_its_signature():
    good = signed_reply(STATUS)
    tampered = FakeResponse(200, good.content.replace(b"1378500", b"1378501"), good.headers)
    assert webhook(FakeSession(tampered)).query_status(QUERY).detail == "INVALID_SIGNATURE"


def test_webhook_refund_signed_body_and_answers():
    done = {"refund_id": "RF0001", "payment_id": "PAYH3501J", "status": "REFUNDED", "bank_refund_ref": "RF1",
            "amount_vnd": 500_000}
    session = FakeSession(signed_reply(done))
    result = webhook(session).refund(REFUND)
    assert (result.kind, result.bank_refund_ref) == (RefundKind.REFUNDED, "RF1")
    method, url, data, headers, _ = session.sent[0]
    assert (method, url) == ("POST", "https://api.vcb.example/v1/refunds")
    verify_webhook(data, headers, [WHSEC], now=int(NOW.timestamp()))
    assert json.loads(data) == {"refund_id": "RF0001", "payment_id": "PAYH3501J", "bank_txn_ref": "FT1",
                                "amount_vnd": 500_000, "reason": "Nộp thừa"}
    refused = {**done, "status": "REFUSED", "reason": "AMOUNT_EXCEEDS_PAID"}
    assert webhook(FakeSession(signed_reply(refused, 422))).refund(REFUND).detail == "AMOUNT_EXCEEDS_PAID"
    other = {**done, "refund_id": "RF9999"}
    assert webhook(FakeSession(signed_reply(other))).refund(REFUND).detail == "MISMATCHED_ANSWER"


def test_webhook_client_without_a_secret_sends_nothing():
    session = FakeSession(signed_reply(STATUS))
    assert webhook(session, secrets=()).query_status(QUERY).detail == "NO_SECRET_CONFIGURED"
    assert session.sent == []
