"""Schemathesis against the running local stack, from the stack's own /openapi.json, once per kind of caller:
anonymous, citizen, officer, province_admin, operator (bearer tokens of the local issuer), the signed partners and
banks, and the partners unsigned (whose every request must be a 401 problem, never a 5xx).

Positive and negative cases (schemathesis' coverage phase, then its fuzzing phase), at least FUZZ_CASES requests per
role (default 2,000; `make fuzz` runs more), derandomised by FUZZ_SEED (printed in the pytest header; set it to
explore). Checks: schemathesis' own (no 5xx, declared statuses, content types and response schemas, schema-invalid
requests refused, missing auth refused) and ours (tests/fuzz/checks.py): a schema-valid request is never refused as
invalid input, an undeclared method is API Gateway's 404, an invalid VNPay IPN is never confirmed.

Each xdist worker fuzzes its own stack (the `stack` fixture): callers are test items, spread over the workers.
"""
from __future__ import annotations

import math
import os

import pytest
import requests
import schemathesis

from tests.fuzz.checks import CHECKS, DECLARED
from tests.fuzz.signing import IPN_PATH, SigningSession

SEED = int(os.environ.get("FUZZ_SEED", "20260520"))
# Every role's caller sends at least CASES requests (the 2,000 per role in CI; `make fuzz` runs 10,000), and
# the test fails when one sends fewer. A caller's requests are schemathesis' coverage phase (positive and negative
# cases derived from each operation's schema: a fixed number, large for callers with many operations) plus its
# fuzzing phase (max-examples per operation). FUZZ_SHARE is the fuzzing phase's part of CASES per caller, tuned on
# the counts of FUZZ_COUNTS runs (FUZZ_SEED 20260520): operators and province administrators pass 2,000 on the
# coverage phase alone (about 3,500 and 2,500 cases), the callers with few operations need most of the fuzzing
# phase. The floor assertion, not the share, is the requirement: a share set too low fails the run.
CASES = int(os.environ.get("FUZZ_CASES", "2000"))
FUZZ_SHARE = {"anonymous": 0.9, "citizen": 1.0, "officer": 0.8, "province_admin": 0.1, "operator": 0.1, "partner": 0.9,
              "partner_unsigned": 0.01}
# Partners unsigned are not a role: they only show that every refusal is a 401 problem, so a tenth of the floor.
FLOOR = {caller: 0.1 if caller == "partner_unsigned" else 1 for caller in FUZZ_SHARE}
CALLERS = tuple(FUZZ_SHARE)
BEARERS = ("citizen", "officer", "province_admin", "operator")


TOKEN_CLIENT = "127.0.0.2"  # the users' own address: not the fuzzer's, whose wrong guesses the sign-in guard caps


class _FromAddress(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (TOKEN_CLIENT, 0)
        super().init_poolmanager(*args, **kwargs)


def bearer_token(stack, role: str) -> str:
    """An access token of a fresh user of `role` in the stack's identity pool, signed in through the API (the one
    place the fuzzer makes tokens): officers get the demo unit and its right, province admins the demo province.
    The sign-in comes from another loopback address than the fuzzer's requests: the fuzzer's wrong passwords on
    /v1/auth/sign-in use up its own address's allowance (30 an hour), as an attacker's would, not the users'."""
    with requests.Session() as session:
        session.mount("http://", _FromAddress())
        return stack.identity(role, session=session).access_token


def _is_for(operation: dict, caller: str) -> bool:
    """The operations a caller is meant to use: partners the partner endpoints; anonymous the public ones; a role
    those naming it (x-roles), plus those any signed-in caller may use."""
    partner = "partners" in operation.get("tags", ())
    if caller.startswith("partner"):
        return partner
    security = operation.get("security", [])
    public = security == [] or {} in security
    if caller == "anonymous":
        return public and not partner
    roles = operation.get("x-roles")
    return caller in roles if roles else bool(security) and not public


def caller_document(document: dict, caller: str) -> dict:
    paths = {path: kept for path, ops in document["paths"].items()
             if (kept := {m: op for m, op in ops.items() if _is_for(op, caller)})}
    return {**document, "paths": paths}


def _config(base_url: str, per_operation: int) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "base-url": base_url,
        "suppress-health-check": ["all"],
        "generation": {"mode": "all", "max-examples": per_operation, "database": "none",
                       "with-security-parameters": False},
        "phases": {"examples": {"enabled": False}, "stateful": {"enabled": False}},
        # Replaced by checks.schema_valid_is_accepted (a rule beyond the schema may answer its own 422 code) and
        # checks.undeclared_method_is_route_not_found (a REST API answers an undeclared method 404, not 405).
        # 413 is a refusal too: a body over the size limit (a JSON string's maxLength counts characters, and one
        # character may take six bytes as a \u escape) is refused whole before it is read.
        "checks": {"positive_data_acceptance": {"enabled": False}, "unsupported_method": {"enabled": False},
                   "negative_data_rejection": {"expected-statuses": ["400", "401", "403", "404", "405", "406", "409",
                                                                     "413", "415", "422", "428", "429", "5xx"]}},
        # The IPN answers every request 200 with the gateway's RspCode: checks.invalid_ipn_is_not_confirmed instead.
        "operations": [{"include-path": IPN_PATH, "checks": {"negative_data_rejection": {"enabled": False}}}],
    })


