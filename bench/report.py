"""bench/README.md, regenerated from the latest results by every `make bench` (do not edit it by hand)."""
from __future__ import annotations

from pathlib import Path

OPS = ("intake", "lookup", "initiate", "bank_result")
TITLES = {"intake": "Intake (notice)", "lookup": "Lookup", "initiate": "Initiate payment",
          "bank_result": "Bank result"}

# What each operation's DynamoDB calls are, as the app makes them (the replay sends these exact requests).
BARE = {
    "intake": "`GetItem` of the dossier (consistent read; absent, as the dossier is new) + `PutItem` of the new "
              "dossier item with `attribute_not_exists(dossier_code)`.",
    "lookup": "`GetItem` of the same dossier item (consistent read).",
    "initiate": "`GetItem` of the dossier (consistent read) + `TransactWriteItems` of 3 items: `Put` payment "
                "(`attribute_not_exists(pk)`), `Update` of the dossier's notice claiming it (condition: notice "
                "exists, same version, not paid, no live payment or the live one expired), `Put` idempotency "
                "record (`attribute_not_exists(pk)`).",
    "bank_result": "`BatchGetItem` of the payment and the receipt counter (consistent read) + `TransactWriteItems` "
                   "of 4 items: `Put` payment PAID (condition on rev and state), `Update` of the dossier's notice to "
                   "paid, `Put` receipt (`attribute_not_exists(pk)`), `Put` counter (condition on its previous "
                   "value).",
}


def _others(r: dict) -> str:
    """The non-DynamoDB calls of an operation, as observed (Secrets Manager is cached, never replayed)."""
    extra = [f"`{api.split('.', 1)[1]}` ({api.split('.', 1)[0].upper()}) × {_n(v)}"
             for api, v in r["aws_calls_by_api"].items()
             if not api.startswith(("dynamodb.", "secretsmanager."))]
    return ", ".join(extra) or "nothing more"


def _ms(x: float) -> str:
    return f"{x:.2f}"


def _calls(r: dict) -> str:
    return ", ".join(f"{api.split('.', 1)[1]} {_n(v)}" for api, v in r["aws_calls_by_api"].items()) or "none"


def _n(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.3f}"


def _ok(flag: bool | None) -> str:
    return "n/a" if flag is None else ("met" if flag else "**missed**")


def _targets(results: dict) -> list[str]:
    rows = ["| Target | Measured | Status |", "|---|---|---|"]
    lk, ini, bank = results["lookup"], results["initiate"], results["bank_result"]
    rows.append(f"| lookup: 1 DynamoDB call | {_n(lk['aws_calls']['dynamodb'])} | "
                f"{_ok(lk['met']['dynamodb_calls'])} |")
    rows.append(f"| initiate: ≤ 2 DynamoDB calls | {_n(ini['aws_calls']['dynamodb'])} | "
                f"{_ok(ini['met']['dynamodb_calls'])} |")
    rows.append(f"| bank result: ≤ 2 DynamoDB calls | {_n(bank['aws_calls']['dynamodb'])} | "
                f"{_ok(bank['met']['dynamodb_calls'])} |")
    rows.append(f"| bank result: ≤ 1 queue send | {_n(bank['queue_sends'])} | {_ok(bank['met']['queue_sends'])} |")
    for op in OPS:
        r = results[op]
        rows.append(f"| {TITLES[op]}: handler ≤ 1.5 × bare DynamoDB calls (p50) | {r['ratio']:.2f} | "
                    f"{_ok(r['met']['ratio'])} |")
        rows.append(f"| {TITLES[op]}: handler ≤ 1.5 × all its bare AWS calls (p50) | {r['ratio_all_aws']:.2f} | "
                    f"{_ok(r['met']['ratio_all_aws'])} |")
    cold = results["cold_start"]
    rows.append(f"| import of app.py ≤ 1.5 × boto3 + chalice + pydantic (median) | {cold['ratio']:.2f} | "
                f"{_ok(cold['met'])} |")
    return rows


