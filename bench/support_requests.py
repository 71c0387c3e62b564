"""Support requests (M11): filing and listing latency (p50/p95) and AWS calls per operation, and DynamoDB calls per
list page.

Each operation is an in-process invocation of the Chalice app with an API Gateway proxy event, against its own moto
server (stage ``local``), every botocore client the app creates hooked (as in ``bench.awscalls``). ``n`` requests
are filed over five provinces (a fifth of them with one PDF attachment: uploaded to S3 outside the timed region,
checked by a ranged GET inside it), one in ten is moved to in progress, then every page is read: the operator's
all-provinces listing, one province's listing, and a filtered search (status and words of the title), which reads a
bounded number of query pages per answer. Nothing is pruned (the listings need the data), so moto's
``TransactWriteItems``, which copies the table it writes, gets slower as the run goes: compare the call counts, not
the milliseconds, with real DynamoDB.

    python -m bench.support_requests [--n 80]
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
STAGE = "local"
PROVINCES = ("H26", "H29", "H19", "H12", "H13")
ROUTES = {"file": "POST /v1/support-requests", "file_with_attachment": "POST /v1/support-requests (1 PDF)",
          "list_all": "GET /v1/support-requests (operator, 20 per page)",
          "list_province": "GET /v1/support-requests (province admin, 20 per page)",
          "list_filtered": "GET /v1/support-requests?status=in_progress&title=... (20 per page)"}
PDF = b"%PDF-1.7\n" + b"0" * 150_000 + b"\n%%EOF\n"


def _token(sub: str, role: str, province: str | None = None) -> str:
    from chalicelib.identity.adapters import issue_local_token
    from chalicelib.local.devkeys import LOCAL_JWT_AUDIENCE, LOCAL_JWT_ISSUER, LOCAL_JWT_SECRET

    claims = {"province_code": province} if province else {}
    return issue_local_token(LOCAL_JWT_SECRET, LOCAL_JWT_ISSUER, LOCAL_JWT_AUDIENCE, sub, [role], ttl_s=86_400,
                             **claims)


def _percentile(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


class _Bench:
    def __init__(self, app, recorder) -> None:
        from .lambda_proxy import LambdaContext

        self.app, self.recorder, self.context = app, recorder, LambdaContext
        self.times: dict[str, list[float]] = {op: [] for op in ROUTES}
        self.by_service: dict[str, Counter] = {op: Counter() for op in ROUTES}
        self.by_api: dict[str, Counter] = {op: Counter() for op in ROUTES}
        self.ddb_per_call: dict[str, list[int]] = {op: [] for op in ROUTES}

    def call(self, method: str, resource: str, body, headers: dict, expect: int, op: str | None = None,
             query: dict | None = None, params: dict | None = None) -> dict:
        from .lambda_proxy import proxy_event

        event = proxy_event(method, resource, params, body, headers, query)
        self.recorder.reset()
        t0 = time.perf_counter()
        response = self.app(event, self.context())
        elapsed = time.perf_counter() - t0
        calls = list(self.recorder.calls)
        self.recorder.reset()
        if response["statusCode"] != expect:
            raise RuntimeError(f"{method} {resource}: {response['statusCode']}: {(response.get('body') or '')[:300]}")
        if op:
            self.times[op].append(elapsed * 1000)
            self.by_service[op].update(c.service for c in calls)
            self.by_api[op].update(f"{c.service}.{c.operation}" for c in calls)
            self.ddb_per_call[op].append(sum(1 for c in calls if c.service == "dynamodb"))
        return json.loads(response["body"]) if response.get("body") else {}

    def result(self, op: str) -> dict:
        n = len(self.times[op])
        ddb = self.ddb_per_call[op]
        return {"route": ROUTES[op], "n": n,
                "aws_calls": {s: round(c / n, 3) for s, c in sorted(self.by_service[op].items())},
                "aws_calls_by_api": {k: round(v / n, 3) for k, v in sorted(self.by_api[op].items())},
                "dynamodb_calls_mean": round(statistics.fmean(ddb), 3), "dynamodb_calls_max": max(ddb),
                "p50_ms": round(statistics.median(self.times[op]), 3),
                "p95_ms": round(_percentile(self.times[op], 95), 3)}


def _form(short: str, i: int, attachments: list | None = None) -> dict:
    return {"request_type": "other", "service_group": "dvcqg_integration", "requester_name": "Nguyễn Văn Hùng",
            "requester_phone": "0912345678", "feedback_email": f"phanhoi-{short.lower()}@tinh.example.vn",
            "title": f"Tỉnh {short}- yêu cầu hỗ trợ số {i} về cấu hình", "description": "Nội dung cần hỗ trợ.",
            "attachments": attachments or []}


def _attachment(bench: _Bench, http, headers: dict, name: str) -> dict:
    got = bench.call("POST", "/v1/support-requests/attachments", {"file_name": name}, headers, 201)
    bench.recorder.paused = True
    up = http.post(got["upload"]["url"], data=got["upload"]["fields"], files={"file": (name, PDF)})
    bench.recorder.paused = False
    if up.status_code not in (200, 201, 204):
        raise RuntimeError(up.text)
    return {"attachment_id": got["attachment_id"], "file_name": name}


def _pages(bench: _Bench, op: str, headers: dict, query: dict) -> int:
    cursor, pages = None, 0
    while True:
        body = bench.call("GET", "/v1/support-requests", None, headers, 200, op,
                          {**query, **({"cursor": cursor} if cursor else {})})
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            return pages


def _workload(bench: _Bench, n: int, http) -> dict:
    admins = {p: {"Authorization": f"Bearer {_token(f'admin-{p}', 'province_admin', p)}"} for p in PROVINCES}
    operator = {"Authorization": f"Bearer {_token('bench-operator', 'operator')}"}
    ids = []
    for i in range(n):
        short = PROVINCES[i % len(PROVINCES)]
        with_file = i % 5 == 0
        files = [_attachment(bench, http, admins[short], f"minh-chung-{i}.pdf")] if with_file else []
        op = "file_with_attachment" if with_file else "file"
        ids.append(bench.call("POST", "/v1/support-requests", _form(short, i, files), admins[short], 201, op)
                   ["request_id"])
    for rid in ids[::10]:
        bench.call("POST", "/v1/support-requests/{request_id}/status", {"status": "in_progress"}, operator, 200,
                   params={"request_id": rid})
    return {"list_all": _pages(bench, "list_all", operator, {"limit": "20"}),
            "list_province": _pages(bench, "list_province", admins["H26"], {"limit": "20"}),
            "list_filtered": _pages(bench, "list_filtered", operator,
                                    {"limit": "20", "status": "in_progress", "title": "cau hinh"})}


def run(n: int = 80) -> dict:
    """File ``n`` requests and page through the listings; returns {operation: figures, "pages": {...}}."""
    import requests

    for name, value in (("POWERTOOLS_LOG_LEVEL", "WARNING"), ("LOG_LEVEL", "WARNING"),
                        ("POWERTOOLS_METRICS_DISABLED", "true")):
        os.environ[name] = value
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from chalicelib.local.stack import configure_environment, provision, start_moto

    moto, endpoint = start_moto()
    try:
        configure_environment(endpoint, STAGE, provision(endpoint, STAGE), bank_url="http://127.0.0.1:9")
        with contextlib.redirect_stdout(io.StringIO()):
            import app as app_module

            from .awscalls import CallRecorder

            recorder = CallRecorder()
            recorder.hook_new_clients()
            recorder.attach_app_clients()
            try:
                bench = _Bench(app_module.app, recorder)
                with requests.Session() as http:
                    pages = _workload(bench, n, http)
            finally:
                recorder.stop_hooking_new_clients()
        return {**{op: bench.result(op) for op in ROUTES}, "pages": pages}
    finally:
        moto.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=80)
    args = ap.parse_args(argv)
    print(json.dumps(run(args.n), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
