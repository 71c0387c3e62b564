"""Reconciliation (M14 §6): a bank's day of settlement lines against the matching ledger, and a province's month
report.

    python -m bench.reconciliation [--lines 200000] [--moto-lines 2000] [--reports 200]

Settlement, in two parts, each run by a child process (the Lambda's stand-in, so its peak RSS is the job's own):

* ``settlement``: the job's use case on a file of ``--lines`` (default 200,000; ``BENCH_RECON_LINES``) streamed
  from disk, against the same day's payments served by an in-memory day index in pages of 5,000 (what a 1 MB
  DynamoDB page holds of the index's projected items), the run store in memory: lines/s, peak RSS (it must stream:
  under 512 MB), day-index pages per 1,000 lines, and the ratio to parsing and classifying the same file in memory
  with no run logic at all (``tests.unit.settlement_bench``).
* ``settlement_moto``: the job's handler on the file's EventBridge event with every AWS call real (moto over HTTP):
  the file in S3, the day index seeded into moto's backend (setup, not measured). Reported: seconds, DynamoDB calls
  by API per 1,000 lines, the ratio to in-memory parse+classify. Its size is ``--moto-lines`` (default 2,000;
  ``BENCH_RECON_MOTO_LINES``) because moto answers a GSI page by scanning and sorting the whole table in Python
  (about 4 ms per item on this machine): 200,000 lines there would take most of an hour, which measures moto,
  not the job. DynamoDB's 1 MB pages are what both parts count.

Report: 31 day items of one province, each with a day's breakdowns; ``GET /v1/reports/collections`` for the month
through the Chalice app with an operator's token (an API Gateway proxy event, in-process): DynamoDB calls per
request (target: at most 2) and p50/p95 latency.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = "bench"
BANK, DAY = "VCB", date(2026, 11, 30)
KEY = f"settlements/{BANK}/{BANK}_{DAY:%Y%m%d}.csv"
MONTH = date(2026, 5, 1)
PAGE_ITEMS = 5_000  # day-index items in one 1 MB page (~190 bytes each: keys, state, amount, reference, time)
TARGET_REPORT_CALLS = 2
MAX_PEAK_MB = 512


def _percentile(values: list[float], q: int) -> float:
    return values[0] if len(values) == 1 else statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _in_memory_seconds(raw: bytes, portal: dict) -> float:
    from tests.unit.settlement_bench import _parse_and_classify

    began = time.perf_counter()
    _parse_and_classify(raw, portal)
    return time.perf_counter() - began


def _child_json(*args: str) -> dict:
    child = subprocess.run([sys.executable, "-m", "bench.reconciliation", *args], cwd=ROOT, env=dict(os.environ),
                           capture_output=True, text=True, check=False, timeout=1800)
    if child.returncode != 0:
        raise RuntimeError(f"bench child {args} failed: {child.stderr[-2000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM: reset by exec, unlike getrusage's ru_maxrss, which would carry
    the forking parent's size into the child)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- settlement: the job's own work at full size ------------------------------------------------------------------

class _PagedPortal:
    """The day index in memory, read the way DynamoPortalDay reads it: pages of PAGE_ITEMS, counted."""

    def __init__(self, portal: dict) -> None:
        self._portal, self.calls = portal, 0

    def paid_on(self, bank_code, day):
        self.calls += max(1, math.ceil(len(self._portal) / PAGE_ITEMS))
        return dict(self._portal)

    def lookup(self, payment_id):
        self.calls += 1
        return None


def _child_full(lines: int) -> None:
    from chalicelib.reconciliation.adapters import settlement_formats
    from chalicelib.reconciliation.adapters.files import S3SettlementFiles
    from chalicelib.reconciliation.domain.runs import FileRef, Trigger
    from chalicelib.reconciliation.services.runs import reconcile
    from tests.fakes import make_services
    from tests.fakes_reconciliation import InMemoryRunStore
    from tests.unit.settlement_bench import build

    raw, portal = build(lines)
    folder = tempfile.mkdtemp(prefix="lfo-bench-")
    path = Path(folder, f"{BANK}_{DAY:%Y%m%d}.csv")
    path.write_bytes(raw)
    size = len(raw)
    del raw
    ctx = make_services()
    ctx.runs, ctx.portal = InMemoryRunStore(ctx.outbox), _PagedPortal(portal)
    ctx.settlement_files, ctx.settlement_formats = S3SettlementFiles("ap-southeast-1", "unused"), settlement_formats
    before = _peak_rss_mb()
    began = time.perf_counter()
    run = reconcile(ctx, BANK, DAY, FileRef(key=f"local:{path}"), Trigger(source="cli", by="bench"))
    seconds = time.perf_counter() - began
    path.unlink()
    print(json.dumps({"seconds": seconds, "status": run.status.value, "file_bytes": size, "pages": ctx.portal.calls,
                      "counts": {k: v for k, v in run.counts.items() if v}, "peak_rss_mb": _peak_rss_mb(),
                      "rss_before_run_mb": before}))


def _settlement(lines: int) -> dict:
    from tests.unit.settlement_bench import build

    got = _child_json("--child-full", str(lines))
    raw, portal = build(lines)
    memory_s = _in_memory_seconds(raw, portal)
    return {"lines": lines, "file_mb": round(got["file_bytes"] / 2**20, 1), "status": got["status"],
            "seconds": round(got["seconds"], 2), "lines_per_s": int(lines / got["seconds"]),
            "peak_rss_mb": round(got["peak_rss_mb"], 1), "rss_before_run_mb": round(got["rss_before_run_mb"], 1),
            "peak_max_mb": MAX_PEAK_MB, "met_memory": got["peak_rss_mb"] < MAX_PEAK_MB,
            "day_index_pages": got["pages"], "day_index_pages_per_1000_lines": round(got["pages"] * 1000 / lines, 3),
            "in_memory_seconds": round(memory_s, 2), "ratio_to_in_memory": round(got["seconds"] / memory_s, 2),
            "counts": got["counts"]}


# --- settlement against moto --------------------------------------------------------------------------------------

def _seed_day_index(table: str, portal: dict) -> None:
    """The PAID payments of the day, as DynamoLedger files them, put straight into moto's backend (fast)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-1"]
    for payment_id, p in portal.items():
        backend.put_item(table, {
            "pk": {"S": f"PAY#{payment_id}"}, "sk": {"S": "PAYMENT"}, "kind": {"S": "payment"},
            "state": {"S": "PAID"}, "gsi3pk": {"S": f"DAY#{BANK}#{DAY.isoformat()}"}, "gsi3sk": {"S": payment_id},
            "amount_vnd": {"N": str(p.amount_vnd)}, "bank_txn_ref": {"S": p.bank_txn_ref},
            "paid_at": {"S": p.paid_at.isoformat()}})