def _profile(results: dict, top: int = 6) -> list[str]:
    lines = []
    for op in OPS:
        prof = results[op].get("profile")
        if not prof:
            continue
        lines.append(f"**{TITLES[op]}** ({prof['calls']} calls under cProfile; cumulative ms per call, "
                     "inflated by the profiler):")
        lines.append("")
        lines.append("| Function (our code) | Where | ms / call |")
        lines.append("|---|---|---|")
        for e in prof["ours"][:top]:
            lines.append(f"| `{e['function']}` | `{e['where']}` | {e['cum_ms_per_call']:.2f} |")
        lines.append("")
    return lines


def _identity(results: dict) -> list[str]:
    """Sign-in through the user pool and the token check every authenticated request makes (bench/sign_in.py)."""
    found = results.get("identity")
    if not found:
        return []
    s, v = found["sign_in"], found["verify"]
    return [
        f"**Sign-in** (`{s['route']}`, a citizen, n = {s['n']}, moto's cognito-idp): p50 {_ms(s['p50_ms'])} ms, "
        f"p95 {_ms(s['p95_ms'])} ms; calls per sign-in: {_calls(s)} (the guard's read, its conditional write, the "
        "pool's AdminInitiateAuth, the guard released). **Token check per request**: signature and claims "
        f"p50 {v['signature_and_claims_p50_us']} µs (RS256, JWKS cached: {v['jwks_fetches_first_verification']} "
        f"download for the first verification, {v['jwks_fetches_after_first']} after it); with the directory "
        f"check p50 {_ms(v['with_directory_check']['p50_ms'])} ms, p95 {_ms(v['with_directory_check']['p95_ms'])} "
        f"ms ({_calls({'aws_calls_by_api': v['aws_calls_per_request']})} per request).",
        "",
    ]


def _stale(results: dict) -> list[str]:
    r = results.get("reconciliation", {}).get("stale_payments")
    if not r:
        return []
    return [f"**Stale payments** (`bench/stale.py`, one scheduled run of `resolve_stale_payments`): {r['payments']} "
            f"stale payments in {r['total_s']} s ({r['payments_per_s']}/s, {r['workers']} workers), "
            f"**{r['aws_calls_per_payment']} AWS calls per payment** ({r['aws_writes_per_payment']} writes; "
            f"{_calls({'aws_calls_by_api': r['aws_calls_per_payment_by_api']})}), "
            f"{r['bank_status_calls_per_payment']} bank status call per payment; outcomes {r['outcomes']}. The "
            "issue's 10,000: `BENCH_STALE_N=10000` (moto serialises DynamoDB calls, so time grows linearly).", ""]


