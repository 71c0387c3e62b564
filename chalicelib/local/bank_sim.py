"""Simulated bank for the local stack: the payment page a citizen is redirected to, and the bank's callback.

Our API's ``redirect_url`` points at ``GET {bank}/pay?payment_id=&bank_code=&amount_vnd=&return_url=`` (or at
``/ib/login?...`` for banks without single sign-on). The page offers "Thanh toán" and "Hủy giao dịch"; either one
makes the bank tell our API the result the way that bank's protocol does, then sends the browser back to
``return_url`` (303), as a real bank does whatever our API answered:

- ``standard_webhooks`` (VCB, ICB, BIDV, VBA): signed JSON ``POST {api}/v1/partners/banks/{code}/callbacks``;
- ``vnpay_ipn`` (MB): ``GET {api}/v1/partners/banks/vnpay/ipn?<signed vnp_ parameters>``.

Scripts and tests skip the browser with ``POST /api/pay`` (JSON in, our API's answer out; for MB it also takes the
signed ``vnp_`` fields of the payment URL); ``GET /api/health``.

The VNPay-style bank (MB) takes only a signed payment URL (``/pay`` or ``/paymentv2/vpcpay.html`` with the
``vnp_`` parameters of ``payments.adapters.vnpay.payment_url``): an unsigned, tampered or expired one gets a visible
error page, and after payment the browser goes back to ``vnp_ReturnUrl`` with the signed return parameters.

Reconciliation (M14), spoken as the real partners would so that the clients written against this work against them:
- VNPay-style ``POST /merchant_webapi/api/transaction`` (``querydr``, ``refund``): pipe-signed JSON both ways, bad
  hash 97, unknown transaction 91, repeated ``vnp_RequestId`` 94 (``reconciliation.adapters.vnpay_api``);
- Standard Webhooks banks, API base ``{bank}/banks/{code}``: ``GET .../transactions/{payment_id}`` and
  ``POST .../refunds``, signed both ways with the bank's secret; one refund per ``refund_id``;
- settlement files of any bank and day in that bank's format (``POST /control/settlement`` with ``plant``ed
  discrepancies, then ``GET /settlement/<name>``); ``POST /control/status-api {"answer": false}`` makes the status
  and refund APIs hold the connection without answering (client timeouts), and ``{"answer": false, "process": true}``
  makes them do what was asked and then lose the answer (a refund that happened although its caller timed out);
  ``POST /control/transactions`` records a transaction at the bank directly; ``/api/pay`` with ``"deliver": false``
  pays without calling back (a lost callback), and ``POST /control/deliver {"bank_code", "payment_id"}`` sends that
  callback late. A payment page the citizen opened and left is closed by the gateway at its expiry: the status API
  then answers FAILED (as for a cancelled payment).

Internet-banking accounts (M7, account linking): ``POST /api/ib/accounts/lookup`` ``{"bank_code", "username"}`` is
what our bank adapter calls (signed per Standard Webhooks with the bank's secret when the simulator has one) and
answers the holder's name, ID number, OTP phone and account number, or 404. ``POST /api/ib/accounts`` adds an
account (local seeding for tests and demos); a few demo accounts exist from the start (``DEMO_IB_ACCOUNTS``).
Local only: stdlib HTTP server in a daemon thread, loopback by default, no dependency beyond the standard library
and our own signing adapters.
"""
from __future__ import annotations

import hashlib
import html
import io
import json
import logging
import re
import threading
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from secrets import randbelow
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from chalicelib.core.webhooks import SignatureError, sign_webhook, verify_webhook
from chalicelib.payments.adapters.vnpay import (
    API_VERSION,
    build_ipn_params,
    format_vnp_date,
    parse_vnp_date,
    verify_ipn,
)
from chalicelib.reconciliation.adapters import vnpay_api
from chalicelib.reconciliation.adapters.settlement_formats import format_for_bank
from chalicelib.reconciliation.domain.settlement import (
    REVERSED,
    SUCCESS,
    SettlementLine,
    settlement_file_name,
    write_settlement,
)

__all__ = ["BANKS", "Bank", "BankTransaction", "CallbackFailedError", "CallbackResult", "DEMO_IB_ACCOUNTS",
           "InternetBankingAccount", "PLANTS", "PaymentOrder", "SettlementFile", "SimulatedBank", "format_vnd"]

log = logging.getLogger(__name__)

VN_TZ = timezone(timedelta(hours=7), "GMT+7")
STANDARD_WEBHOOKS = "standard_webhooks"
VNPAY_IPN = "vnpay_ipn"
CALLBACK_TIMEOUT_SECONDS = 10
MAX_REQUEST_BYTES = 16 * 1024
VNPAY_RESPONSE_CODES = {"success": "00", "cancel": "24"}  # 24 = cancelled by the customer
DEFAULT_TMN_CODE = "DVCQG001"
VNPAY_API_PATH = "/merchant_webapi/api/transaction"
SILENT_SECONDS = 30  # how long a silenced status API holds a connection (far past any client timeout)
# What the gateway requires in a payment URL (API 2.1.0); vnp_BankCode is optional (the payer chooses on the page).
VNPAY_REQUIRED = ("vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_Amount", "vnp_CurrCode", "vnp_TxnRef",
                  "vnp_OrderInfo", "vnp_OrderType", "vnp_Locale", "vnp_ReturnUrl", "vnp_IpAddr", "vnp_CreateDate",
                  "vnp_ExpireDate")
PLANTS = ("missing_at_bank", "missing_at_portal", "amount_mismatch", "duplicate_at_bank", "status_mismatch",
          "next_day", "truncated", "wrong_trailer")
_BANK_PATH = re.compile(r"/banks/([A-Z]{2,10})/(transactions/([^/]{1,128})|refunds)")


@dataclass(frozen=True)
class InternetBankingAccount:
    bank_code: str
    username: str
    holder_name: str
    id_number: str
    otp_phone: str
    account_number: str

    def public(self) -> dict[str, str]:
        return {"holder_name": self.holder_name, "id_number": self.id_number, "otp_phone": self.otp_phone,
                "account_number": self.account_number}


# The demo citizen of chalicelib.local.demo (ID 035095001234), with an internet-banking account at Vietcombank.
DEMO_IB_ACCOUNTS = (
    InternetBankingAccount("VCB", "nguyenthitrang", "NGUYEN THI TRANG", "035095001234", "+84912345678",
                           "0011004123456"),
)


@dataclass(frozen=True)
class Bank:
    code: str
    name: str
    protocol: str


