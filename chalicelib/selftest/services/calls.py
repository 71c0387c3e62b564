"""The self-test's calls to a province's APIs, each kept as evidence (redacted by ``record_step``) with, for a
failure, what the province must fix, in Vietnamese.

Same protocol as the deliveries (provinces/services/forwarding.py): the credentials from the secret store are
POSTed to the session URL for a token, then the payload to the data URL with ``Authorization: Bearer``; a 401 gets
one new token and one more try. Unlike a delivery, nothing is cached: every run shows the province's session call.
All calls go through the SSRF-guarded HTTP port.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from chalicelib.onboarding.domain import EvidenceStep, record_step
from chalicelib.provinces.domain.delivery import (
    ApiType,
    InvalidAnswerError,
    check_answer,
    token_from_session_answer,
)
from chalicelib.provinces.domain.outbound_urls import UrlRefusedError
from chalicelib.provinces.domain.registry import ProvinceApi
from chalicelib.provinces.ports import HttpAnswer, ProvinceCallError

EXPECT_SESSION = "HTTP 2xx; JSON có token (token hoặc access_token) và thời hạn expires_in lớn hơn 0"
EXPECT_DATA = "HTTP 2xx; JSON không báo lỗi (success = true hoặc error_code = \"0\")"
WHAT = {ApiType.NOTICE: "thông báo thuế", ApiType.PAYMENT_RESULT: "kết quả thanh toán",
        ApiType.RECEIPT_FILE: "tệp biên lai"}
HINTS = {ApiType.NOTICE: "kiểm tra API nhận và lưu được thông báo thuế của hồ sơ",
         ApiType.PAYMENT_RESULT: "kiểm tra API ghi nhận được kết quả thanh toán của hồ sơ",
         ApiType.RECEIPT_FILE: "kiểm tra API nhận được tệp biên lai PDF (mã hóa base64) và lưu được tệp"}


@dataclass(frozen=True)
class Token:
    value: str
    issued_at: float  # time.monotonic() when the session answered


def _unreachable_fix(exc: Exception, label: str, api: ProvinceApi, url: str) -> str:
    if isinstance(exc, UrlRefusedError):
        return f"Địa chỉ {label} không được phép ({exc.message}): đăng ký một địa chỉ https công khai."
    if getattr(exc, "code", "") == "TIMEOUT":
        return (f"{label} không trả lời trong {api.read_timeout_s:g} giây: kiểm tra dịch vụ của tỉnh và thời gian "
                "xử lý.")
    return f"Không kết nối được tới {label} ({url}): kiểm tra địa chỉ, chứng chỉ và tường lửa cho phép Cổng gọi vào."


def _post(ctx, url: str, body: Any, headers: dict[str, str], api: ProvinceApi) -> HttpAnswer:
    return ctx.http.post_json(url, body, headers, api.connect_timeout_s, api.read_timeout_s)


def _session_fix(answer: HttpAnswer, label: str) -> tuple[str | None, str | None]:
    """(what to fix or None, the token) for a session answer."""
    where = f"API lấy session của {label}"
    if answer.status in (401, 403):
        return (f"{where} từ chối thông tin đăng nhập (mã {answer.status}): kiểm tra tên đăng nhập, mật khẩu đã đăng "
                "ký với Cổng."), None
    if not 200 <= answer.status < 300:
        return f"{where} trả mã {answer.status}: kiểm tra URL API lấy session và dịch vụ của tỉnh.", None
    try:
        token, lifetime = token_from_session_answer(json.loads(answer.body))
    except (ValueError, InvalidAnswerError):
        return f"{where} không trả token (trường token hoặc access_token trong JSON).", None
    if lifetime is not None and lifetime <= 0:
        return (f"token hết hạn ngay sau khi cấp: {where} trả expires_in = {lifetime}; token phải còn hiệu lực ít "
                "nhất vài phút."), None
    return None, token


def fetch_session(ctx, api: ProvinceApi) -> tuple[EvidenceStep, Token | None]:
    label = api.api_type.label_vi
    name = f"{label}: lấy phiên làm việc (token)"
    creds = ctx.credentials.get(api.agency_code, api.api_type)
    if creds is None:
        return record_step(name=name, url=api.session_url, api_type=label, result="failed", expected=EXPECT_SESSION,
                           fix="Chưa có thông tin xác thực (tên đăng nhập, mật khẩu) của API này: gửi yêu cầu cấu "
                           "hình URL API (bước 2)."), None
    body = creds.model_dump()
    try:
        answer = _post(ctx, api.session_url, body, {}, api)
    except (ProvinceCallError, UrlRefusedError) as exc:
        return record_step(name=name, url=api.session_url, api_type=label, request_body=body, result="failed",
                           error=getattr(exc, "code", None), expected=EXPECT_SESSION,
                           fix=_unreachable_fix(exc, f"API lấy session của {label}", api, api.session_url)), None
    fix, token = _session_fix(answer, label)
    step = record_step(name=name, url=api.session_url, api_type=label, request_body=body, status=answer.status,
                       response_headers=answer.headers, response_body=answer.body, latency_ms=answer.latency_ms,
                       result="failed" if fix else "passed", expected=EXPECT_SESSION, fix=fix)
    return step, Token(token, time.monotonic()) if token else None


def _data_fix(answer: HttpAnswer, api: ProvinceApi, token: Token, refreshed: bool) -> str | None:
    label = api.api_type.label_vi
    if answer.status == 401:
        age = max(0, round(time.monotonic() - token.issued_at))
        again = ", kể cả token mới lấy lại" if refreshed else ""
        return (f"token hết hạn ngay sau khi cấp: {label} từ chối (mã 401) token API lấy session vừa cấp {age} giây "
                f"trước{again}. Kiểm tra thời hạn token, đồng hồ máy chủ và cách API lấy dữ liệu kiểm tra token.")
    if not 200 <= answer.status < 300:
        return f"{label} trả mã {answer.status}: {HINTS[api.api_type]}."
    try:
        check_answer(json.loads(answer.body))
    except InvalidAnswerError as exc:
        return f"{label} báo lỗi trong câu trả lời ({exc}): kiểm tra việc xử lý dữ liệu kiểm thử (\"test\": true)."
    except ValueError:
        return f"{label} trả nội dung không phải JSON: API phải trả JSON, ví dụ {{\"error_code\": \"0\"}}."
    return None


def _shown(payload: dict) -> dict:
    """The payload as recorded: the receipt file's base64 content is cut (its size and sha256 are kept)."""
    content = payload.get("content_base64")
    if isinstance(content, str) and len(content) > 80:
        return {**payload, "content_base64": f"{content[:60]}… ({len(content)} ký tự)"}
    return payload