def render(results: dict) -> str:
    meta, cold = results["meta"], results["cold_start"]
    rows = [
        "| Operation | Route | AWS calls / op (by API) | Queue sends | p50 ms | p95 ms | bare p50 ms | ratio | "
        "bare all-AWS p50 ms | ratio all-AWS | own time p50 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for op in OPS:
        r = results[op]
        rows.append(
            f"| {TITLES[op]} | `{r['route']}` | {_calls(r)} | {_n(r['queue_sends'])} | {_ms(r['p50_ms'])} | "
            f"{_ms(r['p95_ms'])} | {_ms(r['bare_p50_ms'])} | {r['ratio']:.2f} | {_ms(r['bare_all_aws_p50_ms'])} | "
            f"{r['ratio_all_aws']:.2f} | {_ms(r['own_time_p50_ms'])} |")
    bare_rows = ["| Operation | Bare baseline: DynamoDB calls replayed | All-AWS baseline also replays |",
                 "|---|---|---|"]
    bare_rows += [f"| {TITLES[op]} | {BARE[op]} | {_others(results[op])} |" for op in OPS]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    stdout = meta.get("app_stdout", {})
    hooked = ", ".join(meta.get("hooked_clients", [])) or "n/a"
    return "\n".join([
        "# Bench: AWS calls, handler latency and cold start",
        "",
        "Generated by `make bench` (`python -m bench.run`) from `bench/results.json`; do not edit by hand.",
        "",
        "## How to run",
        "",
        "```sh",
        "make bench                                                # n = 1000: bench/results.json + this README",
        ".venv/bin/python -m bench.run --n 50 --out /tmp/x.json    # smoke check (under a minute)",
        ".venv/bin/python -m bench.sign_in --n 200                 # sign-in and the per-request token check only",
        ".venv/bin/python -m bench.accounts --n 50                 # OTP issue/verify and account creation only",
        "```",
        "",
        "Options: `--n` measured invocations per operation (default 1000, the floor for the real run), `--out`, "
        "`--profile` journeys run under cProfile after the measured ones (default n/10 between 10 and 100; 0 to "
        "skip), `--cold-runs` fresh processes per side for the import time (default 15). The README is "
        "rewritten only when `--out` is the default path (or with `--readme PATH`). Everything runs in one "
        "process on loopback: an embedded moto server, no network, no AWS account. The run fails loudly if any "
        "invocation answers another status code or body than expected.",
        "",
        f"## Latest results ({meta['generated_at']}, n = {meta['n']} per operation)",
        "",
        *rows,
        "",
        "- *AWS calls / op*: API calls per invocation, averaged over the measured ones, by service in "
        "`results.json` (`aws_calls`) and by API here (`aws_calls_by_api`). Secrets Manager is 0 in steady "
        "state: the app caches the secret for 300 s (Powertools) and the warm-up fetched it (a run longer than "
        "that shows the refresh as a fraction).",
        "- *ratio* = handler p50 / bare p50, where *bare* is the operation's **DynamoDB** calls only (the "
        "requirement's definition). *ratio all-AWS* divides by the replay of **all** its AWS calls: the SNS and "
        "SQS calls (intake's SMS and notice forwarding, bank result's receipt send) are real AWS round trips "
        "that a DynamoDB-only baseline leaves on the handler's side of the ratio. *own time* is the median, over "
        "invocations, of handler time minus that invocation's all-AWS replay: the app's own work per request "
        "(routing, validation, signatures, (de)serialisation, logging).",
        "",
        f"**Cold start** (median of {cold['runs']} fresh processes each): `import app` {cold['app_ms']} ms, "
        f"`{cold['baseline']}` {cold['baseline_ms']} ms, ratio **{cold['ratio']:.2f}**.",
        "",
        *_identity(results),
        *_stale(results),
        "### Targets",
        "",
        *_targets(results),
        "",
        "## What is measured",
        "",
        "**Invocation.** The Chalice app object is called as Lambda calls it: `app.app(event, context)` with an "
        "API Gateway REST proxy event (payload 1.0: `httpMethod`, `path`, `resource` = the route template, "
        "`pathParameters`, `headers`, `queryStringParameters`, `multiValueQueryStringParameters`, `body` as a "
        "string, `isBase64Encoded: false`, `requestContext` with `resourcePath`, `httpMethod`, `requestId`, "
        "`stage`) and a Lambda context object (`bench/lambda_proxy.py`). Routing, content-type checks, the "
        "`endpoint` wrapper, pydantic validation, webhook signature verification (HMAC), the services, pynamodb "
        "and the JSON response all count. The timed region is the call only: building the event and signing it "
        "(Standard Webhooks, for intake and bank results) happen before the clock starts; the signature "
        "*verification* is inside.",
        "",
        "**Journeys.** Each measured round is one journey on fresh data, every step through the app: intake of "
        "a signed notice for a new dossier -> lookup (of one dossier seeded through the intake route at start) "
        "-> initiate a payment of the new notice at BIDV with an `Idempotency-Key` -> the bank's signed SUCCESS "
        "for that payment. So each operation gets exactly n invocations on distinct items (lookup: the same "
        f"item), after {meta['warmup']} warm-up journeys (first-use imports, client creation, the secret fetch).",
        "",
        "**AWS calls** are counted with botocore event hooks (`provide-client-params` per API call, "
        "`before-send` per HTTP attempt, in `http_requests`) registered on every client the app uses: the cached "
        "boto3 clients of `chalicelib.aws.clients.client` (SQS, SNS, Secrets Manager) and the botocore "
        "client under both pynamodb models; as a safety net, any other botocore client created while the bench "
        f"runs is hooked too (hooked this run: {hooked}). The run fails if a client the app uses is not hooked. "
        "The hooks only append to a list and bump a counter (microseconds per call).",
        "",
        "**Bare baseline** (same run, same moto server, same data). Right after each invocation, the exact "
        "requests the app sent (captured by the hook) are replayed with a plain boto3 client against *shadow* "
        "copies of the tables (same keys, index and TTL; table names swapped, botocore's idempotency token "
        "regenerated), so the shadow tables go through the same states as the real ones: same items, same "
        "sizes, same conditions, all succeeding. The plain client uses the settings pynamodb gives its own (no "
        "client-side parameter validation, standard retries), so the baseline is the cheapest honest way to "
        "send those requests. `bare_p50_ms` is the p50 of the summed DynamoDB calls per invocation; "
        "`bare_all_aws_p50_ms` adds the replayed SNS/SQS calls. Per operation:",
        "",
        *bare_rows,
        "",
        "**Steady state.** moto's `TransactWriteItems` deep-copies every table it touches before applying a "
        "transaction, so its latency grows with the table's size, and moto's SQS `SendMessage` grows with the "
        "queue's depth; real DynamoDB and SQS do neither. "
        f"Every {meta.get('prune_every', 5)} journeys the bench therefore deletes the journeys' items from the "
        "real and shadow tables (the receipt counter stays), drops the empty per-partition buckets moto keeps "
        "after such deletes (it would deep-copy those too), and drains every queue the app sent to, all outside "
        "the timed region. Without this the latencies would drift upwards through the run and the ratios would "
        "look better than they are (a fixed app overhead over an ever slower backend); `drift` in "
        "`results.json` compares the first and the second half of the run.",
        "",
        "**Logging and metrics.** `POWERTOOLS_LOG_LEVEL=WARNING` and `LOG_LEVEL=WARNING` (no per-request INFO "
        "lines), `POWERTOOLS_METRICS_DISABLED=true`. The app's stdout is captured in-process during the run "
        f"({stdout.get('writes', 0)} writes, {stdout.get('chars', 0)} characters this time: with metrics "
        "disabled, Powertools still prints an EMF blob whenever 100 values of one metric have accumulated, and "
        "then warns \"No application metrics to publish\" on the next flush; the bench filters that warning).",
        "",
        f"**Cold start.** {cold['runs']} fresh `python -c` processes per side, alternating, in the repository "
        "root with the app's environment; each child times the import itself with `time.perf_counter()` "
        "(interpreter start-up excluded) and prints it. Side A: `import app`; side B: `import boto3, chalice, "
        "pydantic`. Bytecode is compiled once beforehand into a private `PYTHONPYCACHEPREFIX`, so both sides "
        "import from `.pyc` files and the repository gets no `__pycache__`. Reported: the median of each side "
        "and their ratio.",
        "",
        "**Percentiles.** p50 is the median; p95 uses `statistics.quantiles(..., n=100, method='inclusive')`.",
        "",
        "## Where the time goes (cProfile)",
        "",
        "Extra journeys after the measured ones, profiled around the handler call only (no baseline taken from "
        "them). Cumulative time includes waiting for moto; `profile` in `results.json` also lists library "
        "entries.",
        "",
        *(_profile(results) or ["Not profiled in this run (`--profile 0`).", ""]),
        "## Caveats",
        "",
        "- moto is not DynamoDB: absolute milliseconds say nothing about AWS latency. The ratios compare the app "
        "with the very requests it sends, on the same backend, interleaved invocation by invocation. The app's "
        "own time (last column) does not depend on the backend, so on real DynamoDB the ratio is roughly "
        "(bare + own time) / bare with AWS's per-call latency as *bare*.",
        "- moto runs in the same process (a server thread), sharing the interpreter lock with the app: a "
        "request's server-side time appears in both the handler and the bare timings alike.",
        "- Other work on the machine (parallel test runs, other builds) adds noise, mostly to p95. Compare "
        "ratios, not absolute numbers, across runs.",
        "",
        f"Environment: Python {meta['python']} on {meta['platform']}, {meta['cpus']} CPUs; {versions}. "
        f"Run took {meta['duration_s']} s.",
        "",
    ])


def write_readme(results: dict, path: Path) -> None:
    path.write_text(render(results), encoding="utf-8")
