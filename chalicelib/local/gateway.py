"""What API Gateway answers by itself on the local stack: a request for no declared route and method.

In AWS the REST API routes before the Lambda runs: an unknown path, or a method the path does not declare (TRACE,
HEAD or OPTIONS included: the API declares none of them and has no CORS), is API Gateway's
MISSING_AUTHENTICATION_TOKEN response, which infra/gateway_responses.json turns into 404 ROUTE_NOT_FOUND
problem+json. Chalice's local server answers these with its own 403 / 405 JSON, an automatic OPTIONS 200 and the
HTTP server's 501 HTML page instead; the local stack asks `routes_to` first and answers `missing_route()`, read from
that same file, so clients (and the fuzzer) see locally what they will see in AWS.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

GATEWAY_RESPONSES = Path(__file__).resolve().parents[2] / "infra" / "gateway_responses.json"
UNKNOWN_ROUTE = "MISSING_AUTHENTICATION_TOKEN"


def routes_to(app: Any, method: str, raw_path: str) -> bool:
    """Whether API Gateway would hand this request to the Lambda: a declared route with this method."""
    from chalice.local import RouteMatcher

    try:
        route = RouteMatcher(list(app.routes)).match_route(raw_path).route
    except ValueError:
        return False
    return method.upper() in app.routes[route]


@cache
def gateway_response(response_type: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one gateway response of infra/gateway_responses.json (as infra/package.py
    renders it into the template)."""
    data = json.loads(GATEWAY_RESPONSES.read_text(encoding="utf-8"))
    spec = data["responses"][response_type]
    body: dict[str, Any] = {"type": data["problem_base"] + spec["code"].lower().replace("_", "-"),
                            "title": spec["title"]}
    if "status" in spec:
        body["status"] = spec["status"]
    body |= {"detail": spec["detail"], "code": spec["code"]}
    headers = {"Content-Type": "application/problem+json", "Cache-Control": "no-store", **spec.get("headers", {})}
    return spec.get("status", 403), headers, json.dumps(body, ensure_ascii=False).encode("utf-8")


def missing_route() -> tuple[int, dict[str, str], bytes]:
    return gateway_response(UNKNOWN_ROUTE)