BANKS: dict[str, Bank] = {
    bank.code: bank
    for bank in (
        Bank("VCB", "Vietcombank", STANDARD_WEBHOOKS),
        Bank("ICB", "VietinBank", STANDARD_WEBHOOKS),
        Bank("BIDV", "BIDV", STANDARD_WEBHOOKS),
        Bank("VBA", "Agribank", STANDARD_WEBHOOKS),
        Bank("MB", "MB", VNPAY_IPN),
    )
}


class InvalidOrderError(ValueError):
    """The payment page or /api/pay was called with unusable parameters; the message is Vietnamese."""


class CallbackFailedError(Exception):
    """Our API could not be reached (refused, timed out): there is no HTTP answer to report."""


@dataclass(frozen=True)
class PaymentOrder:
    payment_id: str
    bank: Bank
    amount_vnd: int
    return_url: str | None = None
    created_at: datetime | None = None  # the merchant's vnp_CreateDate (querydr looks the transaction up by it)
    signed: Mapping[str, str] | None = None  # the verified vnp_ parameters of a signed payment URL
    expires_at: datetime | None = None  # vnp_ExpireDate: no payment after it, and an open order closes then

    @classmethod
    def from_vnpay(cls, fields: Mapping[str, str], hash_secret: str, tmn_code: str, now: datetime) -> PaymentOrder:
        """Check a payment URL the way the gateway does: signature, version, merchant, amount, expiry."""
        signed = {key: value for key, value in fields.items() if key.startswith("vnp_")}
        if not signed.get("vnp_SecureHash"):
            raise InvalidOrderError("Yêu cầu thanh toán chưa được ký (thiếu vnp_SecureHash).")
        if not verify_ipn(signed, hash_secret):
            raise InvalidOrderError("Sai chữ ký (vnp_SecureHash): đường dẫn thanh toán đã bị sửa đổi hoặc không do "
                                    "đơn vị chấp nhận thanh toán tạo ra.")
        missing = [name for name in VNPAY_REQUIRED if not signed.get(name)]
        if missing:
            raise InvalidOrderError(f"Thiếu tham số bắt buộc: {', '.join(missing)}.")
        if (signed.get("vnp_Version"), signed.get("vnp_Command"), signed.get("vnp_CurrCode")) != (
                API_VERSION, "pay", "VND"):
            raise InvalidOrderError("Phiên bản, lệnh hoặc loại tiền (vnp_Version, vnp_Command, vnp_CurrCode) sai.")
        if signed.get("vnp_TmnCode") != tmn_code:
            raise InvalidOrderError("Mã website (vnp_TmnCode) chưa được đăng ký với cổng thanh toán.")
        raw = signed.get("vnp_Amount") or ""
        if not (raw.isascii() and raw.isdigit()) or int(raw) <= 0 or int(raw) % 100:
            raise InvalidOrderError("Số tiền (vnp_Amount) không hợp lệ.")
        try:
            created, expires = (parse_vnp_date(signed.get(k, "")) for k in ("vnp_CreateDate", "vnp_ExpireDate"))
        except ValueError:
            raise InvalidOrderError("Thời gian tạo hoặc hết hạn (vnp_CreateDate, vnp_ExpireDate) sai định dạng."
                                    ) from None
        if now > expires:
            raise InvalidOrderError("Giao dịch đã quá thời gian chờ thanh toán (vnp_ExpireDate).")
        order = cls.from_fields({"payment_id": signed.get("vnp_TxnRef"), "bank_code": "MB",
                                 "amount_vnd": int(raw) // 100, "return_url": signed.get("vnp_ReturnUrl")})
        return replace(order, created_at=created, signed=signed, expires_at=expires)

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> PaymentOrder:
        payment_id = fields.get("payment_id")
        if not isinstance(payment_id, str) or not payment_id.strip() or len(payment_id) > 128:
            raise InvalidOrderError("Thiếu hoặc sai mã giao dịch (payment_id).")
        bank = BANKS.get(str(fields.get("bank_code") or ""))
        if bank is None:
            raise InvalidOrderError("Ngân hàng không được hỗ trợ (bank_code).")
        return_url = fields.get("return_url") or None
        if return_url is not None and (
            not isinstance(return_url, str) or urlsplit(return_url).scheme not in ("http", "https")
        ):
            raise InvalidOrderError("Địa chỉ quay lại (return_url) phải là http hoặc https.")
        amount = _positive_int(fields.get("amount_vnd"), "Số tiền (amount_vnd) phải là số nguyên dương.")
        return cls(payment_id.strip(), bank, amount, return_url)

    def query(self) -> dict[str, str]:
        if self.signed is not None:
            return dict(self.signed)
        fields = {"payment_id": self.payment_id, "bank_code": self.bank.code, "amount_vnd": str(self.amount_vnd)}
        if self.return_url:
            fields["return_url"] = self.return_url
        return fields


@dataclass(frozen=True)
class CallbackResult:
    status: int
    response: Any  # parsed JSON, or the raw text when our API did not answer JSON


@dataclass(frozen=True)
class BankTransaction:
    """A payment as the bank's books hold it (what its status API and settlement files report)."""

    bank_code: str
    payment_id: str
    amount_vnd: int
    status: str  # SUCCESS, FAILED or PENDING
    bank_txn_ref: str | None = None
    paid_at: datetime | None = None
    created_at: datetime | None = None
    refunded_vnd: int = 0
    expires_at: datetime | None = None

    def at(self, now: datetime) -> BankTransaction:
        """As the bank sees it at ``now``: a payment page left open past its expiry is closed, failed."""
        if self.status == "PENDING" and self.expires_at is not None and now > self.expires_at:
            return replace(self, status="FAILED")
        return self

    def public(self) -> dict[str, Any]:
        paid_at = self.paid_at.astimezone(VN_TZ).isoformat() if self.paid_at else None
        return {"payment_id": self.payment_id, "bank_txn_ref": self.bank_txn_ref, "status": self.status,
                "amount_vnd": self.amount_vnd, "paid_at": paid_at}


@dataclass(frozen=True)
class SettlementFile:
    name: str
    content: bytes
    planted: list[dict[str, Any]]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def format_vnd(amount: int) -> str:
    """Vietnamese grouping: 1378500 -> "1.378.500 đ"."""
    return f"{amount:,}".replace(",", ".") + " đ"


class SimulatedBank:
    """The five banks' payment pages and callbacks behind one local HTTP server.

    ``secrets``: ``{"banks": {"VCB": "whsec_...", ...}, "vnpay_hash_secret": "...", "vnpay_tmn_code"?: "..."}``.
    ``clock`` returns an aware datetime (defaults to now in GMT+7).
    """

    def __init__(
        self,
        api_base_url: str,
        secrets: dict,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.api_base_url = api_base_url.rstrip("/")
        self.secrets = secrets
        self._address = (host, port)
        self._clock = clock or (lambda: datetime.now(VN_TZ))
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # Never go through an HTTP proxy from the environment: the API is local.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._ib_lock = threading.Lock()
        self._ib_accounts: dict[tuple[str, str], InternetBankingAccount] = {}
        for account in DEMO_IB_ACCOUNTS:
            self.add_ib_account(account)
        # The bank's books: one lock for transactions, refunds, request ids and files (a test-sized store).
        self._books = threading.Lock()
        self._txns: dict[tuple[str, str], BankTransaction] = {}
        self._request_ids: set[str] = set()  # the VNPay-style gateway's vnp_RequestId, any command
        self._refunds: dict[tuple[str, str], dict[str, Any]] = {}  # (bank, refund id) -> the answer given
        self._settle_on: dict[tuple[str, str], date] = {}  # payments whose settlement was moved to another day
        self._files: dict[str, bytes] = {}
        self._silent = False
        self._lose_answers = False  # process, then hold the connection: the answer is lost on the way
        self.status_queries: Counter = Counter()  # (bank, payment id) -> status queries received (tests count them)
        self._release = threading.Event()

    # --- internet-banking accounts (account linking) ----------------------------------------------------------

    def add_ib_account(self, account: InternetBankingAccount) -> None:
        with self._ib_lock:
            self._ib_accounts[(account.bank_code, account.username.lower())] = account

    def find_ib_account(self, bank_code: str, username: str) -> InternetBankingAccount | None:
        with self._ib_lock:
            return self._ib_accounts.get((bank_code, username.lower()))

    # --- lifecycle --------------------------------------------------------------------------------------------

    def start(self) -> SimulatedBank:
        if self._server is not None:
            raise RuntimeError("simulated bank already started")
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="simulated-bank", daemon=True
        )
        self._thread.start()
        log.info("simulated bank listening on %s", self.url)
        return self

    def stop(self) -> None:
        self._release.set()  # let connections held by a silenced status API go
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> SimulatedBank:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("simulated bank not started")
        host, port = self._server.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}"

    # --- the bank's side of a payment -------------------------------------------------------------------------

    def pay(self, order: PaymentOrder, outcome: str, amount_override_vnd: int | None = None, *,
            deliver: bool = True) -> CallbackResult | None:
        """Book the outcome ("success" or "cancel") of ``order``, then tell our API using the bank's protocol
        (unless ``deliver`` is False: a callback that got lost; the status query and the settlement file remain)."""
        if outcome not in VNPAY_RESPONSE_CODES:
            raise InvalidOrderError("Kết quả (outcome) phải là success hoặc cancel.")
        amount = order.amount_vnd if amount_override_vnd is None else amount_override_vnd
        now = self._clock().replace(microsecond=0)
        txn = BankTransaction(order.bank.code, order.payment_id, amount, SUCCESS if outcome == "success" else "FAILED",
                              self._txn_ref(now), now, order.created_at)
        self.record_transaction(txn)
        if not deliver:
            return None
        if order.bank.protocol == VNPAY_IPN:
            query = urlencode(self.vnpay_result_params(txn))
            request = urllib.request.Request(f"{self.api_base_url}/v1/partners/banks/vnpay/ipn?{query}")
        else:
            request = self._standard_webhook(txn)
        return self._send(request)

    def vnpay_result_params(self, txn: BankTransaction) -> dict[str, str]:
        """The signed result of ``txn`` as the gateway sends it, in the IPN and on the return URL alike."""
        return build_ipn_params(
            payment_id=txn.payment_id, amount_vnd=txn.amount_vnd, hash_secret=self._vnpay_secret(),
            response_code=VNPAY_RESPONSE_CODES["success" if txn.status == SUCCESS else "cancel"],
            bank_code=txn.bank_code, bank_txn_ref=txn.bank_txn_ref or "0", paid_at=txn.paid_at,
            tmn_code=self._tmn_code(),
        )

    def _standard_webhook(self, txn: BankTransaction) -> urllib.request.Request:
        payload = {**txn.public(), "currency": "VND", "status": "SUCCESS" if txn.status == SUCCESS else "FAILED"}
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = self._sign(txn.bank_code, body)
        url = f"{self.api_base_url}/v1/partners/banks/{txn.bank_code}/callbacks"
        return urllib.request.Request(
            url, data=body, method="POST", headers={**headers, "Content-Type": "application/json"}
        )

    def _sign(self, bank_code: str, body: bytes) -> dict[str, str]:
        secret = self._secret(lambda s: s["banks"][bank_code], f"banks.{bank_code}")
        return sign_webhook(body, secret, f"msg_{uuid.uuid4().hex}", int(self._clock().timestamp()))

    def _vnpay_secret(self) -> str:
        return self._secret(lambda s: s["vnpay_hash_secret"], "vnpay_hash_secret")

    def _tmn_code(self) -> str:
        return self.secrets.get("vnpay_tmn_code", DEFAULT_TMN_CODE)

    # --- the bank's books ---------------------------------------------------------------------------------------

    def record_transaction(self, txn: BankTransaction) -> None:
        with self._books:
            self._txns[(txn.bank_code, txn.payment_id)] = txn

    def transaction(self, bank_code: str, payment_id: str) -> BankTransaction | None:
        with self._books:
            return self._txns.get((bank_code, payment_id))

    def opened(self, order: PaymentOrder) -> None:
        """The citizen is on the payment page: the bank knows the payment, not finished (unless it already is)."""
        with self._books:
            key = (order.bank.code, order.payment_id)
            if key not in self._txns:
                self._txns[key] = BankTransaction(order.bank.code, order.payment_id, order.amount_vnd, "PENDING",
                                                  created_at=order.created_at, expires_at=order.expires_at)

    def set_status_api(self, answering: bool, process: bool = False) -> None:
        """False: the status and refund APIs accept connections and never answer (until True again or stop);
        with ``process``, they do what was asked (a refund is booked) before holding the connection."""
        self._silent = not answering and not process
        self._lose_answers = not answering and process
        if answering:
            self._release.set()
        else:
            self._release.clear()

    def hold_if_silent(self) -> bool:
        """Called by the HTTP handler first: True when it held the connection and must not answer."""
        if not self._silent:
            return False
        self._release.wait(SILENT_SECONDS)
        return True

    def hold_if_losing(self) -> bool:
        """Called by the HTTP handler after processing: True when it held the connection (the answer is lost)."""
        if not self._lose_answers:
            return False
        self._release.wait(SILENT_SECONDS)
        return True

    def deliver(self, bank_code: str, payment_id: str) -> CallbackResult:
        """Send the callback of a booked transaction now (a late callback, after one that was never sent)."""
        txn = self.transaction(bank_code, payment_id)
        if txn is None or txn.status == "PENDING":
            raise InvalidOrderError("Không có giao dịch đã hoàn tất để gửi kết quả.")
        if BANKS[bank_code].protocol == VNPAY_IPN:
            query = urlencode(self.vnpay_result_params(txn))
            return self._send(urllib.request.Request(f"{self.api_base_url}/v1/partners/banks/vnpay/ipn?{query}"))
        return self._send(self._standard_webhook(txn))

    # --- VNPay-style merchant API (querydr, refund) ----------------------------------------------------------

    def vnpay_transaction_api(self, body: Any) -> dict[str, str]:
        """The gateway's answer to one ``POST /merchant_webapi/api/transaction`` body, signed."""
        secret = self._vnpay_secret()
        command = body.get("vnp_Command") if isinstance(body, dict) else None
        if command not in ("querydr", "refund"):
            return self._vnp_answer("querydr", {}, "03", "Du lieu gui sang khong dung dinh dang")
        verify = vnpay_api.verify_query_request if command == "querydr" else vnpay_api.verify_refund_request
        if not verify(body, secret):
            return self._vnp_answer(command, body, "97", "Checksum khong hop le")
        if body.get("vnp_Version") != API_VERSION or not _is_vnp_date(body.get("vnp_CreateDate")) \
                or not _is_vnp_date(body.get("vnp_TransactionDate")) or not body.get("vnp_RequestId"):
            return self._vnp_answer(command, body, "03", "Du lieu gui sang khong dung dinh dang")
        if body.get("vnp_TmnCode") != self._tmn_code():
            return self._vnp_answer(command, body, "02", "Ma dinh danh ket noi khong hop le")
        with self._books:
            if body["vnp_RequestId"] in self._request_ids:
                return self._vnp_answer(command, body, "94", "Yeu cau bi trung lap")
            self._request_ids.add(body["vnp_RequestId"])
            if command == "querydr":
                self.status_queries[("MB", str(body.get("vnp_TxnRef")))] += 1
            txn = self._txns.get(("MB", str(body.get("vnp_TxnRef"))))
            if txn is None or (txn.created_at and format_vnp_date(txn.created_at) != body["vnp_TransactionDate"]):
                return self._vnp_answer(command, body, "91", "Khong tim thay giao dich yeu cau")
            txn = txn.at(self._clock())
            if command == "querydr":
                return self._vnp_answer(command, body, "00", "QueryDR Success", txn)
            return self._vnp_refund(body, txn)

    def _vnp_refund(self, body: dict, txn: BankTransaction) -> dict[str, str]:
        """A refund against ``txn`` (under the books lock)."""
        kind, raw = body.get("vnp_TransactionType"), str(body.get("vnp_Amount") or "")
        if kind not in (vnpay_api.REFUND_FULL, vnpay_api.REFUND_PARTIAL) or not body.get("vnp_CreateBy"):
            return self._vnp_answer("refund", body, "03", "Du lieu gui sang khong dung dinh dang", txn)
        if not (raw.isascii() and raw.isdigit()) or int(raw) <= 0 or int(raw) % 100:
            return self._vnp_answer("refund", body, "93", "So tien hoan tra khong hop le", txn)
        amount = int(raw) // 100
        if txn.status != SUCCESS:
            return self._vnp_answer("refund", body, "95", "Giao dich khong thanh cong, khong the hoan tra", txn)
        if kind == vnpay_api.REFUND_FULL and txn.refunded_vnd:
            return self._vnp_answer("refund", body, "04", "Khong cho phep hoan toan phan sau hoan mot phan", txn)
        if kind == vnpay_api.REFUND_FULL and amount != txn.amount_vnd:
            return self._vnp_answer("refund", body, "93", "So tien hoan tra khong hop le", txn)
        if amount > txn.amount_vnd - txn.refunded_vnd:
            return self._vnp_answer("refund", body, "02", "Tong so tien hoan tra lon hon so tien goc", txn)
        txn = replace(txn, refunded_vnd=txn.refunded_vnd + amount)
        self._txns[("MB", txn.payment_id)] = txn
        answer = self._vnp_answer("refund", {**body, "refund_no": self._txn_ref(self._clock())}, "00",
                                  "Refund success", txn)
        self._refunds[("MB", body["vnp_RequestId"])] = answer
        return answer

    def _vnp_answer(self, command: str, body: Mapping[str, Any], code: str, message: str,
                    txn: BankTransaction | None = None) -> dict[str, str]:
        fields = {"vnp_ResponseId": uuid.uuid4().hex, "vnp_Command": command, "vnp_ResponseCode": code,
                  "vnp_Message": message, "vnp_TmnCode": self._tmn_code(),
                  "vnp_TxnRef": str(body.get("vnp_TxnRef", "")),
                  "vnp_OrderInfo": str(body.get("vnp_OrderInfo", ""))}
        if txn is not None:
            refund = command == "refund"
            fields.update({
                "vnp_Amount": str(body.get("vnp_Amount")) if refund else str(txn.amount_vnd * 100),
                "vnp_BankCode": txn.bank_code, "vnp_PayDate": format_vnp_date(txn.paid_at) if txn.paid_at else "",
                "vnp_TransactionNo": str(body.get("refund_no", "")) if refund else (txn.bank_txn_ref or ""),
                "vnp_TransactionType": str(body.get("vnp_TransactionType")) if refund else _vnp_type(txn),
                "vnp_TransactionStatus": "06" if refund else _VNP_STATUS[txn.status],
            })
        if command == "refund":
            return vnpay_api.sign_refund_answer(fields, self._vnpay_secret())
        fields.update({"vnp_PromotionCode": "", "vnp_PromotionAmount": ""})
        return vnpay_api.sign_query_answer(fields, self._vnpay_secret())

    # --- Standard Webhooks banks' API (status, refund) -------------------------------------------------------

    def webhook_status(self, bank_code: str, payment_id: str) -> dict[str, Any]:
        with self._books:
            self.status_queries[(bank_code, payment_id)] += 1
        txn = self.transaction(bank_code, payment_id)
        if txn is None:
            return {"payment_id": payment_id, "bank_txn_ref": None, "status": "NOT_FOUND", "amount_vnd": None,
                    "paid_at": None}
        return txn.at(self._clock()).public()

    def webhook_refund(self, bank_code: str, fields: Any) -> tuple[int, dict[str, Any]]:
        """(HTTP status, answer) of a refund request; one refund per ``refund_id``, whatever the retries."""
        if not isinstance(fields, dict) or not _short_text(fields.get("refund_id")) \
                or not _short_text(fields.get("payment_id")) or not _positive(fields.get("amount_vnd")):
            return 400, {"error": "INVALID_REQUEST"}
        refund_id, payment_id, amount = fields["refund_id"], fields["payment_id"], fields["amount_vnd"]
        refused = {"refund_id": refund_id, "payment_id": payment_id, "status": "REFUSED"}
        with self._books:
            done = self._refunds.get((bank_code, refund_id))
            if done is not None:
                if (done["payment_id"], done["amount_vnd"]) == (payment_id, amount):
                    return 200, done
                return 409, {**refused, "reason": "REFUND_ID_REUSED"}
            txn = self._txns.get((bank_code, payment_id))
            reason = _refund_refusal(txn, fields.get("bank_txn_ref"), amount)
            if reason:
                return 422, {**refused, "reason": reason}
            self._txns[(bank_code, payment_id)] = replace(txn, refunded_vnd=txn.refunded_vnd + amount)
            done = {"refund_id": refund_id, "payment_id": payment_id, "status": "REFUNDED",
                    "bank_refund_ref": "RF" + self._txn_ref(self._clock())[2:], "amount_vnd": amount}
            self._refunds[(bank_code, refund_id)] = done
            return 200, done

    def refunds(self, bank_code: str) -> list[dict[str, Any]]:
        with self._books:
            return [answer for (bank, _), answer in self._refunds.items() if bank == bank_code]

    # --- settlement files -------------------------------------------------------------------------------------

    def settlement_file(self, bank_code: str, day: date, plant: Iterable[str | Mapping[str, Any]] = ()
                        ) -> SettlementFile:
        """The bank's file for ``day`` (its successful payments of that day, Vietnam time) with discrepancies
        planted on request (``PLANTS``; a name, or ``{"kind", "payment_id"}`` to choose the payment). Kept for
        ``GET /settlement/<name>``."""
        fmt = format_for_bank(bank_code)
        with self._books:
            txns = sorted((t for key, t in self._txns.items() if t.bank_code == bank_code and t.status == SUCCESS
                           and self._settle_on.get(key, t.paid_at.astimezone(VN_TZ).date()) == day),
                          key=lambda t: (t.paid_at, t.payment_id))
            lines = [SettlementLine(0, day, bank_code, t.bank_txn_ref, t.payment_id, t.amount_vnd, "VND", t.paid_at,
                                    SUCCESS) for t in txns]
            planted, trailer = _plant(lines, list(plant), day, self._txn_ref)
            for entry in planted:
                if entry["kind"] == "next_day":
                    self._settle_on[(bank_code, entry["payment_id"])] = day + timedelta(days=1)
        text = io.StringIO(newline="")
        count, units = write_settlement(lines, fmt, text, trailer=None)
        content = text.getvalue()
        if trailer != "truncated":
            count = count + 1 if trailer == "wrong_trailer" else count
            content += f"{fmt.trailer_tag}{fmt.delimiter}{count}{fmt.delimiter}{units}\r\n"
        name = settlement_file_name(bank_code, day, fmt)
        file = SettlementFile(name, content.encode("utf-8"), planted)
        with self._books:
            self._files[name] = file.content
        return file

    def stored_file(self, name: str) -> bytes | None:
        with self._books:
            return self._files.get(name)

    def _secret(self, pick: Callable[[dict], str], name: str) -> str:
        try:
            return pick(self.secrets)
        except (KeyError, TypeError):
            raise RuntimeError(f"simulated bank has no secret {name}") from None

    @staticmethod
    def _txn_ref(now: datetime) -> str:
        # FT + yy + day of year + 6 random digits, like the references Vietnamese core banking systems print.
        local = now.astimezone(VN_TZ)
        return f"FT{local:%y}{local.timetuple().tm_yday:03d}{randbelow(10**6):06d}"

    def _send(self, request: urllib.request.Request) -> CallbackResult:
        try:
            with self._opener.open(request, timeout=CALLBACK_TIMEOUT_SECONDS) as response:
                return CallbackResult(response.status, _parse_body(response.read()))
        except urllib.error.HTTPError as error:  # our API answered, with a refusal: that is a result too
            with error:
                return CallbackResult(error.code, _parse_body(error.read()))
        except (urllib.error.URLError, OSError) as error:
            raise CallbackFailedError(f"callback to {request.full_url.split('?')[0]} failed: {error}") from error


def _parse_body(raw: bytes) -> Any:
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _positive_int(value: Any, message: str) -> int:
    if isinstance(value, bool):
        raise InvalidOrderError(message)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 15:
        value = int(value)
    if not isinstance(value, int) or value <= 0:
        raise InvalidOrderError(message)
    return value


_VNP_STATUS = {SUCCESS: "00", "PENDING": "01", "FAILED": "02"}


def _vnp_type(txn: BankTransaction) -> str:
    # 01 payment; once refunded the gateway reports the refund's type: 02 full, 03 partial.
    if not txn.refunded_vnd:
        return "01"
    return vnpay_api.REFUND_FULL if txn.refunded_vnd == txn.amount_vnd else vnpay_api.REFUND_PARTIAL


def _is_vnp_date(value: Any) -> bool:
    try:
        parse_vnp_date(value)
    except ValueError:
        return False
    return True


def _short_text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 128 and value.isprintable()


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _refund_refusal(txn: BankTransaction | None, bank_txn_ref: Any, amount: int) -> str | None:
    if txn is None:
        return "TRANSACTION_NOT_FOUND"
    if txn.status != SUCCESS:
        return "TRANSACTION_NOT_PAID"
    if bank_txn_ref and bank_txn_ref != txn.bank_txn_ref:
        return "REFERENCE_MISMATCH"
    if amount > txn.amount_vnd - txn.refunded_vnd:
        return "AMOUNT_EXCEEDS_PAID"
    return None


def _plant(lines: list[SettlementLine], plants: list[Any], day: date, new_ref: Callable[[datetime], str]
           ) -> tuple[list[dict[str, Any]], str | None]:
    """Alter ``lines`` in place as asked; returns what was planted and the trailer damage (None, "truncated" or
    "wrong_trailer"). Each line-level plant takes a payment no other plant took (first by payment time)."""
    planted, trailer, taken = [], None, set()
    for spec in plants:
        kind = spec.get("kind") if isinstance(spec, Mapping) else spec
        if kind not in PLANTS:
            raise InvalidOrderError(f"Loại sai lệch không được hỗ trợ: {kind!r}. Hỗ trợ: {', '.join(PLANTS)}.")
        if kind in ("truncated", "wrong_trailer"):
            trailer = kind
            planted.append({"kind": kind})
            continue
        if kind == "missing_at_portal":
            payment_id = spec.get("payment_id") if isinstance(spec, Mapping) else None
            moment = datetime.combine(day, datetime.min.time(), VN_TZ) + timedelta(hours=12)
            line = SettlementLine(0, day, _bank_of(lines, spec), new_ref(moment), payment_id or
                                  f"PAYSIM{uuid.uuid4().hex[:20].upper()}", 500_000, "VND", moment, SUCCESS)
            lines.append(line)
            planted.append({"kind": kind, "payment_id": line.payment_id, "bank_txn_ref": line.bank_txn_ref,
                            "amount_vnd": line.amount_vnd})
            continue
        index = _target(lines, spec, taken)
        taken.add(lines[index].payment_id)
        planted.append(_alter(lines, index, kind, day, new_ref))
    return planted, trailer


def _bank_of(lines: list[SettlementLine], spec: Any) -> str:
    if isinstance(spec, Mapping) and spec.get("bank_code"):
        return str(spec["bank_code"])
    if not lines:
        raise InvalidOrderError("Cần chỉ rõ bank_code khi ngày đối soát chưa có giao dịch.")
    return lines[0].bank_code


def _target(lines: list[SettlementLine], spec: Any, taken: set[str]) -> int:
    wanted = spec.get("payment_id") if isinstance(spec, Mapping) else None
    for index, line in enumerate(lines):
        if line.payment_id not in taken and (wanted is None or line.payment_id == wanted):
            return index
    raise InvalidOrderError("Không có giao dịch phù hợp để cài sai lệch "
                            f"{spec.get('kind') if isinstance(spec, Mapping) else spec}.")


def _alter(lines: list[SettlementLine], index: int, kind: str, day: date, new_ref: Callable[[datetime], str]
           ) -> dict[str, Any]:
    line = lines[index]
    entry: dict[str, Any] = {"kind": kind, "payment_id": line.payment_id, "bank_txn_ref": line.bank_txn_ref,
                             "amount_vnd": line.amount_vnd}
    if kind in ("missing_at_bank", "next_day"):
        del lines[index]
    elif kind == "amount_mismatch":
        lines[index] = replace(line, amount_vnd=line.amount_vnd + 1_000)
        entry["bank_amount_vnd"] = line.amount_vnd + 1_000
    elif kind == "status_mismatch":
        lines[index] = replace(line, status=REVERSED)
    else:  # duplicate_at_bank: the bank took the money a second time, a minute later (within the day)
        day_end = datetime.combine(day, datetime.max.time().replace(microsecond=0), VN_TZ)
        moment = min(line.paid_at + timedelta(minutes=1), day_end)
        second = replace(line, bank_txn_ref=new_ref(moment), paid_at=moment)
        lines.append(second)
        entry["second_bank_txn_ref"] = second.bank_txn_ref
    return entry


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return None


def _seeded_transaction(fields: dict[str, Any]) -> BankTransaction:
    """``POST /control/transactions``: a transaction booked at the bank without our API hearing of it."""
    bank = BANKS.get(str(fields.get("bank_code")))
    status = fields.get("status", SUCCESS)
    if bank is None or status not in (SUCCESS, "FAILED", "PENDING") or not _short_text(fields.get("payment_id")):
        raise InvalidOrderError("bank_code, payment_id hoặc status không hợp lệ.")
    amount = _positive_int(fields.get("amount_vnd"), "Số tiền (amount_vnd) phải là số nguyên dương.")
    paid_at = datetime.fromisoformat(fields["paid_at"]) if fields.get("paid_at") else None
    created_at = datetime.fromisoformat(fields["created_at"]) if fields.get("created_at") else None
    if status == SUCCESS and (paid_at is None or paid_at.tzinfo is None):
        raise InvalidOrderError("Giao dịch thành công cần paid_at (ISO 8601, có múi giờ).")
    ref = fields.get("bank_txn_ref") or (SimulatedBank._txn_ref(paid_at) if paid_at else None)
    return BankTransaction(bank.code, fields["payment_id"], amount, status, ref, paid_at, created_at)


# --- HTTP ---------------------------------------------------------------------------------------------------------

class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], bank: SimulatedBank) -> None:
        self.bank = bank
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "SimulatedBank/1.0"
    timeout = 15  # a silent client must not hold a thread forever

    def do_GET(self) -> None:
        self._guarded(self._get)

    def do_POST(self) -> None:
        self._guarded(self._post)

    def _guarded(self, handle: Callable[[], None]) -> None:
        # A bug or a missing secret must give the caller a 500, not a connection closed without an answer.
        try:
            handle()
        except Exception:
            log.exception("simulated bank failed on %s %s", self.command, self.path.partition("?")[0])
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "SIMULATOR_ERROR"})

    def _get(self) -> None:
        path, _, query = self.path.partition("?")
        fields = dict(parse_qsl(query, keep_blank_values=True))
        bank_path = _BANK_PATH.fullmatch(path)
        if path == "/api/health":
            self._json(HTTPStatus.OK, {"status": "ok", "banks": sorted(BANKS)})
        elif path in ("/pay", "/paymentv2/vpcpay.html"):
            self._page(fields, _payment_page)
        elif path == "/ib/login":
            self._page(fields, _login_page)
        elif bank_path and bank_path.group(3):
            self._webhook_bank(bank_path.group(1), b"", lambda bank, code: (
                HTTPStatus.OK, bank.webhook_status(code, unquote(bank_path.group(3)))))
        elif path.startswith("/settlement/"):
            content = self.server.bank.stored_file(path[len("/settlement/"):])
            if content is None:
                self._json(HTTPStatus.NOT_FOUND, {"error": "FILE_NOT_FOUND"})
            else:
                self._respond(HTTPStatus.OK, "text/csv; charset=utf-8", content.decode("utf-8"))
        else:
            page = _message_page("Không tìm thấy trang", "Đường dẫn không tồn tại.")
            self._html(HTTPStatus.NOT_FOUND, page)

    def _post(self) -> None:
        path = self.path.partition("?")[0]
        raw = self._read_body()
        if raw is None:
            problem = {"error": "BODY_TOO_LARGE", "detail": "Yêu cầu quá lớn."}
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, problem)
            return
        bank_path = _BANK_PATH.fullmatch(path)
        if path == "/api/pay":
            self._api_pay(raw)
        elif path == "/api/ib/accounts/lookup":
            self._ib_lookup(raw)
        elif path == "/api/ib/accounts":
            self._ib_add(raw)
        elif path in ("/pay/confirm", "/pay/cancel"):
            fields = dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
            self._browser_pay(fields, "success" if path == "/pay/confirm" else "cancel")
        elif path == VNPAY_API_PATH:
            self._vnpay_api(raw)
        elif bank_path and not bank_path.group(3):
            self._webhook_bank(bank_path.group(1), raw,
                               lambda bank, code: bank.webhook_refund(code, _json_or_none(raw)))
        elif path.startswith("/control/"):
            self._control(path[len("/control/"):], raw)
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": "NOT_FOUND"})

    # --- endpoints --------------------------------------------------------------------------------------------

    def _order(self, fields: dict[str, str]) -> PaymentOrder:
        """The order a payment page or form is about; the VNPay-style bank takes only a signed payment URL."""
        bank = self.server.bank
        if any(key.startswith("vnp_") for key in fields) or fields.get("bank_code") == "MB":
            return PaymentOrder.from_vnpay(fields, bank._vnpay_secret(), bank._tmn_code(), bank._clock())
        return PaymentOrder.from_fields(fields)

    def _page(self, fields: dict[str, str], render: Callable[[PaymentOrder], str]) -> None:
        try:
            order = self._order(fields)
        except InvalidOrderError as error:
            self._html(HTTPStatus.BAD_REQUEST, _message_page("Yêu cầu thanh toán không hợp lệ", str(error)))
            return
        self.server.bank.opened(order)
        self._html(HTTPStatus.OK, render(order))

    def _browser_pay(self, fields: dict[str, str], outcome: str) -> None:
        bank = self.server.bank
        try:
            order = self._order(fields)
            result = bank.pay(order, outcome)
        except InvalidOrderError as error:
            self._html(HTTPStatus.BAD_REQUEST, _message_page("Yêu cầu thanh toán không hợp lệ", str(error)))
            return
        except CallbackFailedError as error:
            log.warning("%s", error)
            result = None
        if order.return_url and order.signed is not None:
            # The gateway sends the browser back with the signed result (display only, the IPN is what counts).
            txn = bank.transaction(order.bank.code, order.payment_id)
            separator = "&" if urlsplit(order.return_url).query else "?"
            self._redirect(order.return_url + separator + urlencode(bank.vnpay_result_params(txn)))
        elif order.return_url:
            self._redirect(order.return_url)
        else:
            status = HTTPStatus.OK if result is not None else HTTPStatus.BAD_GATEWAY
            self._html(status, _result_page(order, outcome, result))

    def _api_pay(self, raw: bytes) -> None:
        try:
            fields = json.loads(raw or b"null")
            if not isinstance(fields, dict):
                raise InvalidOrderError("Nội dung yêu cầu phải là một đối tượng JSON.")
            override = fields.get("amount_override_vnd")
            if override is not None:
                override = _positive_int(override, "amount_override_vnd phải là số nguyên dương.")
            # The VNPay-style bank's signed payment URL fields (vnp_...) are checked as its page checks them.
            order = self._order(fields) if any(k.startswith("vnp_") for k in fields) else \
                PaymentOrder.from_fields(fields)
            deliver = fields.get("deliver", True) is not False
            result = self.server.bank.pay(order, str(fields.get("outcome")), override, deliver=deliver)
        except (InvalidOrderError, ValueError) as error:
            self._json(HTTPStatus.BAD_REQUEST, {"error": "INVALID_REQUEST", "detail": str(error)})
        except CallbackFailedError as error:
            self._json(HTTPStatus.BAD_GATEWAY, {"callback_status": None, "callback_response": None,
                                                "error": "CALLBACK_FAILED", "detail": str(error)})
        else:
            if result is None:
                txn = self.server.bank.transaction(order.bank.code, order.payment_id)
                self._json(HTTPStatus.OK, {"callback_status": None, "callback_response": None, "delivered": False,
                                           "transaction": txn.public()})
            else:
                self._json(HTTPStatus.OK, {"callback_status": result.status, "callback_response": result.response})

    def _vnpay_api(self, raw: bytes) -> None:
        bank = self.server.bank
        if bank.hold_if_silent():
            self.close_connection = True
            return
        # The gateway answers every request, even a malformed one, with signed JSON and HTTP 200.
        answer = bank.vnpay_transaction_api(_json_or_none(raw))
        if bank.hold_if_losing():
            self.close_connection = True
            return
        self._json(HTTPStatus.OK, answer)

    def _webhook_bank(self, code: str, raw: bytes, handle: Callable[[SimulatedBank, str], tuple[int, Any]]) -> None:
        """A Standard Webhooks bank's API call: verify the request's signature, answer signed."""
        bank = self.server.bank
        known = BANKS.get(code)
        if known is None or known.protocol != STANDARD_WEBHOOKS:
            self._json(HTTPStatus.NOT_FOUND, {"error": "BANK_UNKNOWN"})
            return
        if bank.hold_if_silent():
            self.close_connection = True
            return
        secret = (bank.secrets.get("banks") or {}).get(code)
        try:
            verify_webhook(raw, dict(self.headers.items()), [secret] if secret else [],
                           now=int(bank._clock().timestamp()))
        except SignatureError:
            self._json(HTTPStatus.UNAUTHORIZED, {"error": "INVALID_SIGNATURE"})
            return
        status, answer = handle(bank, code)
        if bank.hold_if_losing():
            self.close_connection = True
            return
        body = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        self._respond(status, "application/json; charset=utf-8", body.decode("utf-8"), bank._sign(code, body))

    def _control(self, name: str, raw: bytes) -> None:
        bank, fields = self.server.bank, _json_or_none(raw)
        if not isinstance(fields, dict):
            self._json(HTTPStatus.BAD_REQUEST, {"error": "INVALID_REQUEST"})
            return
        try:
            if name == "settlement":
                file = bank.settlement_file(str(fields.get("bank") or ""), date.fromisoformat(str(fields["date"])),
                                            fields.get("plant") or [])
                self._json(HTTPStatus.OK, {"name": file.name, "url": f"/settlement/{file.name}", "sha256": file.sha256,
                                           "size_bytes": len(file.content), "planted": file.planted})
            elif name == "status-api":
                answering, process = fields.get("answer") is not False, fields.get("process") is True
                bank.set_status_api(answering, process)
                self._json(HTTPStatus.OK, {"answering": answering, **({"processing": True} if process else {})})
            elif name == "deliver":
                result = bank.deliver(str(fields.get("bank_code")), str(fields.get("payment_id")))
                self._json(HTTPStatus.OK, {"callback_status": result.status, "callback_response": result.response})
            elif name == "transactions":
                txn = _seeded_transaction(fields)
                bank.record_transaction(txn)
                self._json(HTTPStatus.CREATED, txn.public())
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": "NOT_FOUND"})
        except (InvalidOrderError, KeyError, ValueError, TypeError) as error:
            self._json(HTTPStatus.BAD_REQUEST, {"error": "INVALID_REQUEST", "detail": str(error)})
        except CallbackFailedError as error:
            self._json(HTTPStatus.BAD_GATEWAY, {"error": "CALLBACK_FAILED", "detail": str(error)})

    def _ib_lookup(self, raw: bytes) -> None:
        bank = self.server.bank
        try:
            fields = json.loads(raw or b"null")
            code, username = str(fields["bank_code"]), str(fields["username"])
        except (ValueError, KeyError, TypeError):
            self._json(HTTPStatus.BAD_REQUEST, {"error": "INVALID_REQUEST"})
            return
        secret = (bank.secrets.get("banks") or {}).get(code)
        if secret:
            try:
                verify_webhook(raw, dict(self.headers.items()), [secret])
            except SignatureError:
                self._json(HTTPStatus.UNAUTHORIZED, {"error": "INVALID_SIGNATURE"})
                return
        account = bank.find_ib_account(code, username)
        if account is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": "ACCOUNT_NOT_FOUND"})
        else:
            self._json(HTTPStatus.OK, account.public())

    def _ib_add(self, raw: bytes) -> None:
        try:
            fields = json.loads(raw or b"null")
            account = InternetBankingAccount(**{k: str(fields[k]) for k in (
                "bank_code", "username", "holder_name", "id_number", "otp_phone", "account_number")})
        except (ValueError, KeyError, TypeError):
            self._json(HTTPStatus.BAD_REQUEST, {"error": "INVALID_REQUEST"})
            return
        if account.bank_code not in BANKS:
            self._json(HTTPStatus.BAD_REQUEST, {"error": "BANK_UNKNOWN"})
            return
        self.server.bank.add_ib_account(account)
        self._json(HTTPStatus.CREATED, {"bank_code": account.bank_code, "username": account.username})

    # --- plumbing ---------------------------------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        """The request body, or None when it is larger than we accept (or its length is unreadable)."""
        raw_length = self.headers.get("Content-Length") or "0"
        if not (raw_length.isascii() and raw_length.isdigit()) or int(raw_length) > MAX_REQUEST_BYTES:
            self.close_connection = True  # the unread body must not be taken for the next request
            return None
        length = int(raw_length)
        return self.rfile.read(length) if length else b""

    def _json(self, status: int, payload: Any) -> None:
        self._respond(status, "application/json; charset=utf-8", json.dumps(payload, ensure_ascii=False))

    def _html(self, status: int, page: str) -> None:
        self._respond(status, "text/html; charset=utf-8", page)

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _respond(self, status: int, content_type: str, text: str, headers: Mapping[str, str] | None = None) -> None:
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