def _child_moto() -> None:
    """The job's handler on the file's event, in this (fresh) process, against moto; prints its figures."""
    with contextlib.redirect_stdout(io.StringIO()):
        from bench.awscalls import CallRecorder
        from chalicelib.bootstrap import context
        from chalicelib.jobs.reconcile import handle_event

        recorder = CallRecorder()
        recorder.hook_new_clients()
        ctx = context()
        event = {"version": "0", "id": "bench", "detail-type": "Object Created", "source": "aws.s3",
                 "account": "000000000000", "time": "", "region": "ap-southeast-1", "resources": [],
                 "detail": {"bucket": {"name": os.environ["DOCUMENTS_BUCKET"]}, "object": {"key": KEY}}}
        began = time.perf_counter()
        out = handle_event(event, None, ctx)
        seconds = time.perf_counter() - began
        run = ctx.runs.get(out["runs"][0]["run_id"])
    calls: dict[str, int] = {}
    for call in recorder.calls:
        calls[f"{call.service}.{call.operation}"] = calls.get(f"{call.service}.{call.operation}", 0) + 1
    print(json.dumps({"seconds": seconds, "calls": calls, "status": run.status.value,
                      "counts": {k: v for k, v in run.counts.items() if v}, "peak_rss_mb": _peak_rss_mb()}))


def _settlement_moto(env: dict, lines: int) -> dict:
    import boto3

    from tests.unit.settlement_bench import build

    raw, portal = build(lines)
    _seed_day_index(env["LEDGER_TABLE"], portal)
    boto3.client("s3").put_object(Bucket=env["DOCUMENTS_BUCKET"], Key=KEY, Body=raw)
    memory_s = _in_memory_seconds(raw, portal)
    got = _child_json("--child-moto")
    ddb = {k: v for k, v in got["calls"].items() if k.startswith("dynamodb.")}
    return {"lines": lines, "status": got["status"], "seconds": round(got["seconds"], 2),
            "lines_per_s": int(lines / got["seconds"]), "peak_rss_mb": round(got["peak_rss_mb"], 1),
            "dynamodb_calls": sum(ddb.values()),
            "dynamodb_calls_per_1000_lines": round(sum(ddb.values()) * 1000 / lines, 3),
            "aws_calls_by_api": got["calls"], "in_memory_seconds": round(memory_s, 3),
            "ratio_to_in_memory": round(got["seconds"] / memory_s, 1), "counts": got["counts"]}


# --- report of one province for a month ---------------------------------------------------------------------------

