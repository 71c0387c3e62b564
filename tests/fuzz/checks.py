"""The fuzz run's own checks, besides schemathesis' built-in ones (server errors, declared statuses, content types
and response schemas, schema-invalid requests refused, auth enforced)."""
from __future__ import annotations

import json

from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario

from chalicelib.api.routing import BODY_PROBLEMS

PROBLEM_JSON = "application/problem+json"


# (METHOD, path template) of every operation of the whole document: an operation left out of one caller's document
# (another role's) is still declared, and answers as its route does, not as a missing route.
DECLARED: set[tuple[str, str]] = set()


class SchemaValidRefused(AssertionError):
    """A request the OpenAPI document calls valid was refused as invalid input."""


class UndeclaredMethodAnswer(AssertionError):
    """A method the path does not declare was not answered as API Gateway answers it."""


def problem_code(response) -> str | None:
    if not (response.headers.get("content-type") or [""])[0].startswith(PROBLEM_JSON):
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def schema_valid_is_accepted(ctx, response, case) -> None:
    """A positive (schema-valid) case is never refused as invalid input: not 422 VALIDATION_FAILED and no 400 body
    refusal. A rule JSON Schema cannot express answers its own declared problem code instead (the declared codes
    per status are checked by the response schema: each problem response's `code` is an enum)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return
    code = problem_code(response)
    # A 400 refuses the request as malformed (the shell's body codes, or no problem code); a route's own declared 400
    # code (a signature that does not verify, a return URL of another payment) is a rule beyond the schema.
    if (response.status_code == 400 and (code is None or code in BODY_PROBLEMS[400])) or \
            (response.status_code == 422 and code == "VALIDATION_FAILED"):
        raise SchemaValidRefused(f"schema-valid request refused as invalid: {response.status_code} "
                                 f"{response.content[:800].decode('utf-8', 'replace')}")


def undeclared_method_is_route_not_found(ctx, response, case) -> None:
    """An undeclared method on a declared path is what API Gateway answers for it (infra/gateway_responses.json):
    404 ROUTE_NOT_FOUND problem+json. Schemathesis' own check expects a 405, which a REST API cannot give."""
    meta = case.meta
    data = meta.phase.data if meta is not None else None
    if not isinstance(data, CoveragePhaseData) or data.scenario != CoverageScenario.UNSPECIFIED_HTTP_METHOD:
        return
    if (response.request.method.upper(), case.operation.path) in DECLARED:
        return
    if response.status_code != 404 or problem_code(response) != "ROUTE_NOT_FOUND":
        raise UndeclaredMethodAnswer(f"{response.request.method} answered {response.status_code} "
                                     f"{response.content[:300]!r}, expected 404 ROUTE_NOT_FOUND problem+json")


class GatewayConfirmedInvalid(AssertionError):
    """A schema-invalid VNPay IPN was confirmed."""


def invalid_ipn_is_not_confirmed(ctx, response, case) -> None:
    """The VNPay IPN answers every request 200 with the gateway's own RspCode (its protocol, so schemathesis'
    "schema-invalid requests are refused" cannot apply to its status): a schema-invalid one is never RspCode 00."""
    meta = case.meta
    if case.path != "/v1/partners/banks/vnpay/ipn" or meta is None or meta.generation.mode.is_positive:
        return
    try:
        code = json.loads(response.content).get("RspCode")
    except (ValueError, AttributeError):
        return
    if code == "00":
        raise GatewayConfirmedInvalid(f"schema-invalid IPN confirmed: {response.request.url}")


CHECKS = [schema_valid_is_accepted, undeclared_method_is_route_not_found, invalid_ipn_is_not_confirmed]
