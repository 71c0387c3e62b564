"""Simulated bank for the local stack: the payment page a citizen is redirected to, and the bank's callback.

Our API's ``redirect_url`` points at ``GET {bank}/pay?payment_id=&bank_code=&amount_vnd=&return_url=`` (or at
``/ib/login?...`` for banks without single sign-on). The page offers "Thanh toán" and "Hủy giao dịch"; either one
makes the bank tell our API the result the way that bank's protocol does, then sends the browser back to
``return_url`` (303), as a real bank does whatever our API answered:

- ``standard_webhooks`` (VCB, ICB, BIDV, VBA): signed JSON ``POST {api}/v1/partners/banks/{code}/callbacks``;
- ``vnpay_ipn`` (MB): ``GET {api}/v1/partners/banks/vnpay/ipn?<signed vnp_ parameters>``.

Scripts and tests skip the browser with ``POST /api/pay`` (JSON in, our API's answer out); ``GET /api/health``.

Internet-banking accounts (M7, account linking): ``POST /api/ib/accounts/lookup`` ``{"bank_code", "username"}`` is
what our bank adapter calls (signed per Standard Webhooks with the bank's secret when the simulator has one) and
answers the holder's name, ID number, OTP phone and account number, or 404. ``POST /api/ib/accounts`` adds an
account (local seeding for tests and demos); a few demo accounts exist from the start (``DEMO_IB_ACCOUNTS``).
Local only: stdlib HTTP server in a daemon thread, loopback by default, no dependency beyond the standard library
and our own signing adapters.
"""
from __future__ import annotations

import html
import json
import logging
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from secrets import randbelow
from typing import Any, Callable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit

from chalicelib.core.webhooks import SignatureError, sign_webhook, verify_webhook
from chalicelib.payments.adapters.vnpay import build_ipn_params

__all__ = ["BANKS", "Bank", "CallbackFailedError", "CallbackResult", "DEMO_IB_ACCOUNTS", "InternetBankingAccount",
           "PaymentOrder", "SimulatedBank", "format_vnd"]

log = logging.getLogger(__name__)

VN_TZ = timezone(timedelta(hours=7), "GMT+7")
STANDARD_WEBHOOKS = "standard_webhooks"
VNPAY_IPN = "vnpay_ipn"
CALLBACK_TIMEOUT_SECONDS = 10
MAX_REQUEST_BYTES = 16 * 1024
VNPAY_RESPONSE_CODES = {"success": "00", "cancel": "24"}  # 24 = cancelled by the customer


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
    reference_number: str | None = None  # the portal's số tham chiếu: echoed in the result, as a real bank does

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
        reference = fields.get("reference_number") or None
        if reference is not None and (not isinstance(reference, str) or len(reference) > 40):
            raise InvalidOrderError("Số tham chiếu (reference_number) không hợp lệ.")
        return cls(payment_id.strip(), bank, amount, return_url, reference)

    def query(self) -> dict[str, str]:
        fields = {"payment_id": self.payment_id, "bank_code": self.bank.code, "amount_vnd": str(self.amount_vnd)}
        if self.return_url:
            fields["return_url"] = self.return_url
        if self.reference_number:
            fields["reference_number"] = self.reference_number
        return fields


