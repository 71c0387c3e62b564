"""The VNPay-style gateway's merchant transaction API (2.1.0): ``querydr`` and ``refund`` requests and answers.

Both are JSON ``POST``s to ``/merchant_webapi/api/transaction``. Unlike the payment URL and the IPN (sorted,
URL-encoded parameters), these are signed over the *values* joined by ``|`` in a fixed order, a missing value as an
empty string: HMAC-SHA512, lowercase hex, in ``vnp_SecureHash``. The orders are RECONCILIATION.md's:

- querydr request: RequestId|Version|Command|TmnCode|TxnRef|TransactionDate|CreateDate|IpAddr|OrderInfo
- refund request:  RequestId|Version|Command|TmnCode|TransactionType|TxnRef|Amount|TransactionNo|TransactionDate|
                   CreateBy|CreateDate|IpAddr|OrderInfo
- querydr answer:  ResponseId|Command|ResponseCode|Message|TmnCode|TxnRef|Amount|BankCode|PayDate|TransactionNo|
                   TransactionType|TransactionStatus|OrderInfo|PromotionCode|PromotionAmount
- refund answer:   the querydr answer's fields without the two promotion fields.

Pure module (no HTTP): the merchant side (``*.to_json``, ``verify_*_answer``, ``parse_answer``) and the gateway side
(``verify_*_request``, ``sign_*_answer``), which the simulated bank and the known-answer tests use.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Sequence

from chalicelib.payments.adapters.vnpay import (
    API_VERSION,
    SECURE_HASH,
    ascii_order_info,
    format_vnp_date,
    parse_vnp_date,
)

__all__ = [
    "GatewayAnswer", "InvalidAnswerError", "QUERY_ANSWER_FIELDS", "QUERY_REQUEST_FIELDS", "QueryDrRequest",
    "REFUND_ANSWER_FIELDS", "REFUND_FULL", "REFUND_PARTIAL", "REFUND_REQUEST_FIELDS", "RefundRequest",
    "parse_answer", "pipe_hash", "sign_query_answer", "sign_refund_answer", "verify_query_answer",
    "verify_query_request", "verify_refund_answer", "verify_refund_request",
]

QUERY_REQUEST_FIELDS = ("vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TxnRef",
                        "vnp_TransactionDate", "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo")
REFUND_REQUEST_FIELDS = ("vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TransactionType",
                         "vnp_TxnRef", "vnp_Amount", "vnp_TransactionNo", "vnp_TransactionDate", "vnp_CreateBy",
                         "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo")
REFUND_ANSWER_FIELDS = ("vnp_ResponseId", "vnp_Command", "vnp_ResponseCode", "vnp_Message", "vnp_TmnCode",
                        "vnp_TxnRef", "vnp_Amount", "vnp_BankCode", "vnp_PayDate", "vnp_TransactionNo",
                        "vnp_TransactionType", "vnp_TransactionStatus", "vnp_OrderInfo")
QUERY_ANSWER_FIELDS = REFUND_ANSWER_FIELDS + ("vnp_PromotionCode", "vnp_PromotionAmount")

REFUND_FULL = "02"
REFUND_PARTIAL = "03"
_AMOUNT = re.compile(r"[0-9]{1,20}")
_REQUEST_ID_MAX = 32  # the gateway's limit for vnp_RequestId


class InvalidAnswerError(ValueError):
    """A (correctly signed) answer we cannot read: a missing code, an amount or a date that is not one."""


def pipe_hash(values: Mapping[str, Any], fields: Sequence[str], hash_secret: str) -> str:
    """HMAC-SHA512 (lowercase hex) of ``values[f]`` for ``f`` in ``fields`` joined by ``|`` (missing: "")."""
    if not hash_secret:
        raise ValueError("hash_secret must not be empty")
    data = "|".join(_text(values.get(name)) for name in fields)
    return hmac.new(hash_secret.encode("utf-8"), data.encode("utf-8"), hashlib.sha512).hexdigest()


def _verify(values: Mapping[str, Any], fields: Sequence[str], hash_secret: str) -> bool:
    received = values.get(SECURE_HASH)
    if not isinstance(received, str):
        return False
    expected = pipe_hash(values, fields, hash_secret)
    # Bytes, so that a hostile non-ASCII hash gives False rather than TypeError.
    return hmac.compare_digest(received.strip().lower().encode("utf-8"), expected.encode("ascii"))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _check_request_id(request_id: str) -> None:
    if not request_id or len(request_id) > _REQUEST_ID_MAX or not request_id.isascii():
        raise ValueError(f"request_id must be 1 to {_REQUEST_ID_MAX} ASCII characters")


@dataclass(frozen=True)
class QueryDrRequest:
    """``querydr``: what the gateway knows of our payment ``txn_ref`` created at ``transaction_date``."""

    request_id: str  # unique per request (the gateway refuses a repeat with 94)
    tmn_code: str
    txn_ref: str
    order_info: str
    transaction_date: datetime  # the payment's creation time (the payment URL's vnp_CreateDate)
    create_date: datetime  # now
    ip_addr: str  # our server's address
    transaction_no: str | None = None  # the gateway's transaction number, when we know it

    def to_json(self, hash_secret: str) -> dict[str, str]:
        _check_request_id(self.request_id)
        body = {
            "vnp_RequestId": self.request_id,
            "vnp_Version": API_VERSION,
            "vnp_Command": "querydr",
            "vnp_TmnCode": self.tmn_code,
            "vnp_TxnRef": self.txn_ref,
            "vnp_OrderInfo": ascii_order_info(self.order_info),
            "vnp_TransactionDate": format_vnp_date(self.transaction_date),
            "vnp_CreateDate": format_vnp_date(self.create_date),
            "vnp_IpAddr": self.ip_addr,
        }
        if self.transaction_no:
            body["vnp_TransactionNo"] = self.transaction_no
        body[SECURE_HASH] = pipe_hash(body, QUERY_REQUEST_FIELDS, hash_secret)
        return body


@dataclass(frozen=True)
class RefundRequest:
    """``refund``: return ``amount_vnd`` of payment ``txn_ref`` (all of it when ``full``)."""

    request_id: str  # our stable refund id: a retry repeats it, and the gateway answers 94 instead of paying twice
    tmn_code: str
    txn_ref: str
    amount_vnd: int
    full: bool
    order_info: str
    transaction_date: datetime
    create_by: str
    create_date: datetime
    ip_addr: str
    transaction_no: str | None = None

    def to_json(self, hash_secret: str) -> dict[str, str]:
        _check_request_id(self.request_id)
        if isinstance(self.amount_vnd, bool) or not isinstance(self.amount_vnd, int) or self.amount_vnd <= 0:
            raise ValueError("amount_vnd must be a positive integer")
        body = {
            "vnp_RequestId": self.request_id,
            "vnp_Version": API_VERSION,
            "vnp_Command": "refund",
            "vnp_TmnCode": self.tmn_code,
            "vnp_TransactionType": REFUND_FULL if self.full else REFUND_PARTIAL,
            "vnp_TxnRef": self.txn_ref,
            "vnp_Amount": str(self.amount_vnd * 100),
            "vnp_OrderInfo": ascii_order_info(self.order_info),
            "vnp_TransactionNo": self.transaction_no or "",
            "vnp_TransactionDate": format_vnp_date(self.transaction_date),
            "vnp_CreateBy": self.create_by,
            "vnp_CreateDate": format_vnp_date(self.create_date),
            "vnp_IpAddr": self.ip_addr,
        }
        body[SECURE_HASH] = pipe_hash(body, REFUND_REQUEST_FIELDS, hash_secret)
        return body


@dataclass(frozen=True)
class GatewayAnswer:
    """A verified answer of either command, in our units (``amount_vnd`` already divided by 100)."""

    response_id: str
    command: str
    response_code: str
    message: str
    tmn_code: str
    txn_ref: str
    amount_vnd: int | None
    bank_code: str
    pay_date: datetime | None
    transaction_no: str
    transaction_type: str
    transaction_status: str


def verify_query_answer(answer: Mapping[str, Any], hash_secret: str) -> bool:
    return _verify(answer, QUERY_ANSWER_FIELDS, hash_secret)


def verify_refund_answer(answer: Mapping[str, Any], hash_secret: str) -> bool:
    return _verify(answer, REFUND_ANSWER_FIELDS, hash_secret)


def parse_answer(answer: Mapping[str, Any]) -> GatewayAnswer:
    """Read a verified answer. Raises ``InvalidAnswerError`` when the code, amount or date is unusable."""
    code = _text(answer.get("vnp_ResponseCode"))
    if not re.fullmatch(r"[0-9]{2}", code):
        raise InvalidAnswerError("vnp_ResponseCode missing or malformed")
    raw_amount, raw_date = _text(answer.get("vnp_Amount")), _text(answer.get("vnp_PayDate"))
    if raw_amount and (not _AMOUNT.fullmatch(raw_amount) or int(raw_amount) % 100):
        raise InvalidAnswerError("vnp_Amount is not a whole number of dong x 100")
    try:
        pay_date = parse_vnp_date(raw_date) if raw_date else None
    except ValueError:
        raise InvalidAnswerError("vnp_PayDate is not yyyyMMddHHmmss") from None
    return GatewayAnswer(
        response_id=_text(answer.get("vnp_ResponseId")), command=_text(answer.get("vnp_Command")),
        response_code=code, message=_text(answer.get("vnp_Message")), tmn_code=_text(answer.get("vnp_TmnCode")),
        txn_ref=_text(answer.get("vnp_TxnRef")), amount_vnd=int(raw_amount) // 100 if raw_amount else None,
        bank_code=_text(answer.get("vnp_BankCode")), pay_date=pay_date,
        transaction_no=_text(answer.get("vnp_TransactionNo")),
        transaction_type=_text(answer.get("vnp_TransactionType")),
        transaction_status=_text(answer.get("vnp_TransactionStatus")),
    )


# --- the gateway's side (simulated bank, tests) -----------------------------------------------------------------

def verify_query_request(body: Mapping[str, Any], hash_secret: str) -> bool:
    return _verify(body, QUERY_REQUEST_FIELDS, hash_secret)


def verify_refund_request(body: Mapping[str, Any], hash_secret: str) -> bool:
    return _verify(body, REFUND_REQUEST_FIELDS, hash_secret)


def sign_query_answer(fields: Mapping[str, str], hash_secret: str) -> dict[str, str]:
    """``fields`` plus its ``vnp_SecureHash``, as the gateway answers a querydr."""
    return {**fields, SECURE_HASH: pipe_hash(fields, QUERY_ANSWER_FIELDS, hash_secret)}


def sign_refund_answer(fields: Mapping[str, str], hash_secret: str) -> dict[str, str]:
    """``fields`` plus its ``vnp_SecureHash``, as the gateway answers a refund."""
    return {**fields, SECURE_HASH: pipe_hash(fields, REFUND_ANSWER_FIELDS, hash_secret)}
