"""`make bench`: AWS calls and latency per operation (in-process, against moto), and cold start.

    python -m bench.run [--n 1000] [--out bench/results.json] [--profile 100] [--cold-runs 15]

Writes the results JSON and regenerates bench/README.md from it (when --out is the default path).
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
STAGE = "bench"
SERVICES = ("dynamodb", "sqs", "sns", "secretsmanager")
# The requirement's targets, per operation.
TARGETS = {
    "intake": {"ratio_max": 1.5},
    "lookup": {"dynamodb_max": 1, "ratio_max": 1.5},
    "initiate": {"dynamodb_max": 2, "ratio_max": 1.5},
    "bank_result": {"dynamodb_max": 2, "queue_sends_max": 1, "ratio_max": 1.5},
}
COLD_START_RATIO_MAX = 1.5
ROUTES = {
    "intake": "POST /v1/partners/notices",
    "lookup": "POST /v1/lookup",
    "initiate": "POST /v1/payments",
    "bank_result": "POST /v1/partners/banks/{bank_code}/callbacks",
}


class BenchFailure(RuntimeError):
    pass


def quiet_environment() -> None:
    """Before anything imports the app: logs at WARNING (no per-request INFO lines), metrics off."""
    import warnings

    # With metrics disabled, Powertools warns on each flush that follows one of its automatic 100-value publishes.
    warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ.pop("POWERTOOLS_DEV", None)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")


def percentile(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _avg(counter: Counter, n: int) -> dict[str, float]:
    return {k: round(v / n, 3) for k, v in sorted(counter.items())}


OPERATIONS = ("intake", "lookup", "initiate", "bank_result")
PRUNE_EVERY = 5  # journeys between two clean-ups of their items (see BareBackend.prune)


class OpStats:
    def __init__(self, name: str) -> None:
        self.name = name
        self.handler_ms: list[float] = []
        self.bare_ms: list[float] = []
        self.bare_all_ms: list[float] = []
        self.by_service: Counter = Counter()
        self.by_api: Counter = Counter()
        self.attempts: Counter = Counter()
        self.profiler: cProfile.Profile | None = None
        self.profiled = 0

    def add(self, elapsed: float, calls, attempts: Counter, bare_ddb: float, bare_all: float) -> None:
        from .awscalls import tally

        self.handler_ms.append(elapsed * 1000)
        self.bare_ms.append(bare_ddb * 1000)
        self.bare_all_ms.append(bare_all * 1000)
        by_service, by_api = tally(calls)
        self.by_service.update(by_service)
        self.by_api.update(by_api)
        self.attempts.update(attempts)

    def result(self) -> dict:
        n = len(self.handler_ms)
        p50, bare_p50, bare_all_p50 = (statistics.median(x) for x in (self.handler_ms, self.bare_ms,
                                                                     self.bare_all_ms))
        sends = self.by_api.get("sqs.SendMessage", 0) + self.by_api.get("sqs.SendMessageBatch", 0)
        result = {
            "route": ROUTES[self.name],
            "n": n,
            "aws_calls": {s: _num(self.by_service.get(s, 0) / n) for s in SERVICES},
            "aws_calls_by_api": _avg(self.by_api, n),
            "http_requests": _avg(self.attempts, n),
            "queue_sends": _num(sends / n),
            "p50_ms": round(p50, 3),
            "p95_ms": round(percentile(self.handler_ms, 95), 3),
            "mean_ms": round(statistics.fmean(self.handler_ms), 3),
            "bare_p50_ms": round(bare_p50, 3),
            "bare_p95_ms": round(percentile(self.bare_ms, 95), 3),
            "ratio": round(p50 / bare_p50, 2),
            # Median, over invocations, of (handler - its own replayed AWS calls): the app's own time per request.
            "own_time_p50_ms": round(statistics.median(h - b for h, b in zip(self.handler_ms, self.bare_all_ms, strict=True)), 3),
            "bare_all_aws_p50_ms": round(bare_all_p50, 3),
            "ratio_all_aws": round(p50 / bare_all_p50, 2),
            # Steady-state check: the backend must not get slower through the run.
            "drift": {"first_half_p50_ms": round(statistics.median(self.handler_ms[: n // 2] or self.handler_ms), 3),
                      "second_half_p50_ms": round(statistics.median(self.handler_ms[n // 2:]), 3),
                      "bare_first_half_p50_ms": round(statistics.median(self.bare_ms[: n // 2] or self.bare_ms), 3),
                      "bare_second_half_p50_ms": round(statistics.median(self.bare_ms[n // 2:]), 3)},
        }
        if self.profiler is not None and self.profiled:
            result["profile"] = summarise_profile(self.profiler, self.profiled)
        result["targets"] = TARGETS[self.name]
        result["met"] = check_targets(result, TARGETS[self.name])
        return result


class Runner:
    """Runs journeys: intake -> lookup -> initiate -> bank result, each a Lambda invocation of the app."""

    def __init__(self, app, recorder, bare, pipe) -> None:
        from .lambda_proxy import LambdaContext

        self.app, self.recorder, self.bare, self.pipe = app, recorder, bare, pipe
        self.stats = {name: OpStats(name) for name in OPERATIONS}
        self._context = LambdaContext
        self._written: list = []
        self._journeys_unpruned = 0

    def invoke(self, build: Callable, profiler: cProfile.Profile | None = None, replay: bool = True):
        """One invocation: returns (seconds, calls made, HTTP attempts, bare DynamoDB s, bare all-AWS s)."""
        req = build()  # event construction and signing: outside the timed region
        context = self._context()
        self.recorder.reset()
        if profiler is not None:
            profiler.enable()
        t0 = time.perf_counter()
        response = self.app(req.event, context)
        elapsed = time.perf_counter() - t0
        if profiler is not None:
            profiler.disable()
        attempts = Counter(self.recorder.http_attempts)
        calls = self.recorder.snapshot()
        status = response.get("statusCode")
        body_text = response.get("body") or ""
        if status != req.expected_status:
            raise BenchFailure(f"{req.event['httpMethod']} {req.event['path']}: expected {req.expected_status}, "
                               f"got {status}: {body_text[:500]}")
        body = json.loads(body_text) if body_text else {}
        req.check(body)
        req.on_success(body)
        bare_ddb = bare_all = 0.0
        if replay:
            bare_ddb, bare_all = self.bare.replay(calls)  # and keeps the shadow tables in the same state
        return elapsed, calls, attempts, bare_ddb, bare_all

    def journey(self, record: bool = False, profile: bool = False) -> None:
        builders = {"intake": self.pipe.intake, "lookup": self.pipe.lookup, "initiate": self.pipe.initiate,
                    "bank_result": self.pipe.bank_result}
        for name in OPERATIONS:
            stats = self.stats[name]
            profiler = None
            if profile:
                stats.profiler = stats.profiler or cProfile.Profile()
                profiler = stats.profiler
            # Profiled journeys come last: no baseline is taken from them, so they skip the replay.
            elapsed, calls, attempts, bare_ddb, bare_all = self.invoke(builders[name], profiler, replay=not profile)
            self._written += calls
            if record:
                stats.add(elapsed, calls, attempts, bare_ddb, bare_all)
            if profile:
                stats.profiled += 1
        self._journeys_unpruned += 1
        if self._journeys_unpruned >= PRUNE_EVERY:
            self.bare.prune(self._written, keep=_keep)
            self._written, self._journeys_unpruned = [], 0


def _keep(key: dict) -> bool:
    """The receipt counter stays (it is one item per unit and year, read and advanced by every bank result)."""
    return key.get("pk", {}).get("S", "").startswith("CTR#")


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 3)


def check_targets(result: dict, targets: dict) -> dict[str, bool]:
    met = {}
    if "dynamodb_max" in targets:
        met["dynamodb_calls"] = result["aws_calls"]["dynamodb"] <= targets["dynamodb_max"]
    if "queue_sends_max" in targets:
        met["queue_sends"] = result["queue_sends"] <= targets["queue_sends_max"]
    if "ratio_max" in targets:
        met["ratio"] = result["ratio"] <= targets["ratio_max"]
        met["ratio_all_aws"] = result["ratio_all_aws"] <= targets["ratio_max"]
    return met


def _short(filename: str, root: str) -> str:
    if filename.startswith(root):
        return filename[len(root):]
    for marker in ("site-packages" + os.sep, "python3." + str(sys.version_info[1]) + os.sep):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def summarise_profile(profiler: cProfile.Profile, calls: int, top: int = 12) -> dict:
    """Top cumulative entries in our code (app.py, chalicelib/) and outside it, in ms per handler call."""
    stats = pstats.Stats(profiler)
    ours, theirs = [], []
    root = str(ROOT) + os.sep
    for (filename, line, func), (_cc, ncalls, _tt, cumtime, _callers) in stats.stats.items():
        entry = {"function": f"{func}", "where": f"{_short(filename, root)}:{line}",
                 "cum_ms_per_call": round(cumtime * 1000 / calls, 3), "calls_per_call": round(ncalls / calls, 2)}
        if filename.startswith(root) and "/bench/" not in filename:
            ours.append(entry)
        elif not filename.startswith("~") and "cProfile" not in filename:
            theirs.append(entry)
    ours.sort(key=lambda e: -e["cum_ms_per_call"])
    theirs.sort(key=lambda e: -e["cum_ms_per_call"])
    return {"calls": calls, "ours": ours[:top], "libraries": theirs[:top]}


class CountingSink(io.TextIOBase):
    """Stands in for stdout while the app runs: counts what the app prints (EMF metrics, log lines)."""

    def __init__(self) -> None:
        self.writes = self.chars = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.writes += 1
        self.chars += len(text)
        return len(text)


def say(message: str) -> None:
    print(message, file=sys.__stdout__, flush=True)


def run(n: int, out: Path, profile_calls: int, cold_runs: int) -> dict:
    quiet_environment()
    t_start = time.perf_counter()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from chalicelib.local.stack import REGION, configure_environment, provision, start_moto

    results: dict = {}
    sink = CountingSink()
    warmup = min(50, max(20, n // 20))
    moto, endpoint = start_moto()
    try:
        env = provision(endpoint, STAGE)
        configure_environment(endpoint, STAGE, env, bank_url="http://127.0.0.1:9")
        app_env = dict(os.environ)
        say(f"moto at {endpoint}, stage {STAGE!r} provisioned ({time.perf_counter() - t_start:.1f} s)")
        with contextlib.redirect_stdout(sink):
            import app as app_module

            from .awscalls import CallRecorder
            from .operations import Pipeline
            from .replay import BareBackend

            recorder = CallRecorder()
            recorder.hook_new_clients()
            recorder.attach_app_clients()
            recorder.paused = True  # the bench's own clients are not counted
            bare = BareBackend(endpoint, REGION, [env["DOSSIERS_TABLE"], env["LEDGER_TABLE"]],
                               [env["FORWARDING_QUEUE_URL"]])
            recorder.paused = False
            pipe = Pipeline()
            runner = Runner(app_module.app, recorder, bare, pipe)
            runner.invoke(pipe.lookup_seed)
            say(f"{warmup} warm-up journeys, {n} measured"
                + (f", {profile_calls} under cProfile" if profile_calls else "")
                + " (journey = intake -> lookup -> initiate -> bank result)")
            t_phase = time.perf_counter()
            for _ in range(warmup):
                runner.journey()
            for i in range(n):
                runner.journey(record=True)
                if (i + 1) % max(1, n // 5) == 0:
                    say(f"  {i + 1}/{n} journeys ({time.perf_counter() - t_phase:.0f} s)")
            for _ in range(profile_calls):
                runner.journey(profile=True)
            recorder.check_still_hooked()
            recorder.stop_hooking_new_clients()
            hooked = recorder.hooked_services()
        for name in OPERATIONS:
            r = results[name] = runner.stats[name].result()
            say(f"  {name:12s} p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms  "
                f"bare p50 {r['bare_p50_ms']:6.2f} ms  ratio {r['ratio']:.2f} "
                f"(all AWS {r['ratio_all_aws']:.2f})  calls {r['aws_calls_by_api']}")
    finally:
        moto.stop()

    say(f"cold start: {cold_runs} fresh processes each ...")
    from . import coldstart

    cold = coldstart.measure(cold_runs, app_env)
    cold["target_ratio_max"] = COLD_START_RATIO_MAX
    cold["met"] = cold["ratio"] <= COLD_START_RATIO_MAX
    results["cold_start"] = cold
    say(f"  app {cold['app_ms']} ms, baseline {cold['baseline_ms']} ms, ratio {cold['ratio']}")

    say("forwarding: 2000 receipts through the local queue consumer to the simulated province ...")
    from . import forwarding

    results["forwarding"] = forwarding.run(2000)
    say(f"  {results['forwarding']['receipts_per_s']} receipts/s, raw {results['forwarding']['raw_receipts_per_s']}/s")

    from .accounts import (
        run as run_accounts,  # OTP issue/verify and account creation (M8, M9)
    )

    results["accounts"] = run_accounts(max(20, min(n, 300)))
    say("  accounts " + ", ".join(f"{op} p50 {r['p50_ms']} ms p95 {r['p95_ms']} ms"
                                  for op, r in results["accounts"].items()))
    from .sign_in import run as run_sign_in  # sign-in through the pool; token verification per request

    results["identity"] = run_sign_in(max(20, min(n, 300)))
    signed, verify = results["identity"]["sign_in"], results["identity"]["verify"]
    say(f"  sign-in p50 {signed['p50_ms']} ms p95 {signed['p95_ms']} ms; token check "
        f"{verify['signature_and_claims_p50_us']} µs + directory p50 {verify['with_directory_check']['p50_ms']} ms, "
        f"JWKS fetches after the first: {verify['jwks_fetches_after_first']}")
    say("onboarding: support requests filed and listed (M11) ...")
    from .support_requests import run as run_support_requests

    support = results.setdefault("onboarding", {})["support_requests"] = run_support_requests(max(20, min(n, 80)))
    say("  " + ", ".join(f"{op} p50 {r['p50_ms']} ms p95 {r['p95_ms']} ms, {r['dynamodb_calls_max']} DynamoDB max"
                         for op, r in support.items() if op != "pages"))
    from . import stale  # one stale-payment run (M14): AWS calls per payment and total time

    say(f"reconciliation: one stale-payment run over {stale.DEFAULT_N} stale payments (BENCH_STALE_N) ...")
    stale_result = results.setdefault("reconciliation", {})["stale_payments"] = stale.run()
    say(f"  {stale_result['total_s']} s, {stale_result['aws_calls_per_payment']} AWS calls per payment "
        f"{stale_result['aws_calls_per_payment_by_api']}")
    results["meta"] = meta(n, warmup, profile_calls, time.perf_counter() - t_start)
    results["meta"]["app_stdout"] = {"writes": sink.writes, "chars": sink.chars}
    results["meta"]["hooked_clients"] = hooked
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return results


def meta(n: int, warmup: int, profile_calls: int, seconds: float) -> dict:
    from importlib.metadata import version

    return {
        "generated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        "n": n,
        "warmup": warmup,
        "profiled_journeys": profile_calls,
        "prune_every": PRUNE_EVERY,
        "duration_s": round(seconds, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": {p: version(p) for p in ("chalice", "boto3", "botocore", "pynamodb", "pydantic", "moto",
                                             "aws-lambda-powertools")},
        "environment": {k: os.environ.get(k) for k in ("POWERTOOLS_LOG_LEVEL", "LOG_LEVEL",
                                                       "POWERTOOLS_METRICS_DISABLED", "APP_STAGE")},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="measured invocations per operation (default 1000)")
    ap.add_argument("--out", type=Path, default=BENCH_DIR / "results.json")
    ap.add_argument("--profile", type=int, default=None,
                    help="extra journeys under cProfile, after the measured ones (0 to skip; default n/10, "
                         "between 10 and 100)")
    ap.add_argument("--cold-runs", type=int, default=15, help="fresh processes per side for the import time")
    ap.add_argument("--readme", type=Path, default=None,
                    help="README to regenerate (default: bench/README.md when --out is the default path)")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("--n must be at least 1")
    profile = args.profile if args.profile is not None else min(100, max(10, args.n // 10))
    results = run(args.n, args.out, profile, args.cold_runs)
    readme = args.readme or (BENCH_DIR / "README.md" if args.out.resolve() == (BENCH_DIR / "results.json")
                             else None)
    if readme is not None:
        from .report import write_readme

        write_readme(results, readme)
    say(f"wrote {args.out}" + (f" and {readme}" if readme else ""))
    missed = [f"{op}.{k}" for op, r in results.items() if isinstance(r, dict) and isinstance(r.get("met"), dict)
              for k, ok in r["met"].items() if not ok]
    if not results["cold_start"]["met"]:
        missed.append("cold_start.ratio")
    if missed:
        say("targets missed: " + ", ".join(missed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