@dataclass(frozen=True)
class CallbackResult:
    status: int
    response: Any  # parsed JSON, or the raw text when our API did not answer JSON


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

    def pay(self, order: PaymentOrder, outcome: str, amount_override_vnd: int | None = None) -> CallbackResult:
        """Tell our API the outcome ("success" or "cancel") of ``order`` using the bank's protocol."""
        if outcome not in VNPAY_RESPONSE_CODES:
            raise InvalidOrderError("Kết quả (outcome) phải là success hoặc cancel.")
        amount = order.amount_vnd if amount_override_vnd is None else amount_override_vnd
        if order.bank.protocol == VNPAY_IPN:
            request = self._vnpay_ipn(order, outcome, amount)
        else:
            request = self._standard_webhook(order, outcome, amount)
        return self._send(request)

    def _standard_webhook(self, order: PaymentOrder, outcome: str, amount: int) -> urllib.request.Request:
        now = self._clock()
        payload = {
            "payment_id": order.payment_id,
            "bank_txn_ref": self._txn_ref(now),
            "amount_vnd": amount,
            "currency": "VND",
            "status": "SUCCESS" if outcome == "success" else "FAILED",
            "paid_at": now.astimezone(VN_TZ).replace(microsecond=0).isoformat(),
        }
        if order.reference_number:
            payload["reference_number"] = order.reference_number
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        secret = self._secret(lambda s: s["banks"][order.bank.code], f"banks.{order.bank.code}")
        headers = sign_webhook(body, secret, f"msg_{uuid.uuid4().hex}", int(now.timestamp()))
        url = f"{self.api_base_url}/v1/partners/banks/{order.bank.code}/callbacks"
        return urllib.request.Request(
            url, data=body, method="POST", headers={**headers, "Content-Type": "application/json"}
        )

    def _vnpay_ipn(self, order: PaymentOrder, outcome: str, amount: int) -> urllib.request.Request:
        now = self._clock()
        params = build_ipn_params(
            payment_id=order.payment_id,
            amount_vnd=amount,
            hash_secret=self._secret(lambda s: s["vnpay_hash_secret"], "vnpay_hash_secret"),
            response_code=VNPAY_RESPONSE_CODES[outcome],
            bank_code=order.bank.code,
            bank_txn_ref=self._txn_ref(now),
            paid_at=now,
            tmn_code=self.secrets.get("vnpay_tmn_code", "DVCQG001"),
        )
        return urllib.request.Request(f"{self.api_base_url}/v1/partners/banks/vnpay/ipn?{urlencode(params)}")

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
        if path == "/api/health":
            self._json(HTTPStatus.OK, {"status": "ok", "banks": sorted(BANKS)})
        elif path == "/pay":
            self._page(fields, _payment_page)
        elif path == "/ib/login":
            self._page(fields, _login_page)
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
        if path == "/api/pay":
            self._api_pay(raw)
        elif path == "/api/ib/accounts/lookup":
            self._ib_lookup(raw)
        elif path == "/api/ib/accounts":
            self._ib_add(raw)
        elif path in ("/pay/confirm", "/pay/cancel"):
            fields = dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
            self._browser_pay(fields, "success" if path == "/pay/confirm" else "cancel")
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": "NOT_FOUND"})

    # --- endpoints --------------------------------------------------------------------------------------------

    def _page(self, fields: dict[str, str], render: Callable[[PaymentOrder], str]) -> None:
        try:
            order = PaymentOrder.from_fields(fields)
        except InvalidOrderError as error:
            self._html(HTTPStatus.BAD_REQUEST, _message_page("Yêu cầu thanh toán không hợp lệ", str(error)))
            return
        self._html(HTTPStatus.OK, render(order))

    def _browser_pay(self, fields: dict[str, str], outcome: str) -> None:
        try:
            order = PaymentOrder.from_fields(fields)
            result = self.server.bank.pay(order, outcome)
        except InvalidOrderError as error:
            self._html(HTTPStatus.BAD_REQUEST, _message_page("Yêu cầu thanh toán không hợp lệ", str(error)))
            return
        except CallbackFailedError as error:
            log.warning("%s", error)
            result = None
        if order.return_url:
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
            order = PaymentOrder.from_fields(fields)
            result = self.server.bank.pay(order, str(fields.get("outcome")), override)
        except (InvalidOrderError, ValueError) as error:
            self._json(HTTPStatus.BAD_REQUEST, {"error": "INVALID_REQUEST", "detail": str(error)})
        except CallbackFailedError as error:
            self._json(HTTPStatus.BAD_GATEWAY, {"callback_status": None, "callback_response": None,
                                                "error": "CALLBACK_FAILED", "detail": str(error)})
        else:
            self._json(HTTPStatus.OK, {"callback_status": result.status, "callback_response": result.response})

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

    def _respond(self, status: int, content_type: str, text: str) -> None:
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
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
