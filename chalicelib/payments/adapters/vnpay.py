"""VNPay-style gateway (API 2.1.0) for MB: the signed payment URL, the return URL and the IPN (instant payment
notification): signatures, parsing and answers.

The gateway calls ``GET .../vnpay/ipn?vnp_...`` with ``vnp_SecureHash`` = HMAC-SHA512 (hex) over the ``vnp_``
parameters sorted by name, each as ``quote_plus(key)=quote_plus(value)`` joined with ``&``, leaving out the hash
itself, ``vnp_SecureHashType`` and empty values. ``vnp_Amount`` is VND x 100; ``vnp_PayDate`` is
``yyyyMMddHHmmss`` in GMT+7. The merchant answers ``{"RspCode": ..., "Message": ...}``.

The same canonical form signs the payment URL we send the citizen to (``payment_url``) and the return URL the gateway
sends the browser back to (``parse_return``). The return URL only tells the citizen what happened: the IPN (and the
status query) change a payment's state, never the browser's redirect.

Pure module: no boto3, no Chalice. The HTTP route maps ``verify_ipn`` / ``parse_ipn`` / the service outcome to
``ipn_response``.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Mapping
from urllib.parse import quote_plus, urlsplit

__all__ = [
    "InvalidIpnError",
    "InvalidReturnError",
    "IpnResult",
    "PaymentUrlRequest",
    "RSP_CONFIRM_SUCCESS",
    "RSP_ORDER_ALREADY_CONFIRMED",
    "RSP_ORDER_NOT_FOUND",
    "RSP_INVALID_AMOUNT",
    "RSP_INVALID_SIGNATURE",
    "RSP_UNKNOWN_ERROR",
    "ascii_order_info",
    "build_ipn_params",
    "format_vnp_date",
    "ipn_response",
    "parse_ipn",
    "parse_return",
    "parse_vnp_date",
    "payment_url",
    "payment_url_params",
    "sign_params",
    "verify_ipn",
]

VN_TZ = timezone(timedelta(hours=7), "GMT+7")
API_VERSION = "2.1.0"
DATE_FORMAT = "%Y%m%d%H%M%S"
ORDER_INFO_MAX = 255
SECURE_HASH = "vnp_SecureHash"
SECURE_HASH_TYPE = "vnp_SecureHashType"
RESPONSE_SUCCESS = "00"
RESPONSE_CANCELLED_BY_CUSTOMER = "24"
TRANSACTION_SUCCESS = "00"
TRANSACTION_ERROR = "02"

RSP_CONFIRM_SUCCESS = "00"
RSP_ORDER_NOT_FOUND = "01"
RSP_ORDER_ALREADY_CONFIRMED = "02"
RSP_INVALID_AMOUNT = "04"
RSP_INVALID_SIGNATURE = "97"
RSP_UNKNOWN_ERROR = "99"
# English, worded as the gateway's merchant samples word them: the gateway logs these, no person reads them.
_RSP_MESSAGES = {
    RSP_CONFIRM_SUCCESS: "Confirm Success",
    RSP_ORDER_NOT_FOUND: "Order not found",
    RSP_ORDER_ALREADY_CONFIRMED: "Order already confirmed",
    RSP_INVALID_AMOUNT: "Invalid amount",
    RSP_INVALID_SIGNATURE: "Invalid signature",
    RSP_UNKNOWN_ERROR: "Unknown error",
}

_DIGITS = re.compile(r"[0-9]{1,20}")
_PAY_DATE = re.compile(r"[0-9]{14}")


class InvalidIpnError(ValueError):
    """A correctly signed IPN whose content we cannot use. ``rsp_code`` is the answer to give the gateway."""

    def __init__(self, reason: str, rsp_code: str = RSP_UNKNOWN_ERROR) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rsp_code = rsp_code


@dataclass(frozen=True)
class IpnResult:
    """What an IPN says about one payment, in our terms."""

    payment_id: str
    amount_vnd: int
    success: bool
    response_code: str
    transaction_status: str | None
    bank_txn_ref: str | None
    bank_code: str | None
    paid_at: datetime | None


def sign_params(params: Mapping[str, str], hash_secret: str) -> str:
    """HMAC-SHA512 (lowercase hex) of the canonical query built from the ``vnp_`` parameters."""
    if not hash_secret:
        raise ValueError("hash_secret must not be empty")
    return hmac.new(hash_secret.encode("utf-8"), _canonical(params).encode("utf-8"), hashlib.sha512).hexdigest()


def verify_ipn(params: Mapping[str, str], hash_secret: str) -> bool:
    """True when ``vnp_SecureHash`` matches the parameters (hex compared case-insensitively, in constant time)."""
    received = params.get(SECURE_HASH) or ""
    expected = sign_params(params, hash_secret)
    # Compare bytes: compare_digest refuses non-ASCII str, and a hostile hash must give False, not an exception.
    return hmac.compare_digest(received.strip().lower().encode("utf-8"), expected.encode("ascii"))


def parse_ipn(params: Mapping[str, str]) -> IpnResult:
    """Read a (verified) IPN. Raises ``InvalidIpnError`` with ``rsp_code`` "04" for a bad amount, "99" otherwise."""
    payment_id = _optional(params, "vnp_TxnRef")
    if payment_id is None:
        raise InvalidIpnError("vnp_TxnRef missing")
    response_code = _optional(params, "vnp_ResponseCode")
    if response_code is None:
        raise InvalidIpnError("vnp_ResponseCode missing")
    status = _optional(params, "vnp_TransactionStatus")
    return IpnResult(
        payment_id=payment_id,
        amount_vnd=_amount_vnd(params.get("vnp_Amount")),
        success=response_code == RESPONSE_SUCCESS and status in (TRANSACTION_SUCCESS, None),
        response_code=response_code,
        transaction_status=status,
        bank_txn_ref=_optional(params, "vnp_TransactionNo"),
        bank_code=_optional(params, "vnp_BankCode"),
        paid_at=_pay_date(_optional(params, "vnp_PayDate")),
    )


def build_ipn_params(
    *,
    payment_id: str,
    amount_vnd: int,
    hash_secret: str,
    response_code: str = RESPONSE_SUCCESS,
    transaction_status: str | None = None,
    bank_code: str = "MB",
    bank_txn_ref: str = "0",
    paid_at: datetime | None = None,
    tmn_code: str = "DVCQG001",
    order_info: str | None = None,
) -> dict[str, str]:
    """A signed IPN query as the gateway would send it (for the simulated bank and tests).

    ``transaction_status`` defaults to "00" on success and "02" otherwise; ``paid_at`` defaults to now.
    """
    if transaction_status is None:
        transaction_status = TRANSACTION_SUCCESS if response_code == RESPONSE_SUCCESS else TRANSACTION_ERROR
    when = (paid_at or datetime.now(VN_TZ)).astimezone(VN_TZ)
    if order_info is None:
        order_info = f"Thanh toan nghia vu tai chinh dat dai {payment_id}"
    params = {
        "vnp_Amount": str(amount_vnd * 100),
        "vnp_BankCode": bank_code,
        "vnp_BankTranNo": bank_txn_ref,
        "vnp_CardType": "ATM",
        # The gateway asks for ASCII without diacritics in OrderInfo.
        "vnp_OrderInfo": order_info,
        "vnp_PayDate": when.strftime(DATE_FORMAT),
        "vnp_ResponseCode": response_code,
        "vnp_TmnCode": tmn_code,
        "vnp_TransactionNo": bank_txn_ref,
        "vnp_TransactionStatus": transaction_status,
        "vnp_TxnRef": payment_id,
    }
    params[SECURE_HASH] = sign_params(params, hash_secret)
    return params


class InvalidReturnError(ValueError):
    """The browser came back from the gateway with a query we cannot trust (bad signature) or use."""


@dataclass(frozen=True)
class PaymentUrlRequest:
    """What the signed payment URL carries. ``created_at``/``expires_at`` are aware datetimes (sent in GMT+7).

    ``created_at`` becomes ``vnp_CreateDate``, which the status query later sends back as ``vnp_TransactionDate``:
    pass the payment's own creation time, to the second.
    """

    payment_id: str
    amount_vnd: int
    order_info: str
    return_url: str
    ip_addr: str
    created_at: datetime
    expires_at: datetime
    tmn_code: str
    order_type: str = "other"
    locale: str = "vn"
    bank_code: str | None = None


def payment_url_params(request: PaymentUrlRequest, hash_secret: str) -> dict[str, str]:
    """The signed ``vnp_`` parameters of the payment URL (``vnp_SecureHash`` included)."""
    _check_payment_url_request(request)
    params = {
        "vnp_Version": API_VERSION,
        "vnp_Command": "pay",
        "vnp_TmnCode": request.tmn_code,
        "vnp_Amount": str(request.amount_vnd * 100),
        "vnp_CurrCode": "VND",
        "vnp_TxnRef": request.payment_id,
        "vnp_OrderInfo": ascii_order_info(request.order_info),
        "vnp_OrderType": request.order_type,
        "vnp_Locale": request.locale,
        "vnp_ReturnUrl": request.return_url,
        "vnp_IpAddr": request.ip_addr,
        "vnp_CreateDate": format_vnp_date(request.created_at),
        "vnp_ExpireDate": format_vnp_date(request.expires_at),
    }
    if request.bank_code:
        params["vnp_BankCode"] = request.bank_code
    params[SECURE_HASH] = sign_params(params, hash_secret)
    return params


def payment_url(gateway_url: str, request: PaymentUrlRequest, hash_secret: str) -> str:
    """``gateway_url?<canonical query>&vnp_SecureHash=<hex>``: the query is the signed string itself, as the
    gateway's merchant samples build it, so what is signed is exactly what is sent."""
    params = payment_url_params(request, hash_secret)
    secure_hash = params.pop(SECURE_HASH)
    separator = "&" if urlsplit(gateway_url).query else "?"
    return f"{gateway_url}{separator}{_canonical(params)}&{SECURE_HASH}={secure_hash}"


