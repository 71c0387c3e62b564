"""Simulated tax authority gateway for the local stack (M13 lookups, payment notices, daily receipt reports).

    POST /v1/taxpayers/lookup   {"tax_code"} (10/13-digit tax code or 12-digit personal number)
                                -> {"taxpayer": {name, tax_code, id_number, address}, "personal_tax": {payment_id,
                                    collecting_unit, categories: [{category, sub_items: [{sub_item_code,
                                    description, amount_vnd}]}]} | null, "registration_fees": [{decision_number,
                                    vehicle: car|motorbike, description, sub_item_code, amount_vnd, payment_id,
                                    collecting_unit}]}; 404 {"code": "TAXPAYER_NOT_FOUND"}
    POST /v1/payments           {tax_code, debt_kind, tax_payment_id, amount_vnd, payment: {...}}
                                -> {"status": "recorded" | "duplicate"}; the debt is gone from the next lookup
    POST /v1/receipt-reports    {"document": 01/TH-BLĐT table, "signature": {alg, signature, x509_certificate}}
                                -> {"status": "accepted", "ack_id"} | {"status": "refused", "errors": [...]}
    POST /control               {"mode": "ok|down|timeout|bad_signature|refuse_reports", "times": n, "delay_s": s}
    POST /taxpayers             add or replace a taxpayer (the lookup answer's shape)
    GET  /received              {"payments": [...], "reports": {"<unit>/<day>": latest document}, "calls": n}
    POST /reset

Every request must be signed per Standard Webhooks with the portal's secret (401 otherwise); every answer is signed
with the tax authority's own secret ("bad_signature" mode signs with a wrong one). "down" answers 503, "timeout"
answers after ``delay_s``. Local only: stdlib server in daemon threads, loopback.
"""
from __future__ import annotations

import base64
import contextlib
import copy
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalicelib.core.webhooks import SignatureError, sign_webhook, verify_webhook

MODES = ("ok", "down", "timeout", "bad_signature", "refuse_reports")
MAX_BODY = 2 * 1024 * 1024
WRONG_SECRET = "whsec_" + base64.b64encode(b"not-the-tax-authority-answer-key!").decode()
DEMO_TAX_CODE = "035095001234"  # the demo citizen's personal number (an individual's tax code since 1 July 2025)


def demo_taxpayer(tax_code: str = DEMO_TAX_CODE, unit: str = "000.00.00.H24", seed: str = "000123") -> dict:
    """A taxpayer with personal tax owed and two registration-fee decisions (a car and a motorbike)."""
    return {
        "taxpayer": {"name": "Nguyễn Thị Trang", "tax_code": tax_code, "id_number": "035095001234",
                     "address": "Số 12 đường Trần Phú, phường Hà Đông, thành phố Hà Nội"},
        "personal_tax": {"payment_id": f"TNCN26{seed}{tax_code[-4:]}", "collecting_unit": unit, "categories": [
            {"category": "Thuế thu nhập cá nhân", "sub_items": [
                {"sub_item_code": "1001", "description": "Thuế thu nhập cá nhân từ tiền lương, tiền công",
                 "amount_vnd": 2_500_000},
                {"sub_item_code": "1014", "description": "Thuế thu nhập cá nhân từ dịch vụ cho thuê nhà, cho thuê "
                 "mặt bằng", "amount_vnd": 1_200_000}]}]},
        "registration_fees": [
            {"decision_number": f"LPTB-26{seed}-01/QĐ-CCT", "vehicle": "car", "sub_item_code": "2802",
             "description": "Ô tô con Toyota Vios, biển số 30K-123.45", "amount_vnd": 54_000_000,
             "payment_id": f"LPTB26{seed}{tax_code[-4:]}1", "collecting_unit": unit},
            {"decision_number": f"LPTB-26{seed}-02/QĐ-CCT", "vehicle": "motorbike", "sub_item_code": "2824",
             "description": "Xe máy Honda Vision, biển số 29X3-456.78", "amount_vnd": 1_650_000,
             "payment_id": f"LPTB26{seed}{tax_code[-4:]}2", "collecting_unit": unit}],
    }


