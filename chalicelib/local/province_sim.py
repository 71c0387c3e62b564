"""Simulated province one-stop software for the local stack: session and data endpoints, per province.

    POST /p/{province}/session          {"username", "password"} -> {"token", "expires_in"}
    POST /p/{province}/{api_type}       Authorization: Bearer <token>; JSON with message_id
                                        -> {"error_code": "0", "message": "...", "duplicate": bool}
    POST /control                       {"province": "H35", "mode": "ok|500|timeout|401|invalid_json",
                                         "times": n (then back to ok; omitted = until told otherwise),
                                         "delay_s": seconds for "timeout", "token_ttl_s": n,
                                         "expire_tokens": true (every token issued so far stops working)}
    POST /reset                         forget everything
    GET  /received?province=H35         {"unique": n, "total": n, "by_message_id": {id: count}, "session_calls",
                                         "data_calls", "types": {api_type: unique}}
    GET  /messages/{message_id}         the first payload received with that id
    ANY  /redirect?to=<url>             302 to <url> (API-check tests: it must not be followed)
    ANY  /canary                        counts hits (what a followed redirect would hit)

What it received is recorded de-duplicated on message_id ("exactly once in effect"), with the number of times each
id arrived on the wire. In "timeout" mode the answer comes after ``delay_s`` and the payload is still recorded, as a
slow real server would; the caller has given up by then and retries, and the duplicate is counted, not re-applied.
Local only: stdlib server in daemon threads, loopback.
"""
from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MODES = ("ok", "500", "timeout", "401", "invalid_json")
MAX_BODY = 4 * 1024 * 1024


@dataclass
class _Province:
    mode: str = "ok"
    times: int | None = None
    delay_s: float = 5.0
    token_ttl_s: int = 1800
    tokens: dict[str, float] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)
    payloads: dict[str, dict] = field(default_factory=dict)
    session_calls: int = 0
    data_calls: int = 0


