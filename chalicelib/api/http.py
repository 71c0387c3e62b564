"""The only place that knows about Chalice requests and responses: JSON in, problem+json out.

`endpoint` wraps a view so that every refusal is RFC 9457 problem+json with a stable code and a Vietnamese detail,
an unexpected failure is a plain 500 without a stack trace, bodies are size-limited, metrics are flushed and each
request carries a correlation id (echoed in `X-Correlation-Id`).
"""
from __future__ import annotations

import functools
import json
import uuid
from typing import Any, Callable

from chalice import Response

from chalicelib.core.errors import AppError, internal_error

JSON_TYPES = ("application/json", "application/problem+json")
# Chalice refuses content types a route does not list with its own (non-problem) 415: list the common ones and
# answer ourselves.
ACCEPTED_CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded",
                          "application/octet-stream", "application/problem+json"]


def problem_response(err: AppError, correlation_id: str | None = None, instance: str | None = None) -> Response:
    headers = {"Content-Type": "application/problem+json", **err.headers}
    if correlation_id:
        headers["X-Correlation-Id"] = correlation_id
    return Response(json.dumps(err.to_problem(instance), ensure_ascii=False), headers=headers,
                    status_code=err.status)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), headers={"Content-Type": "application/json",
                                                                   **(headers or {})}, status_code=status)


def header(request, name: str) -> str | None:
    for k, v in (request.headers or {}).items():
        if k.lower() == name.lower():
            return v
    return None


def raw_body(request, max_bytes: int) -> bytes:
    body = request.raw_body or b""
    if isinstance(body, str):
        body = body.encode()
    if len(body) > max_bytes:
        raise AppError("PAYLOAD_TOO_LARGE", f"Nội dung yêu cầu vượt quá giới hạn {max_bytes} byte.", 413,
                       "Nội dung quá lớn")
    return body


def parse_json(body: bytes, request=None) -> Any:
    if request is not None:
        ctype = (header(request, "content-type") or "application/json").split(";")[0].strip().lower()
        if ctype not in JSON_TYPES:
            raise AppError("UNSUPPORTED_MEDIA_TYPE", "Nội dung yêu cầu phải là JSON (application/json).", 415,
                           "Kiểu nội dung không được hỗ trợ")
    if not body:
        raise AppError("BODY_REQUIRED", "Yêu cầu thiếu nội dung JSON.", 400)
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise AppError("BODY_NOT_JSON", "Nội dung yêu cầu không phải JSON hợp lệ (UTF-8).", 400) from None


def endpoint(owner) -> Callable:
    """Decorate a view of `owner` (a Chalice app or blueprint): problem+json, correlation id, metrics flush."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            from chalicelib.aws.observability import logger, metrics

            request = owner.current_request
            cid = header(request, "x-correlation-id") or (request.context or {}).get("requestId") or str(uuid.uuid4())
            cid = cid[:100]
            log = logger()
            log.append_keys(correlation_id=cid, path=(request.context or {}).get("resourcePath"),
                            method=request.method)
            try:
                response = view(*args, **kwargs)
                if isinstance(response, Response):
                    response.headers["X-Correlation-Id"] = cid
                return response
            except AppError as err:
                log.info("request refused", extra={"code": err.code, "status": err.status})
                return problem_response(err, cid, request.path if hasattr(request, "path") else None)
            except Exception:  # noqa: BLE001 - the last line of defence: never a stack trace to the client
                log.exception("unhandled error")
                return problem_response(internal_error(), cid)
            finally:
                try:
                    metrics().flush()
                except Exception:  # noqa: BLE001
                    log.warning("metrics flush failed")
                log.remove_keys(["correlation_id", "path", "method"])

        return wrapper

    return decorate


def principal(request, required: bool):
    """The verified bearer-token principal, or None for an anonymous caller when not required.
    A token that is present but invalid is always refused (never silently treated as anonymous)."""
    from chalicelib.api.wiring import context
    from chalicelib.core.errors import unauthorized
    from chalicelib.identity.domain import AuthError, parse_bearer

    value = header(request, "authorization")
    if value is None and not required:
        return None
    try:
        return context().verifier.verify(parse_bearer(value))
    except AuthError as exc:
        raise unauthorized(exc.code, exc.message) from None


def thread_safe_app(app_name: str):
    """A Chalice app whose `current_request` is per thread.

    Lambda runs one request per container at a time, but the local server is threaded: with Chalice's plain
    attribute, two concurrent requests would read each other's request.
    """
    import threading

    from chalice import Chalice

    class _App(Chalice):
        _requests = threading.local()

        @property
        def current_request(self):  # type: ignore[override]
            return getattr(self._requests, "value", None)

        @current_request.setter
        def current_request(self, value) -> None:
            self._requests.value = value

    return _App(app_name=app_name)