class SimulatedTaxAuthority:
    def __init__(self, request_secret: str, answer_secret: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self._request_secret, self._answer_secret = request_secret, answer_secret
        self._lock = threading.Lock()
        self.mode, self.times, self.delay_s = "ok", None, 3.0
        self.taxpayers: dict[str, dict] = {DEMO_TAX_CODE: demo_taxpayer()}
        self.paid: set[str] = set()  # tax payment IDs paid
        self.payments: dict[str, dict] = {}  # portal payment id -> notice
        self.reports: dict[str, dict] = {}  # "<unit>/<day>" -> latest accepted document
        self.report_calls: list[dict] = []
        self.calls = 0
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                sim._get(self)

            def do_POST(self) -> None:
                sim._post(self)

        class _Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 64

        self._server = _Server((host, port), Handler)
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="tax-authority-sim")

    def start(self) -> "SimulatedTaxAuthority":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- programmatic control (tests in this process; the HTTP endpoints do the same) -----------------------------
    def control(self, mode: str = "ok", times: int | None = None, delay_s: float | None = None) -> dict:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        with self._lock:
            self.mode, self.times = mode, times
            if delay_s is not None:
                self.delay_s = float(delay_s)
            return {"mode": self.mode, "times": self.times}

    def add_taxpayer(self, answer: dict) -> None:
        with self._lock:
            self.taxpayers[answer["taxpayer"]["tax_code"]] = copy.deepcopy(answer)

    def reset(self) -> None:
        with self._lock:
            self.mode, self.times = "ok", None
            self.taxpayers = {DEMO_TAX_CODE: demo_taxpayer()}
            self.paid.clear()
            self.payments.clear()
            self.reports.clear()
            self.report_calls.clear()

    def _current_mode(self) -> str:
        with self._lock:
            mode = self.mode
            if self.times is not None:
                self.times -= 1
                if self.times <= 0:
                    self.mode, self.times = "ok", None
            return mode

    # -- HTTP -----------------------------------------------------------------------------------------------------
    def _answer(self, h: BaseHTTPRequestHandler, status: int, body: Any, mode: str = "ok") -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        secret = WRONG_SECRET if mode == "bad_signature" else self._answer_secret
        signed = sign_webhook(data, secret, f"msg_{uuid.uuid4().hex}", int(time.time()))
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        for k, v in signed.items():
            h.send_header(k, v)
        h.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            h.wfile.write(data)

    def _get(self, h: BaseHTTPRequestHandler) -> None:
        if h.path.split("?")[0] == "/received":
            with self._lock:
                body = {"payments": list(self.payments.values()), "reports": copy.deepcopy(self.reports),
                        "report_calls": len(self.report_calls), "calls": self.calls}
            return self._answer(h, 200, body)
        return self._answer(h, 404, {"code": "NOT_FOUND"})

    def _post(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(min(length, MAX_BODY)) if length else b""
        path = h.path.split("?")[0]
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._answer(h, 400, {"code": "BODY_NOT_JSON"})
        if path in ("/control", "/taxpayers", "/reset"):
            return self._control(h, path, body)
        with self._lock:
            self.calls += 1
        try:
            verify_webhook(raw, dict(h.headers.items()), [self._request_secret])
        except SignatureError:
            return self._answer(h, 401, {"code": "INVALID_SIGNATURE"})
        mode = self._current_mode()
        if mode == "down":
            return self._answer(h, 503, {"code": "UNAVAILABLE", "message": "Hệ thống đang bảo trì"})
        if mode == "timeout":
            time.sleep(self.delay_s)
        handler = {"/v1/taxpayers/lookup": self._lookup, "/v1/payments": self._payment,
                   "/v1/receipt-reports": self._report}.get(path)
        if handler is None:
            return self._answer(h, 404, {"code": "NOT_FOUND"}, mode)
        status, answer = handler(body, mode)
        return self._answer(h, status, answer, mode)

    def _control(self, h: BaseHTTPRequestHandler, path: str, body: dict) -> None:
        if path == "/reset":
            self.reset()
            return self._answer(h, 200, {"reset": True})
        if path == "/taxpayers":
            self.add_taxpayer(body)
            return self._answer(h, 200, {"added": body["taxpayer"]["tax_code"]})
        try:
            return self._answer(h, 200, self.control(body.get("mode", "ok"), body.get("times"), body.get("delay_s")))
        except ValueError as exc:
            return self._answer(h, 400, {"code": "BAD_MODE", "message": str(exc)})

    def _lookup(self, body: dict, mode: str) -> tuple[int, dict]:
        with self._lock:
            known = copy.deepcopy(self.taxpayers.get(str(body.get("tax_code", ""))))
            paid = set(self.paid)
        if known is None:
            return 404, {"code": "TAXPAYER_NOT_FOUND", "message": "Không tìm thấy người nộp thuế"}
        if known.get("personal_tax") and known["personal_tax"]["payment_id"] in paid:
            known["personal_tax"] = None
        known["registration_fees"] = [f for f in known.get("registration_fees", []) if f["payment_id"] not in paid]
        return 200, known

    def _payment(self, body: dict, mode: str) -> tuple[int, dict]:
        payment_id = str((body.get("payment") or {}).get("payment_id", ""))
        if not payment_id or not body.get("tax_payment_id"):
            return 422, {"code": "PAYMENT_INVALID"}
        with self._lock:
            if payment_id in self.payments:
                return 200, {"status": "duplicate"}
            self.payments[payment_id] = copy.deepcopy(body)
            self.paid.add(str(body["tax_payment_id"]))
        return 200, {"status": "recorded"}

    def _report(self, body: dict, mode: str) -> tuple[int, dict]:
        document, signature = body.get("document") or {}, body.get("signature") or {}
        with self._lock:
            self.report_calls.append(copy.deepcopy(document))
        errors = report_errors(document, signature)
        if mode == "refuse_reports":
            errors.append("Bảng tổng hợp bị từ chối (chế độ thử nghiệm)")
        if errors:
            return 200, {"status": "refused", "errors": errors}
        with self._lock:
            self.reports[f"{document['unit_code']}/{document['day']}"] = copy.deepcopy(document)
        return 200, {"status": "accepted", "ack_id": f"TB01TH-{uuid.uuid4().hex[:12].upper()}"}


def report_errors(document: dict, signature: dict) -> list[str]:
    """What the tax authority checks on a 01/TH-BLĐT table: the organisation's signature over the table, its rows
    consistent (counted, totalled, numbered from 1, no receipt twice)."""
    errors = []
    try:
        _check_signature(document, signature)
    except Exception:  # noqa: BLE001 - any failure is a refused signature
        errors.append("Chữ ký số của bảng tổng hợp không hợp lệ")
    rows = document.get("rows") or []
    if document.get("row_count") != len(rows) or document.get("total_vnd") != sum(r.get("amount_vnd", 0) for r in rows):
        errors.append("Số dòng hoặc tổng tiền không khớp")
    if [r.get("no") for r in rows] != list(range(1, len(rows) + 1)):
        errors.append("Số thứ tự không liên tục")
    keys = [(r.get("form_symbol"), r.get("series"), int(r.get("number") or 0)) for r in rows]
    if len(set(keys)) != len(keys):
        errors.append("Một biên lai xuất hiện nhiều lần")
    return errors


def _check_signature(document: dict, signature: dict) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

    cert = x509.load_der_x509_certificate(base64.b64decode(signature["x509_certificate"]))
    data = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    cert.public_key().verify(base64.b64decode(signature["signature"]), data, PKCS1v15(), hashes.SHA256())
