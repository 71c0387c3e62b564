"""The only place that knows about Chalice requests and responses: JSON in, problem+json out.

`serve` runs one request: a correlation id (echoed in `X-Correlation-Id`) on every log line, every refusal as RFC
9457 problem+json with a stable code and a Vietnamese detail - whatever raised it (our errors, a domain rule, a
token check, a body too deep to parse) - an unexpected failure as a plain 500 without a stack trace, and the
metrics flushed. Bodies are size-limited, must be JSON objects, and may not repeat a key (a partner whose parser keeps
the first of two `amount_vnd` would see another amount than we do).
"""
from __future__ import annotations

import json
import uuid
from typing import Any, Callable

from chalice import Response

from chalicelib.core.errors import AppError, FieldError, internal_error, unauthorized, validation_error
from chalicelib.core.validation import InvalidValueError, RuleError

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
JSON_TYPES = (JSON, PROBLEM_JSON)
# Chalice refuses content types a route does not list with its own (non-problem) 415: list the common ones and
# answer ourselves.
ACCEPTED_CONTENT_TYPES = [JSON, "text/plain", "application/x-www-form-urlencoded", "application/octet-stream",
                          PROBLEM_JSON]
# Every answer of this API is about one person's money or data, or changes state: never cached on the way.
BASE_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def problem_response(err: AppError, correlation_id: str | None = None, instance: str | None = None) -> Response:
    headers = {**BASE_HEADERS, "Content-Type": PROBLEM_JSON, **err.headers}
    if correlation_id:
        headers["X-Correlation-Id"] = correlation_id
    return Response(json.dumps(err.to_problem(instance), ensure_ascii=False), headers=headers,
                    status_code=err.status)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), headers={**BASE_HEADERS, "Content-Type": JSON,
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


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise AppError("BODY_DUPLICATE_KEY", f"Nội dung JSON lặp lại khóa \"{key[:40]}\": mỗi khóa chỉ được "
                           "xuất hiện một lần.", 400)
        out[key] = value
    return out


MAX_JSON_DEPTH = 32  # our deepest body nests 4 levels; far below what recursive code (pydantic, json) survives


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            deepest = max(deepest, level)
            if level <= MAX_JSON_DEPTH:
                stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def parse_json(body: bytes, content_type: str | None = None) -> Any:
    """The JSON value of a request body: UTF-8, no repeated keys, at most MAX_JSON_DEPTH levels deep."""
    ctype = (content_type or JSON).split(";")[0].strip().lower()
    if ctype not in JSON_TYPES:
        raise AppError("UNSUPPORTED_MEDIA_TYPE", "Nội dung yêu cầu phải là JSON (application/json).", 415,
                       "Kiểu nội dung không được hỗ trợ")
    if not body:
        raise AppError("BODY_REQUIRED", "Yêu cầu thiếu nội dung JSON.", 400)
    try:
        value = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except RecursionError:  # nested deeper than the parser itself goes
        value = None
        too_deep = True
    except (UnicodeDecodeError, ValueError):
        raise AppError("BODY_NOT_JSON", "Nội dung yêu cầu không phải JSON hợp lệ (UTF-8).", 400) from None
    else:
        too_deep = _depth(value) > MAX_JSON_DEPTH
    if too_deep:
        raise AppError("BODY_TOO_DEEP", f"Nội dung JSON lồng nhau quá {MAX_JSON_DEPTH} cấp.", 400)
    return value


def as_problem(exc: Exception) -> AppError | None:
    """The one mapping of every refusal to its problem: our errors as they are, a domain rule a use case did not
    catch as a field error of the body, a token failure as 401/403. None: an unexpected failure."""
    from chalicelib.identity.domain import AuthError, ForbiddenError

    if isinstance(exc, AppError):
        return exc
    if isinstance(exc, InvalidValueError):
        return validation_error([FieldError("body", exc.code, exc.message, isinstance(exc, RuleError))])
    if isinstance(exc, AuthError):
        return unauthorized(exc.code, exc.message)
    if isinstance(exc, ForbiddenError):
        from chalicelib.core.errors import forbidden

        return forbidden(exc.code, exc.message)
    return None


def correlation_id(request) -> str:
    cid = header(request, "x-correlation-id") or (request.context or {}).get("requestId") or str(uuid.uuid4())
    return "".join(c for c in cid[:100] if c.isprintable())


def serve(request, run: Callable[[], Response], on_problem: Callable[[AppError], None] | None = None) -> Response:
    """Run one request (see the module docstring); `on_problem` sees every refusal before it is rendered."""
    from chalicelib.aws.observability import logger, metrics

    cid = correlation_id(request)
    log = logger()
    log.append_keys(correlation_id=cid, path=(request.context or {}).get("resourcePath"), method=request.method)
    try:
        response = run()
        response.headers["X-Correlation-Id"] = cid
        return response
    except Exception as exc:  # the last line of defence: never a stack trace to the client
        problem = as_problem(exc)
        if problem is None:
            log.exception("unhandled error")
            return problem_response(internal_error(), cid)
        if on_problem is not None:
            problem = on_problem(problem) or problem
        log.info("request refused", extra={"code": problem.code, "status": problem.status})
        return problem_response(problem, cid, getattr(request, "path", None))
    finally:
        try:
            metrics().flush()
        except Exception:  # noqa: BLE001 - metrics are best effort: the answer is already made
            log.warning("metrics flush failed")
        log.remove_keys(["correlation_id", "path", "method"])


def principal(request, verifier, required: bool):
    """The verified bearer-token principal, or None for an anonymous caller when not required.
    A token that is present but invalid is always refused (never silently treated as anonymous)."""
    from chalicelib.identity.domain import parse_bearer

    value = header(request, "authorization")
    if value is None and not required:
        return None
    return verifier.verify(parse_bearer(value))


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