@pytest.fixture(params=CALLERS)
def caller(request):
    return request.param


@pytest.fixture()
def fuzz_schema(stack, caller):
    full = requests.get(f"{stack.api_url}/openapi.json", timeout=30).json()
    DECLARED.update((method.upper(), path) for path, ops in full["paths"].items() for method in ops)
    document = caller_document(full, caller)
    operations = sum(len(ops) for ops in document["paths"].values())
    per_operation = math.ceil(CASES * FUZZ_SHARE[caller] / operations)
    return schemathesis.openapi.from_dict(document, config=_config(stack.api_url, per_operation))


@pytest.fixture()
def sender(stack, caller):
    """The caller's session and headers, and a count of what was sent; at the end, at least the cases promised."""
    session = requests.Session() if caller == "partner_unsigned" else SigningSession(partner=caller == "partner")
    tokens = Tokens(stack, caller)
    sent = {"cases": 0, "positive": 0, "negative": 0}
    yield session, tokens, sent
    session.close()
    if os.environ.get("FUZZ_COUNTS"):  # a file to append "caller operation cases" to, for measuring a run
        with open(os.environ["FUZZ_COUNTS"], "a", encoding="utf-8") as out:
            out.write(f"{caller} {sent}\n")
    wanted = math.ceil(CASES * FLOOR[caller])
    assert sent["cases"] >= wanted, f"{caller}: {sent} cases, fewer than {wanted} (FUZZ_SEED={SEED})"
    if caller == "partner":
        assert session.signed >= sent["positive"] // 2, "the partner's requests were not signed"


# Operations that end the caller's session when they succeed (every later request of that user is TOKEN_REVOKED):
# they get a user of their own, made again after each success, so the other operations keep a live session.
SESSION_ENDING = {("POST", "/v1/auth/sign-out")}


class Tokens:
    """The caller's bearer headers: one user for the operation, a fresh one for each session-ending success."""

    def __init__(self, stack, caller: str) -> None:
        self.stack, self.caller = stack, caller
        self.main: dict[str, str] | None = None
        self.ending: dict[str, str] | None = None

    def _new(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {bearer_token(self.stack, self.caller)}"} if self.caller in BEARERS else {}

    def headers(self, case) -> dict[str, str]:
        if (case.method.upper(), case.path) in SESSION_ENDING:
            self.ending = self.ending if self.ending is not None else self._new()
            return self.ending
        self.main = self.main if self.main is not None else self._new()
        return self.main

    def answered(self, case, response) -> None:
        if (case.method.upper(), case.path) in SESSION_ENDING and response.status_code < 300:
            self.ending = None


schema = schemathesis.pytest.from_fixture("fuzz_schema")


@schema.parametrize()
def test_api(case, sender):
    session, tokens, sent = sender
    sent["cases"] += 1
    if case.meta is not None:
        sent["positive" if case.meta.generation.mode.is_positive else "negative"] += 1
    headers = tokens.headers(case)
    response = case.call(session=session, headers=headers, timeout=30)
    tokens.answered(case, response)
    case.validate_response(response, headers=headers, additional_checks=CHECKS,
                           transport_kwargs={"session": session, "headers": dict(headers), "timeout": 30})