def parse_return(params: Mapping[str, str], hash_secret: str) -> IpnResult:
    """Verify and read the query of the return URL (the IPN's fields and signature, in the browser's URL).

    Raises ``InvalidReturnError`` for a bad signature or unusable content. Display only: never change a
    payment's state from it (anyone can replay a browser URL; the IPN and the status query are authoritative).
    """
    if not verify_ipn(params, hash_secret):
        raise InvalidReturnError("invalid signature")
    try:
        return parse_ipn(params)
    except InvalidIpnError as error:
        raise InvalidReturnError(error.reason) from None


def ascii_order_info(text: str) -> str:
    """Vietnamese text as the gateway wants ``vnp_OrderInfo``: no diacritics, letters, digits and single spaces.

    >>> ascii_order_info("Nộp lệ phí trước bạ nhà đất, TB-2021-000123")
    'Nop le phi truoc ba nha dat TB 2021 000123'
    """
    # "đ"/"Đ" are letters of their own, not "d" plus a mark: NFD leaves them whole.
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    kept = "".join(ch if ch.isascii() and ch.isalnum() else " " for ch in bare)
    return " ".join(kept.split())[:ORDER_INFO_MAX].rstrip()


def format_vnp_date(moment: datetime) -> str:
    """An aware datetime as the gateway writes dates: ``yyyyMMddHHmmss`` in GMT+7."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no place on the gateway's clock")
    return moment.astimezone(VN_TZ).strftime(DATE_FORMAT)


def parse_vnp_date(raw: str) -> datetime:
    """``yyyyMMddHHmmss`` (GMT+7) as an aware datetime; ValueError when it is not one."""
    if not isinstance(raw, str) or not _PAY_DATE.fullmatch(raw):
        raise ValueError("not a yyyyMMddHHmmss date")
    return datetime.strptime(raw, DATE_FORMAT).replace(tzinfo=VN_TZ)


def _check_payment_url_request(request: PaymentUrlRequest) -> None:
    amount = request.amount_vnd
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError("amount_vnd must be a positive integer")
    if not request.payment_id or not request.tmn_code or not request.ip_addr:
        raise ValueError("payment_id, tmn_code and ip_addr are required")
    if urlsplit(request.return_url).scheme not in ("http", "https"):
        raise ValueError("return_url must be http or https")
    if request.expires_at <= request.created_at:
        raise ValueError("expires_at must be after created_at")
    if not ascii_order_info(request.order_info):
        raise ValueError("order_info has nothing left once made ASCII")


def ipn_response(code: str) -> dict[str, str]:
    """The JSON answer to the gateway for ``code`` ("00", "01", "02", "04", "97" or "99")."""
    try:
        return {"RspCode": code, "Message": _RSP_MESSAGES[code]}
    except KeyError:
        raise ValueError(f"unknown IPN answer code {code!r}") from None


def _canonical(params: Mapping[str, str]) -> str:
    signed = sorted(
        (key, value)
        for key, value in params.items()
        if key.startswith("vnp_") and key not in (SECURE_HASH, SECURE_HASH_TYPE) and value not in (None, "")
    )
    return "&".join(f"{quote_plus(key)}={quote_plus(str(value))}" for key, value in signed)


def _optional(params: Mapping[str, str], name: str) -> str | None:
    # An empty value is left out of the signature, so it must mean the same as an absent one.
    value = params.get(name)
    return value if value else None


def _amount_vnd(raw: str | None) -> int:
    if raw is None or not _DIGITS.fullmatch(raw):
        raise InvalidIpnError("vnp_Amount is not a positive integer", RSP_INVALID_AMOUNT)
    amount = int(raw)
    if amount <= 0:
        raise InvalidIpnError("vnp_Amount is not a positive integer", RSP_INVALID_AMOUNT)
    if amount % 100:
        raise InvalidIpnError("vnp_Amount is not a multiple of 100", RSP_INVALID_AMOUNT)
    return amount // 100


def _pay_date(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    if not _PAY_DATE.fullmatch(raw):
        raise InvalidIpnError("vnp_PayDate is not yyyyMMddHHmmss")
    try:
        return parse_vnp_date(raw)
    except ValueError:
        raise InvalidIpnError("vnp_PayDate is not a valid date") from None