# --- pages (Vietnamese, for the citizen) ----------------------------------------------------------------------------

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}"
    "table{border-collapse:collapse;width:100%}td{padding:.4rem 0}td:last-child{text-align:right;font-weight:600}"
    "form{display:inline}button{font-size:1rem;padding:.6rem 1.2rem;margin:1rem .5rem 0 0;cursor:pointer}"
    ".note{color:#777;font-size:.85rem}"
)


def _document(title: str, content: str) -> str:
    return (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>{content}"
        '<p class="note">Ngân hàng mô phỏng dùng cho môi trường thử nghiệm.</p></body></html>'
    )


def _hidden_fields(order: PaymentOrder) -> str:
    return "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in order.query().items()
    )


def _payment_page(order: PaymentOrder) -> str:
    hidden = _hidden_fields(order)
    return _document(
        f"Thanh toán — {order.bank.name}",
        f"<h1>{html.escape(order.bank.name)}</h1><h2>Thanh toán nghĩa vụ tài chính đất đai</h2>"
        "<table>"
        f"<tr><td>Ngân hàng</td><td>{html.escape(order.bank.name)}</td></tr>"
        f"<tr><td>Mã giao dịch</td><td>{html.escape(order.payment_id)}</td></tr>"
        f"<tr><td>Số tiền</td><td>{format_vnd(order.amount_vnd)}</td></tr>"
        "<tr><td>Đơn vị thụ hưởng</td><td>Cổng Dịch vụ công quốc gia</td></tr>"
        "</table>"
        f'<form method="post" action="/pay/confirm">{hidden}<button type="submit">Thanh toán</button></form>'
        f'<form method="post" action="/pay/cancel">{hidden}<button type="submit">Hủy giao dịch</button></form>',
    )


