"""The simulated bank against a stub of our API: signed callbacks for both protocols, pages, browser flow."""
from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from chalicelib.core.webhooks import SignatureError, verify_webhook
from chalicelib.local.bank_sim import SimulatedBank, format_vnd
from chalicelib.payments.adapters.vnpay import parse_ipn, verify_ipn

VN_TZ = timezone(timedelta(hours=7))
NOW = datetime(2021, 5, 20, 10, 1, 2, tzinfo=VN_TZ)
BANK_SECRETS = {code: "whsec_" + base64.b64encode(f"secret-of-{code}".encode()).decode()
                for code in ("VCB", "ICB", "BIDV", "VBA")}
VNPAY_SECRET = "SIMULATEDHASHSECRET0123456789ABC"
SECRETS = {"banks": BANK_SECRETS, "vnpay_hash_secret": VNPAY_SECRET}
TIMEOUT = 5


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class StubApi:
    """Stands in for our API: records every request, answers what the test sets."""

    requests: list[Recorded] = field(default_factory=list)
    status: int = 200
    answer: dict | None = None
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def only_request(self) -> Recorded:
        assert len(self.requests) == 1, self.requests
        return self.requests[0]


def _stub_handler(stub: StubApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            stub.requests.append(Recorded(self.command, path, dict(parse_qsl(query, keep_blank_values=True)),
                                          dict(self.headers.items()), body))
            if stub.answer is not None:
                answer = stub.answer
            elif path.endswith("/vnpay/ipn"):
                answer = {"RspCode": "00", "Message": "Confirm Success"}
            else:
                answer = {"result": "applied"}
            raw = json.dumps(answer).encode()
            self.send_response(stub.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = _record

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def api():
    stub = StubApi()
    stub.server = ThreadingHTTPServer(("127.0.0.1", 0), _stub_handler(stub))
    thread = threading.Thread(target=stub.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield stub
    stub.server.shutdown()
    stub.server.server_close()
    thread.join(TIMEOUT)


@pytest.fixture
def bank(api):
    with SimulatedBank(api.url, SECRETS, clock=lambda: NOW) as simulated:
        yield simulated


def call(base_url: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """One request without following redirects; returns (status, headers, body text)."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("utf-8")
    finally:
        connection.close()


def api_pay(bank: SimulatedBank, **fields) -> tuple[int, dict]:
    status, _, text = call(bank.url, "POST", "/api/pay", json.dumps(fields).encode(),
                           {"Content-Type": "application/json"})
    return status, json.loads(text)


def form_post(bank: SimulatedBank, path: str, fields: dict[str, str]):
    return call(bank.url, "POST", path, urlencode(fields).encode(),
                {"Content-Type": "application/x-www-form-urlencoded"})


# --- Standard Webhooks banks ----------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["VCB", "ICB", "BIDV", "VBA"])
def test_success_is_a_signed_json_callback(bank, api, code):
    status, answer = api_pay(bank, payment_id="pay_1", bank_code=code, amount_vnd=1_378_500, outcome="success")
    assert (status, answer) == (200, {"callback_status": 200, "callback_response": {"result": "applied"}})

    sent = api.only_request()
    assert (sent.method, sent.path) == ("POST", f"/v1/partners/banks/{code}/callbacks")
    assert sent.headers["Content-Type"] == "application/json"
    msg_id = verify_webhook(sent.body, sent.headers, [BANK_SECRETS[code]], now=int(NOW.timestamp()))
    assert msg_id.startswith("msg_")
    payload = json.loads(sent.body)
    assert set(payload) == {"payment_id", "bank_txn_ref", "amount_vnd", "currency", "status", "paid_at"}
    assert payload["payment_id"] == "pay_1"
    assert payload["amount_vnd"] == 1_378_500
    assert (payload["currency"], payload["status"]) == ("VND", "SUCCESS")
    assert re.fullmatch(r"FT\d{11}", payload["bank_txn_ref"])
    assert payload["bank_txn_ref"].startswith("FT21140")  # year 21, day 140 of the clock's date
    assert payload["paid_at"] == "2021-05-20T10:01:02+07:00"


def test_callback_is_not_accepted_under_another_banks_secret(bank, api):
    api_pay(bank, payment_id="pay_1", bank_code="VCB", amount_vnd=1000, outcome="success")
    sent = api.only_request()
    with pytest.raises(SignatureError):
        verify_webhook(sent.body, sent.headers, [BANK_SECRETS["BIDV"]], now=int(NOW.timestamp()))


def test_cancel_sends_failed(bank, api):
    status, answer = api_pay(bank, payment_id="pay_2", bank_code="BIDV", amount_vnd=500_000, outcome="cancel")
    assert status == 200 and answer["callback_status"] == 200
    sent = api.only_request()
    verify_webhook(sent.body, sent.headers, [BANK_SECRETS["BIDV"]], now=int(NOW.timestamp()))
    payload = json.loads(sent.body)
    assert (payload["status"], payload["amount_vnd"]) == ("FAILED", 500_000)


def test_amount_override_is_sent_instead_of_the_order_amount(bank, api):
    api_pay(bank, payment_id="pay_3", bank_code="VCB", amount_vnd=1_378_500, outcome="success",
            amount_override_vnd=1_000)
    assert json.loads(api.only_request().body)["amount_vnd"] == 1_000


def test_refusal_from_our_api_is_reported_with_its_status(bank, api):
    api.status, api.answer = 422, {"code": "AMOUNT_MISMATCH"}
    status, answer = api_pay(bank, payment_id="pay_4", bank_code="VCB", amount_vnd=1, outcome="success")
    assert (status, answer) == (200, {"callback_status": 422, "callback_response": {"code": "AMOUNT_MISMATCH"}})


def test_unreachable_api_is_a_502():
    with socket.socket() as probe:  # a port that was just free: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with SimulatedBank(f"http://127.0.0.1:{port}", SECRETS) as simulated:
        status, answer = api_pay(simulated, payment_id="p", bank_code="VCB", amount_vnd=1, outcome="success")
    assert status == 502
    assert answer["callback_status"] is None and answer["error"] == "CALLBACK_FAILED"


# --- VNPay-style IPN (MB) -------------------------------------------------------------------------------------

def test_mb_success_is_a_signed_vnpay_ipn(bank, api):
    status, answer = api_pay(bank, payment_id="pay_5", bank_code="MB", amount_vnd=1_378_500, outcome="success")
    assert (status, answer) == (200, {"callback_status": 200,
                                      "callback_response": {"RspCode": "00", "Message": "Confirm Success"}})
    sent = api.only_request()
    assert (sent.method, sent.path, sent.body) == ("GET", "/v1/partners/banks/vnpay/ipn", b"")
    assert verify_ipn(sent.query, VNPAY_SECRET)
    assert not verify_ipn(sent.query, "ANOTHER-SECRET")
    assert sent.query["vnp_Amount"] == "137850000"
    result = parse_ipn(sent.query)
    assert (result.payment_id, result.amount_vnd, result.success, result.response_code) == (
        "pay_5", 1_378_500, True, "00")
    assert re.fullmatch(r"FT\d{11}", result.bank_txn_ref)
    assert result.bank_code == "MB"
    assert result.paid_at == NOW


def test_mb_cancel_is_response_code_24(bank, api):
    api_pay(bank, payment_id="pay_6", bank_code="MB", amount_vnd=200_000, outcome="cancel")
    sent = api.only_request()
    assert verify_ipn(sent.query, VNPAY_SECRET)
    result = parse_ipn(sent.query)
    assert (result.response_code, result.success, result.amount_vnd) == ("24", False, 200_000)


def test_mb_amount_override(bank, api):
    api_pay(bank, payment_id="pay_7", bank_code="MB", amount_vnd=200_000, outcome="success",
            amount_override_vnd=199_000)
    assert api.only_request().query["vnp_Amount"] == "19900000"


# --- /api/pay input -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fields", [
    {"payment_id": "p", "bank_code": "XYZ", "amount_vnd": 1, "outcome": "success"},
    {"payment_id": "", "bank_code": "VCB", "amount_vnd": 1, "outcome": "success"},
    {"payment_id": "p", "bank_code": "VCB", "amount_vnd": 0, "outcome": "success"},
    {"payment_id": "p", "bank_code": "VCB", "amount_vnd": True, "outcome": "success"},
    {"payment_id": "p", "bank_code": "VCB", "amount_vnd": 1.5, "outcome": "success"},
    {"payment_id": "p", "bank_code": "VCB", "amount_vnd": 1, "outcome": "maybe"},
    {"payment_id": "p", "bank_code": "VCB", "amount_vnd": 1, "outcome": "success", "amount_override_vnd": -1},
])
def test_api_pay_refuses_bad_input_without_calling_our_api(bank, api, fields):
    status, answer = api_pay(bank, **fields)
    assert status == 400 and answer["error"] == "INVALID_REQUEST" and answer["detail"]
    assert api.requests == []


def test_api_pay_refuses_non_json(bank, api):
    status, _, _ = call(bank.url, "POST", "/api/pay", b"not json", {"Content-Type": "application/json"})
    assert status == 400 and api.requests == []


def test_missing_secret_is_a_500_not_a_hang(api):
    with SimulatedBank(api.url, {"banks": {}}) as simulated:
        status, answer = api_pay(simulated, payment_id="p", bank_code="VCB", amount_vnd=1, outcome="success")
    assert status == 500 and api.requests == []


def test_health(bank):
    status, headers, text = call(bank.url, "GET", "/api/health")
    assert status == 200 and json.loads(text)["status"] == "ok"


# --- pages and the browser flow -------------------------------------------------------------------------------

def pay_query(**overrides: str) -> str:
    fields = {"payment_id": "pay_8", "bank_code": "VCB", "amount_vnd": "1378500",
              "return_url": "http://127.0.0.1:9/thanh-toan/ket-qua?payment_id=pay_8"}
    fields.update(overrides)
    return urlencode(fields)


def test_payment_page_shows_bank_amount_and_both_forms(bank, api):
    status, headers, page = call(bank.url, "GET", "/pay?" + pay_query())
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "1.378.500 đ" in page
    assert "Vietcombank" in page and "pay_8" in page
    assert "Thanh toán" in page and "Hủy giao dịch" in page
    assert 'action="/pay/confirm"' in page and 'action="/pay/cancel"' in page
    assert api.requests == []  # showing the page calls nobody


def test_payment_page_escapes_what_it_echoes(bank):
    status, _, page = call(bank.url, "GET", "/pay?" + pay_query(payment_id='<script>alert("x")</script>'))
    assert status == 200
    assert "<script>" not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize("override", [{"amount_vnd": "abc"}, {"amount_vnd": "-5"}, {"bank_code": "XYZ"},
                                      {"payment_id": ""}, {"return_url": "javascript:alert(1)"}])
def test_payment_page_refuses_bad_parameters(bank, override):
    status, _, page = call(bank.url, "GET", "/pay?" + pay_query(**override))
    assert status == 400 and "không hợp lệ" in page


def test_confirm_form_calls_back_then_redirects_to_return_url(bank, api):
    fields = dict(parse_qsl(pay_query()))
    status, headers, _ = form_post(bank, "/pay/confirm", fields)
    assert status == 303 and headers["Location"] == fields["return_url"]
    sent = api.only_request()
    verify_webhook(sent.body, sent.headers, [BANK_SECRETS["VCB"]], now=int(NOW.timestamp()))
    assert json.loads(sent.body)["status"] == "SUCCESS"
    assert json.loads(sent.body)["amount_vnd"] == 1_378_500


def test_cancel_form_sends_failed_then_redirects(bank, api):
    # MB is the VNPay-style bank: its page takes the signed payment URL only (tests/unit/test_bank_sim_reconciliation).
    from chalicelib.payments.adapters.vnpay import PaymentUrlRequest, payment_url_params
    return_url = "http://127.0.0.1:9/thanh-toan/ket-qua?payment_id=pay_8"
    fields = payment_url_params(PaymentUrlRequest(
        payment_id="pay_8", amount_vnd=1_378_500, order_info="Thanh toan pay_8", return_url=return_url,
        ip_addr="127.0.0.1", created_at=NOW, expires_at=NOW + timedelta(minutes=15), tmn_code="DVCQG001"),
        VNPAY_SECRET)
    status, headers, _ = form_post(bank, "/pay/cancel", fields)
    assert status == 303 and headers["Location"].startswith(return_url + "&vnp_")
    back = dict(parse_qsl(urlsplit(headers["Location"]).query))
    assert verify_ipn(back, VNPAY_SECRET) and back["vnp_ResponseCode"] == "24"
    sent = api.only_request()
    assert verify_ipn(sent.query, VNPAY_SECRET) and sent.query["vnp_ResponseCode"] == "24"


def test_confirm_without_return_url_shows_a_result_page(bank, api):
    fields = dict(parse_qsl(pay_query(return_url="")))
    status, _, page = form_post(bank, "/pay/confirm", fields)
    assert status == 200 and "Giao dịch thành công" in page and "1.378.500 đ" in page
    assert len(api.requests) == 1


def test_internet_banking_login_page_continues_to_the_payment_page(bank):
    status, _, page = call(bank.url, "GET", "/ib/login?" + pay_query(bank_code="BIDV"))
    assert status == 200 and "Đăng nhập Internet Banking" in page and "BIDV" in page
    assert 'action="/pay"' in page and 'method="get"' in page
    for name, value in parse_qsl(pay_query(bank_code="BIDV")):
        assert f'name="{name}" value="{value}"' in page.replace("&amp;", "&")
    assert 'name="password"' not in page  # what is typed there is never sent anywhere


def test_unknown_path_is_404(bank):
    assert call(bank.url, "GET", "/nowhere")[0] == 404
    assert call(bank.url, "POST", "/nowhere", b"{}")[0] == 404


# --- lifecycle and helpers ------------------------------------------------------------------------------------

def test_url_before_start_and_stop_twice(api):
    simulated = SimulatedBank(api.url, SECRETS)
    with pytest.raises(RuntimeError):
        simulated.url
    simulated.start()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", simulated.url)
    simulated.stop()
    simulated.stop()


@pytest.mark.parametrize("amount, text", [(1_378_500, "1.378.500 đ"), (0, "0 đ"), (999, "999 đ"),
                                          (16_000_000_000, "16.000.000.000 đ")])
def test_format_vnd(amount, text):
    assert format_vnd(amount) == text