class SimulatedProvince:
    def __init__(self, credentials: dict[str, str], host: str = "127.0.0.1", port: int = 0) -> None:
        self._credentials = dict(credentials)  # username -> password, accepted for every province
        self._provinces: dict[str, _Province] = {}
        self._lock = threading.Lock()
        self.canary_hits = 0
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                sim._get(self)

            def do_POST(self) -> None:
                sim._post(self)

        class _Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

        self._server = _Server((host, port), Handler)
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="province-sim")

    def start(self) -> "SimulatedProvince":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- programmatic control (tests in the same process; the HTTP endpoints do the same) -------------------------
    def province(self, code: str) -> _Province:
        with self._lock:
            return self._provinces.setdefault(code, _Province())

    def control(self, province: str, mode: str | None = None, times: int | None = None, delay_s: float | None = None,
                token_ttl_s: int | None = None, expire_tokens: bool = False) -> dict:
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        p = self.province(province)
        with self._lock:
            if mode is not None:
                p.mode, p.times = mode, times
            if delay_s is not None:
                p.delay_s = float(delay_s)
            if token_ttl_s is not None:
                p.token_ttl_s = int(token_ttl_s)
            if expire_tokens:
                p.tokens.clear()
            return {"province": province, "mode": p.mode, "times": p.times}

    def received(self, province: str) -> dict:
        p = self.province(province)
        with self._lock:
            types: dict[str, int] = {}
            for message_id in p.received:
                kind = message_id.rsplit(":", 1)[-1]
                types[kind] = types.get(kind, 0) + 1
            return {"unique": len(p.received), "total": sum(p.received.values()), "by_message_id": dict(p.received),
                    "session_calls": p.session_calls, "data_calls": p.data_calls, "types": types}

    def payload(self, province: str, message_id: str) -> dict | None:
        return self.province(province).payloads.get(message_id)

    def reset(self) -> None:
        with self._lock:
            self._provinces.clear()
            self.canary_hits = 0

    # -- HTTP ---------------------------------------------------------------------------------------------------
    def _answer(self, h: BaseHTTPRequestHandler, status: int, body: Any, raw: bytes | None = None,
                headers: dict[str, str] | None = None) -> None:
        data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        # The caller may have given up waiting (a "timeout" answer): what a slow real server would see.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            h.wfile.write(data)

    def _body(self, h: BaseHTTPRequestHandler) -> Any:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(min(length, MAX_BODY)) if length else b""
        return json.loads(raw) if raw else {}

    def _get(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/received":
            return self._answer(h, 200, self.received(query.get("province", "")))
        if parts.path.startswith("/messages/"):
            province, message_id = query.get("province", ""), parts.path[len("/messages/"):]
            found = self.payload(province, message_id)
            return self._answer(h, 200 if found else 404, found or {"error": "not found"})
        if parts.path == "/redirect":
            return self._answer(h, 302, {"moved": True}, headers={"Location": query.get("to", "/")})
        if parts.path == "/canary":
            with self._lock:
                self.canary_hits += 1
            return self._answer(h, 200, {"canary": True})
        if parts.path == "/health":
            return self._answer(h, 200, {"status": "ok"})
        return self._answer(h, 404, {"error": "not found"})

    def _post(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path = parts.path
        if path == "/redirect":
            # Read the body anyway: left unread on a keep-alive connection, it would prefix the next request.
            h.rfile.read(min(int(h.headers.get("Content-Length") or 0), MAX_BODY))
            target = parse_qs(parts.query).get("to", ["/"])[0]
            return self._answer(h, 302, {"moved": True}, headers={"Location": target})
        try:
            body = self._body(h)
        except ValueError:
            return self._answer(h, 400, {"error_code": "400", "message": "JSON không hợp lệ"})
        if path == "/control":
            try:
                return self._answer(h, 200, self.control(**body))
            except (TypeError, ValueError) as exc:
                return self._answer(h, 400, {"error": str(exc)})
        if path == "/reset":
            self.reset()
            return self._answer(h, 200, {"reset": True})
        if path == "/canary":
            with self._lock:
                self.canary_hits += 1
            return self._answer(h, 200, {"canary": True})
        segments = path.strip("/").split("/")
        if len(segments) == 3 and segments[0] == "p":
            province, endpoint = segments[1], segments[2]
            return self._session(h, province, body) if endpoint == "session" else self._data(h, province, body)
        return self._answer(h, 404, {"error": "not found"})

    def _failure(self, p: _Province) -> str | None:
        """The failure to simulate for this call (and count it down), or None."""
        with self._lock:
            if p.mode == "ok":
                return None
            mode = p.mode
            if p.times is not None:
                p.times -= 1
                if p.times <= 0:
                    p.mode, p.times = "ok", None
            return mode

    def _session(self, h: BaseHTTPRequestHandler, code: str, body: Any) -> None:
        p = self.province(code)
        with self._lock:
            p.session_calls += 1
        if not isinstance(body, dict) or self._credentials.get(str(body.get("username"))) != body.get("password"):
            return self._answer(h, 401, {"error_code": "401", "message": "Sai thông tin đăng nhập"})
        token = secrets.token_urlsafe(24)
        with self._lock:
            p.tokens[token] = time.monotonic() + p.token_ttl_s
        return self._answer(h, 200, {"token": token, "expires_in": p.token_ttl_s})

    def _data(self, h: BaseHTTPRequestHandler, code: str, body: Any) -> None:
        p = self.province(code)
        with self._lock:
            p.data_calls += 1
        token = (h.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        with self._lock:
            valid = p.tokens.get(token, 0) > time.monotonic()
        if not valid:
            return self._answer(h, 401, {"error_code": "401", "message": "Phiên làm việc đã hết hạn"})
        failure = self._failure(p)
        if failure == "500":
            return self._answer(h, 500, {"error_code": "500", "message": "Lỗi hệ thống"})
        if failure == "401":
            return self._answer(h, 401, {"error_code": "401", "message": "Phiên làm việc đã hết hạn"})
        if failure == "invalid_json":
            return self._answer(h, 200, None, raw=b"<html>Service Unavailable</html>")
        if failure == "timeout":
            time.sleep(p.delay_s)
        message_id = body.get("message_id") if isinstance(body, dict) else None
        if not isinstance(message_id, str) or not message_id:
            return self._answer(h, 400, {"error_code": "400", "message": "Thiếu message_id"})
        with self._lock:
            duplicate = message_id in p.received
            p.received[message_id] = p.received.get(message_id, 0) + 1
            if not duplicate:
                p.payloads[message_id] = body
        return self._answer(h, 200, {"error_code": "0", "message": "Đã tiếp nhận", "duplicate": duplicate})
