"""OTP issue, OTP verify and citizen-account creation: AWS calls per operation and handler latency (p50/p95).

Each operation is an in-process invocation of the Chalice app with an API Gateway proxy event, against its own moto
server (its user pool included), with every botocore client the app creates hooked (as in ``bench.awscalls``). Per
iteration: a fresh phone and ID number (so no send limit is hit), ``POST /v1/otp`` (measured: its SMS is an outbox
intent written with the code, sent later by the stream consumer, which does not run here; the code is fixed),
``POST /v1/otp/verify`` (measured), the scan presigned and uploaded to S3 (not measured: the browser does
it), ``POST /v1/officers/citizen-accounts`` (measured: it creates the citizen's user in the pool too); then that
iteration's items are deleted (see `_Pruner`). The officer (with the demo unit and the right) is seeded through the
use cases and signed in through ``POST /v1/auth/staff/sign-in``, like any officer; every measured call's token goes
through the JWKS verifier and the directory check (one GetItem). The proxy events come from one source IP, so the
bench raises the per-client OTP cap (``OTP_MAX_SENDS_PER_CLIENT_*``) and the officer's (``OTP_MAX_SENDS_PER_OFFICER_*``)
for the run.

    python -m bench.accounts [--n 200]
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = "local"  # the embedded stack's stage; bench.forwarding uses "dev"
UNIT = "000.00.15.H35"
OFFICER = "bench-officer-1"
PASSWORD = "BenchOfficer2026x"
CODE = "246810"
_CAPS = ("OTP_MAX_SENDS_PER_CLIENT_HOUR", "OTP_MAX_SENDS_PER_CLIENT_DAY", "OTP_MAX_SENDS_PER_OFFICER_HOUR",
         "OTP_MAX_SENDS_PER_OFFICER_DAY")
ROUTES = {"otp_issue": "POST /v1/otp", "otp_verify": "POST /v1/otp/verify",
          "account_create": "POST /v1/officers/citizen-accounts"}


def _percentile(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


class _Bench:
    def __init__(self, app, recorder) -> None:
        from .lambda_proxy import LambdaContext

        self.app, self.recorder, self.context = app, recorder, LambdaContext
        self.times: dict[str, list[float]] = {op: [] for op in ROUTES}
        self.calls: dict[str, Counter] = {op: Counter() for op in ROUTES}
        self.by_service: dict[str, Counter] = {op: Counter() for op in ROUTES}

    def call(self, method: str, resource: str, body: dict | None, headers: dict, expect: int,
             op: str | None = None, record: bool = False) -> dict:
        from .lambda_proxy import proxy_event

        event = proxy_event(method, resource, None, body, headers)
        self.recorder.reset()
        t0 = time.perf_counter()
        response = self.app(event, self.context())
        elapsed = time.perf_counter() - t0
        calls = list(self.recorder.calls)
        self.recorder.reset()
        if response["statusCode"] != expect:
            raise RuntimeError(f"{method} {resource}: expected {expect}, got {response['statusCode']}: "
                               f"{(response.get('body') or '')[:300]}")
        if op and record:
            self.times[op].append(elapsed * 1000)
            self.calls[op].update(f"{c.service}.{c.operation}" for c in calls)
            self.by_service[op].update(c.service for c in calls)
        return json.loads(response["body"]) if response.get("body") else {}

    def result(self, op: str) -> dict:
        n = len(self.times[op])
        services = ("dynamodb", "s3", "sns", "secretsmanager")
        return {
            "route": ROUTES[op], "n": n,
            "aws_calls": {s: round(self.by_service[op].get(s, 0) / n, 3) for s in services},
            "aws_calls_by_api": {k: round(v / n, 3) for k, v in sorted(self.calls[op].items())},
            "p50_ms": round(statistics.median(self.times[op]), 3),
            "p95_ms": round(_percentile(self.times[op], 95), 3),
            "mean_ms": round(statistics.fmean(self.times[op]), 3),
        }


def run(n: int) -> dict:
    """Measure the three operations ``n`` times each (after a short warm-up); returns {operation: figures}."""
    import requests

    for name, value in (("POWERTOOLS_LOG_LEVEL", "WARNING"), ("LOG_LEVEL", "WARNING"),
                        ("POWERTOOLS_METRICS_DISABLED", "true")):
        os.environ[name] = value
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    for name in _CAPS:  # one source IP and one officer for thousands of sends
        os.environ[name] = "1000000"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from chalicelib.local.stack import configure_environment, provision, start_moto

    moto, endpoint = start_moto()
    try:
        env = provision(endpoint, STAGE)
        configure_environment(endpoint, STAGE, env, bank_url="http://127.0.0.1:9")
        with contextlib.redirect_stdout(io.StringIO()):
            import app as app_module
            from chalicelib.bootstrap import context

            from .awscalls import CallRecorder

            # The SMS leaves through the outbox consumer (not run here); the bench knows the code instead.
            context().new_code = lambda: CODE
            recorder = CallRecorder()
            recorder.hook_new_clients()
            recorder.attach_app_clients()
            try:
                bench = _Bench(app_module.app, recorder)
                officer = _setup(bench)
                warmup = min(20, max(5, n // 10))
                http = requests.Session()
                recorder.paused = True  # the bench's own client is not counted
                prune = _Pruner(env["DIRECTORY_TABLE"])
                recorder.paused = False
                for i in range(warmup + n):
                    _iteration(bench, officer, http, i, record=i >= warmup)
                    prune()
            finally:
                recorder.stop_hooking_new_clients()
        return {op: bench.result(op) for op in ROUTES}
    finally:
        moto.stop()


class _Pruner:
    """Deletes each iteration's items (outside the timed region). moto copies a whole table for every transaction
    (to roll it back), so a growing table would make moto, not the app, slower with each iteration; real DynamoDB
    does not depend on table size. Units and the officer stay."""

    def __init__(self, table: str) -> None:
        import boto3

        self._ddb, self._table = boto3.client("dynamodb"), table

    def __call__(self) -> None:
        items = self._ddb.scan(TableName=self._table, ProjectionExpression="pk, sk")["Items"]
        for item in items:
            if not item["pk"]["S"].startswith(("UNIT#", "USER#")):
                self._ddb.delete_item(TableName=self._table, Key=item)


def _setup(bench: _Bench) -> dict:
    """The officer seeded through the use cases (unit, right, permanent password), then signed in through the API."""
    from chalicelib.local.identities import seed_staff

    seed_staff(OFFICER, "officer", PASSWORD, unit=UNIT)
    tokens = bench.call("POST", "/v1/auth/staff/sign-in", {"username": OFFICER, "password": PASSWORD}, {}, 200)
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _iteration(bench: _Bench, officer: dict, http, i: int, record: bool) -> None:
    phone, id_number = f"+8490{i:07d}", f"0350950{i % 100_000:05d}"
    otp = {"phone": phone, "purpose": "account_creation", "subject": id_number}
    bench.call("POST", "/v1/otp", otp, officer, 202, "otp_issue", record)
    code = CODE
    token = bench.call("POST", "/v1/otp/verify", {**otp, "code": code}, officer, 200, "otp_verify",
                       record)["verification_token"]
    scan = bench.call("POST", "/v1/officers/citizen-accounts/scans", {"unit_code": UNIT, "file_name": "cccd.pdf"},
                      officer, 201)
    form = scan["upload"]
    up = http.post(form["url"], data=form["fields"], files={"file": ("cccd.pdf", b"%PDF-1.7\n" + b"0" * 200_000)})
    if up.status_code not in (200, 201, 204):
        raise RuntimeError(up.text)
    body = {"id_number": id_number, "full_name": "Nguyễn Văn An", "date_of_birth": "1995-03-14", "sex": "male",
            "phone": phone, "unit_code": UNIT, "scan_id": scan["scan_id"], "verification_token": token}
    bench.call("POST", "/v1/officers/citizen-accounts", body, officer, 201, "account_create", record)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args(argv)
    print(json.dumps(run(args.n), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