def _login_page(order: PaymentOrder) -> str:
    # The credential inputs have no name: the simulator never receives (nor puts in a URL) what is typed there.
    return _document(
        f"Đăng nhập Internet Banking — {order.bank.name}",
        f"<h1>{html.escape(order.bank.name)}</h1><h2>Đăng nhập Internet Banking</h2>"
        f'<form method="get" action="/pay">{_hidden_fields(order)}'
        '<p><label>Tên đăng nhập<br><input type="text" autocomplete="username"></label></p>'
        '<p><label>Mật khẩu<br><input type="password" autocomplete="current-password"></label></p>'
        '<button type="submit">Đăng nhập</button></form>',
    )


def _result_page(order: PaymentOrder, outcome: str, result: CallbackResult | None) -> str:
    title = "Giao dịch thành công" if outcome == "success" else "Giao dịch đã bị hủy"
    if result is None:
        detail = "Không gửi được kết quả về Cổng Dịch vụ công quốc gia."
    else:
        detail = f"Kết quả đã được gửi về Cổng Dịch vụ công quốc gia (HTTP {result.status})."
    amount = format_vnd(order.amount_vnd)
    return _message_page(title, f"{detail} Mã giao dịch {order.payment_id}, số tiền {amount}.")


def _message_page(title: str, message: str) -> str:
    return _document(title, f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>")