def _seed_report_month(table: str) -> None:
    """31 day items of one province, with a busy day's counters (5 banks, 2 sub-items, 10 units, deliveries)."""
    import boto3

    from chalicelib.aws.tallies import transact_update
    from chalicelib.core import tallies

    ddb = boto3.client("dynamodb")
    for offset in range(31):
        day = MONTH + timedelta(days=offset)
        at = f"{day.isoformat()}T10:00:00+07:00"
        day_tallies = [tallies.paid("000.00.00.H35", bank, [("2801", 1_000_000), ("1006", 500_000)], 1_500_000, at)
                       for bank in ("VCB", "ICB", "BIDV", "VBA", "MB")]
        day_tallies += [tallies.account_created(f"000.00.{u}.H35", f"officer-{u}", at) for u in range(10, 20)]
        day_tallies += [tallies.delivery("H35", "delivered", at, s) for s in (5, 50, 500, 5000)]
        merged: dict[str, int] = {}
        for tally in day_tallies:
            for name, value in tally.as_dict().items():
                merged[name] = merged.get(name, 0) + value
        one = tallies.Tally(day_tallies[0].province, day, tuple(merged.items()))
        ddb.update_item(**transact_update(table, one)["Update"])


def _report(n: int) -> dict:
    from bench.awscalls import CallRecorder
    from bench.lambda_proxy import LambdaContext, proxy_event

    from .tokens import staff_token

    with contextlib.redirect_stdout(io.StringIO()):
        import app as app_module

        recorder = CallRecorder()
        recorder.hook_new_clients()
        recorder.attach_app_clients()
        token = staff_token(app_module.app, "operator")
        query = {"province": "H35", "date_from": MONTH.isoformat(),
                 "date_to": (MONTH + timedelta(days=30)).isoformat()}
        times, calls = [], []
        for i in range(n + 10):
            recorder.reset()
            began = time.perf_counter()
            response = app_module.app(proxy_event("GET", "/v1/reports/collections", None, None,
                                                  {"Authorization": f"Bearer {token}"}, query), LambdaContext())
            elapsed = (time.perf_counter() - began) * 1000
            if response["statusCode"] != 200:
                raise RuntimeError(f"report answered {response['statusCode']}: {response.get('body', '')[:300]}")
            if i >= 10:  # after a warm-up (the first call reads the app secret and builds clients)
                times.append(elapsed)
                calls.append(sum(1 for c in recorder.calls if c.service == "dynamodb"))
        recorder.stop_hooking_new_clients()
        body = json.loads(response["body"])
    return {"route": "GET /v1/reports/collections", "n": n, "days": 31, "dynamodb_calls": max(calls),
            "dynamodb_max": TARGET_REPORT_CALLS, "met": max(calls) <= TARGET_REPORT_CALLS,
            "p50_ms": round(statistics.median(times), 3), "p95_ms": round(_percentile(times, 95), 3),
            "paid_count": body["totals"]["paid_count"]}


def run(lines: int | None = None, moto_lines: int | None = None, reports: int = 50) -> dict:
    """The three measurements (moto on a server of its own); returns {settlement, settlement_moto, report_month}."""
    lines = lines or int(os.environ.get("BENCH_RECON_LINES", "200000"))
    moto_lines = moto_lines or int(os.environ.get("BENCH_RECON_MOTO_LINES", "2000"))
    for name, value in (("POWERTOOLS_LOG_LEVEL", "WARNING"), ("LOG_LEVEL", "WARNING"),
                        ("POWERTOOLS_METRICS_DISABLED", "true")):
        os.environ[name] = value
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    out = {"settlement": _settlement(lines)}
    from chalicelib.local.stack import configure_environment, provision, start_moto

    moto, endpoint = start_moto()
    try:
        env = provision(endpoint, STAGE)
        configure_environment(endpoint, STAGE, env, bank_url="http://127.0.0.1:9")
        out["settlement_moto"] = _settlement_moto(env, moto_lines)
        _seed_report_month(env["LEDGER_TABLE"])
        out["report_month"] = _report(reports)
    finally:
        moto.stop()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reconciliation", description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=None, help="settlement lines (default BENCH_RECON_LINES, "
                        "200000)")
    parser.add_argument("--moto-lines", type=int, default=None, help="lines against moto (default "
                        "BENCH_RECON_MOTO_LINES, 2000)")
    parser.add_argument("--reports", type=int, default=50, help="report requests measured")
    parser.add_argument("--child-full", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-moto", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_full:
        _child_full(args.child_full)
    elif args.child_moto:
        _child_moto()
    else:
        print(json.dumps(run(args.lines, args.moto_lines, args.reports), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
