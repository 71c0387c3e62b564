"""VNPay-style querydr and refund: known-answer signatures (pipe-joined, fixed order), answers, verification."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.reconciliation.adapters.vnpay_api import (
    InvalidAnswerError,
    QueryDrRequest,
    RefundRequest,
    parse_answer,
    sign_query_answer,
    sign_refund_answer,
    verify_query_answer,
    verify_query_request,
    verify_refund_answer,
    verify_refund_request,
)

SECRET = "SIMULATEDHASHSECRET0123456789ABC"
VN = timezone(timedelta(hours=7))
CREATED = datetime(2026, 11, 30, 23, 59, 58, tzinfo=VN)

QUERY = QueryDrRequest(request_id="REQ0001", tmn_code="DVCQG001", txn_ref="PAYH3501J",
                       order_info="Truy vấn giao dịch PAYH3501J", transaction_date=CREATED,
                       create_date=datetime(2026, 12, 1, 1, 15, tzinfo=timezone.utc), ip_addr="10.0.0.5")
# The hash data written by hand in RECONCILIATION.md's order, and its HMAC from
# `printf '%s' "$DATA" | openssl dgst -sha512 -hmac "$SECRET"`.
QUERY_DATA = ("REQ0001|2.1.0|querydr|DVCQG001|PAYH3501J|20261130235958|20261201081500|10.0.0.5|"
              "Truy van giao dich PAYH3501J")
QUERY_HASH = ("bd4785f3fbb18fa80d5e9338f84ce6fe761a0af93f1aa072ec4fe6272c656aa8574b82636a81d03b674025f972313827ddccb7"
              "2eb72c6faa464a25537a566689")

REFUND = RefundRequest(request_id="RF0001", tmn_code="DVCQG001", txn_ref="PAYH3501J", amount_vnd=500_000, full=False,
                       order_info="Hoàn tiền giao dịch PAYH3501J", transaction_date=CREATED,
                       create_by="op.nguyenvana", create_date=datetime(2026, 12, 1, 9, 0, tzinfo=VN),
                       ip_addr="10.0.0.5", transaction_no="14012345")
REFUND_DATA = ("RF0001|2.1.0|refund|DVCQG001|03|PAYH3501J|50000000|14012345|20261130235958|op.nguyenvana|"
               "20261201090000|10.0.0.5|Hoan tien giao dich PAYH3501J")
REFUND_HASH = (
    "cff3f9a852a63726b16fdc2a643c9fdc913afec2adba6c55a6976bb5d0ff8f7f"
    "b72bd66514b9e2f1ac01802ba211e5daad1113d25fbaffce2a99902ad2648e37"
)

QUERY_ANSWER = {
    "vnp_ResponseId": "RSP01", "vnp_Command": "querydr", "vnp_ResponseCode": "00", "vnp_Message": "QueryDR Success",
    "vnp_TmnCode": "DVCQG001", "vnp_TxnRef": "PAYH3501J", "vnp_Amount": "137850000", "vnp_BankCode": "MB",
    "vnp_PayDate": "20261130235959", "vnp_TransactionNo": "14012345", "vnp_TransactionType": "01",
    "vnp_TransactionStatus": "00", "vnp_OrderInfo": "Truy van giao dich PAYH3501J",
    # vnp_PromotionCode and vnp_PromotionAmount absent: signed as empty strings
}
QUERY_ANSWER_HASH = (
    "733717c3dc20e9f14acab8d8bd7b0216984fc83f71d2ca95dc062560602c94e2"
    "d402edbb432451221d5b2709f265ac124600c1761fd757312e7b45d1590b1317"
)
REFUND_ANSWER = {
    "vnp_ResponseId": "RSP02", "vnp_Command": "refund", "vnp_ResponseCode": "00", "vnp_Message": "Refund success",
    "vnp_TmnCode": "DVCQG001", "vnp_TxnRef": "PAYH3501J", "vnp_Amount": "50000000", "vnp_BankCode": "MB",
    "vnp_PayDate": "20261130235959", "vnp_TransactionNo": "14099999", "vnp_TransactionType": "03",
    "vnp_TransactionStatus": "06", "vnp_OrderInfo": "Hoan tien giao dich PAYH3501J",
}
REFUND_ANSWER_HASH = (
    "52de3713fd45ad2f693ea5c7f0be8a50f4e237d9c12220b7b30274fcf3b29f73"
    "470c9de7797585aca78dd84a0e5e520f021dd3743569f0383a07d2988196864f"
)


def test_querydr_request_known_answer():
    body = QUERY.to_json(SECRET)
    assert body["vnp_SecureHash"] == QUERY_HASH
    assert "|".join(body[k] for k in ("vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TxnRef",
                                      "vnp_TransactionDate", "vnp_CreateDate", "vnp_IpAddr",
                                      "vnp_OrderInfo")) == QUERY_DATA
    assert "vnp_TransactionNo" not in body
    assert verify_query_request(body, SECRET)


def test_refund_request_known_answer():
    body = REFUND.to_json(SECRET)
    assert body["vnp_SecureHash"] == REFUND_HASH
    assert (body["vnp_TransactionType"], body["vnp_Amount"]) == ("03", "50000000")
    assert verify_refund_request(body, SECRET)


def test_full_refund_is_type_02():
    from dataclasses import replace
    body = replace(REFUND, full=True).to_json(SECRET)
    assert body["vnp_TransactionType"] == "02"
    assert verify_refund_request(body, SECRET)
    assert not verify_refund_request({**body, "vnp_TransactionType": "03"}, SECRET)


@pytest.mark.parametrize("field", ["vnp_RequestId", "vnp_TxnRef", "vnp_TransactionDate", "vnp_CreateDate",
                                   "vnp_IpAddr", "vnp_OrderInfo", "vnp_TmnCode"])
def test_tampered_querydr_request_fails_verification(field):
    body = QUERY.to_json(SECRET)
    assert not verify_query_request({**body, field: body[field] + "1"}, SECRET)


def test_amount_and_reference_are_signed_in_a_refund():
    body = REFUND.to_json(SECRET)
    for field in ("vnp_Amount", "vnp_TransactionNo", "vnp_CreateBy"):
        assert not verify_refund_request({**body, field: body[field] + "0"}, SECRET)


def test_query_answer_known_answer_and_missing_fields_as_empty():
    assert sign_query_answer(QUERY_ANSWER, SECRET)["vnp_SecureHash"] == QUERY_ANSWER_HASH
    signed = {**QUERY_ANSWER, "vnp_SecureHash": QUERY_ANSWER_HASH.upper()}
    assert verify_query_answer(signed, SECRET)
    # Present-but-empty equals absent; a present value where the gateway signed nothing does not.
    assert verify_query_answer({**signed, "vnp_PromotionCode": ""}, SECRET)
    assert not verify_query_answer({**signed, "vnp_PromotionCode": "KM10"}, SECRET)
    assert not verify_query_answer({**signed, "vnp_TransactionStatus": "01"}, SECRET)
    assert not verify_query_answer(QUERY_ANSWER, SECRET)  # no hash at all
    assert not verify_query_answer({**signed, "vnp_SecureHash": "đ" * 128}, SECRET)


def test_refund_answer_known_answer():
    assert sign_refund_answer(REFUND_ANSWER, SECRET)["vnp_SecureHash"] == REFUND_ANSWER_HASH
    assert verify_refund_answer({**REFUND_ANSWER, "vnp_SecureHash": REFUND_ANSWER_HASH}, SECRET)
    # The refund answer is not signed over the promotion fields: a querydr-signed one does not pass.
    assert not verify_refund_answer(sign_query_answer(REFUND_ANSWER, SECRET), SECRET)


def test_parse_answer_in_our_units():
    answer = parse_answer(QUERY_ANSWER)
    assert (answer.response_code, answer.amount_vnd, answer.transaction_status, answer.transaction_no) == (
        "00", 1_378_500, "00", "14012345")
    assert answer.pay_date == datetime(2026, 11, 30, 23, 59, 59, tzinfo=VN)
    assert parse_answer({"vnp_ResponseCode": "91"}).amount_vnd is None


@pytest.mark.parametrize("change", [{"vnp_ResponseCode": ""}, {"vnp_ResponseCode": "0"}, {"vnp_Amount": "12345"},
                                    {"vnp_Amount": "-100"}, {"vnp_PayDate": "2026-11-30"}])
def test_parse_answer_refuses_unusable_values(change):
    with pytest.raises(InvalidAnswerError):
        parse_answer({**QUERY_ANSWER, **change})


def test_request_ids_longer_than_the_gateway_allows_are_refused():
    from dataclasses import replace
    with pytest.raises(ValueError):
        replace(QUERY, request_id="x" * 33).to_json(SECRET)
    with pytest.raises(ValueError):
        replace(REFUND, amount_vnd=0).to_json(SECRET)
