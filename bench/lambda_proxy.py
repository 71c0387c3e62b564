"""Invoke the Chalice app as Lambda would: an API Gateway REST (v1) proxy event and a Lambda context object."""
from __future__ import annotations

import json
import uuid
from typing import Any

FUNCTION_NAME = "lfo-bench-api"
REGION = "ap-southeast-1"


class LambdaContext:
    """The attributes of the Python Lambda runtime's context object that handlers commonly read."""

    function_name = FUNCTION_NAME
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{FUNCTION_NAME}"
    log_group_name = f"/aws/lambda/{FUNCTION_NAME}"
    log_stream_name = "2025/01/01/[$LATEST]bench"

    def __init__(self, timeout_ms: int = 30_000) -> None:
        import time

        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        import time

        return max(0, int((self._deadline - time.monotonic()) * 1000))


def proxy_event(method: str, resource: str, path_parameters: dict[str, str] | None = None,
                body: bytes | str | dict | None = None, headers: dict[str, str] | None = None,
                query: dict[str, str] | None = None, stage: str = "api") -> dict[str, Any]:
    """An API Gateway REST API proxy-integration event (payload format 1.0) for `resource` (the route template)."""
    path = resource
    for name, value in (path_parameters or {}).items():
        path = path.replace("{" + name + "}", value)
    if isinstance(body, dict):
        body = json.dumps(body, ensure_ascii=False)
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    request_id = str(uuid.uuid4())
    all_headers = {
        "Host": "api.dichvucong.gov.vn",
        "User-Agent": "lfo-bench/1.0",
        "X-Forwarded-For": "203.0.113.10",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Port": "443",
        **({"Content-Type": "application/json"} if body is not None else {}),
        **(headers or {}),
    }
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "accountId": "123456789012",
            "apiId": "benchapi01",
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "lfo-bench/1.0"},
        },
        "body": body,
        "isBase64Encoded": False,
    }
