"""The local stack answers what API Gateway answers before the Lambda runs: an unknown route, or a method its path
does not declare, is the gateway response of infra/gateway_responses.json (404 ROUTE_NOT_FOUND problem+json), never
Chalice's local 403/405 JSON, an automatic OPTIONS 200 or the HTTP server's 501 HTML page (found by the fuzzer)."""
from __future__ import annotations

import pytest
import requests

from tests.conftest import assert_problem


@pytest.mark.parametrize("method, path", [
    ("TRACE", "/openapi.json"), ("DELETE", "/v1/health"), ("PATCH", "/v1/lookup"), ("OPTIONS", "/v1/lookup"),
    ("GET", "/v1/no-such-route"), ("PUT", "/v1/payments/PAYA0000000000000000000000000000"), ("FOO", "/v1/banks"),
])
def test_unknown_routes_and_methods_are_the_gateway_404(stack, method, path):
    r = requests.request(method, stack.api_url + path, data=b'{"a": 1}', timeout=10)
    assert_problem(r, 404, "ROUTE_NOT_FOUND")
    assert r.headers["Cache-Control"] == "no-store"


def test_head_is_not_routed_but_the_connection_stays_usable(stack):
    with requests.Session() as s:
        assert s.head(stack.api_url + "/v1/banks", timeout=10).status_code == 404
        assert s.get(stack.api_url + "/v1/banks", timeout=10).status_code == 200