def deliver(ctx, api: ProvinceApi, payload: dict, token: Token) -> EvidenceStep:
    """POST one test payload to the province's data URL and judge the answer (a 401 gets one new token)."""
    label = api.api_type.label_vi
    name = f"Gửi {WHAT[api.api_type]} ({label})"
    note, refreshed = None, False
    try:
        answer = _post(ctx, api.data_url, payload, {"Authorization": f"Bearer {token.value}"}, api)
        if answer.status == 401:
            _, fresh = fetch_session(ctx, api)
            if fresh is not None:
                token, refreshed = fresh, True
                note = "Token bị từ chối (401): Cổng đã lấy token mới và gửi lại một lần."
                answer = _post(ctx, api.data_url, payload, {"Authorization": f"Bearer {token.value}"}, api)
    except (ProvinceCallError, UrlRefusedError) as exc:
        return record_step(name=name, url=api.data_url, api_type=label, request_body=_shown(payload), result="failed",
                           error=getattr(exc, "code", None), expected=EXPECT_DATA, note=note,
                           fix=_unreachable_fix(exc, label, api, api.data_url))
    fix = _data_fix(answer, api, token, refreshed)
    return record_step(name=name, url=api.data_url, api_type=label, request_body=_shown(payload),
                       status=answer.status, response_headers=answer.headers, response_body=answer.body,
                       latency_ms=answer.latency_ms, result="failed" if fix else "passed", expected=EXPECT_DATA,
                       fix=fix, note=note)
