"""Onboarding benchmark (M10): importing the tax authority's commune list and matching it, and the intake latency
of a tax-coded notice next to a standard-coded one.

    python -m bench.onboarding [--n 100]

1. Import: a synthetic tax list of today's 3,321 communes (diacritics dropped, unit words abbreviated, misspellings,
   unknown names and duplicated lines planted, as ``communes.matching.match_bench`` builds it) written as the CSV a
   person would upload. Timed: the whole country's file parsed and matched in one go, and the same rows imported
   province by province through the import use case (base64 body, parse, match, one DynamoDB write per province,
   against moto). Reported: seconds, rows per second and the share matched without review (``wrong_automatic``, rows
   matched without review to another commune than the planted one, must be 0).
2. Intake: ``POST /v1/partners/notices`` invoked in-process as API Gateway would (signed Standard Webhooks), against
   moto, alternating a notice with a tax commune code (mapped through Hồ Chí Minh City's published map) and one with
   today's statistics code; p50/p95 of each and the ratio of the p50s (target <= 1.1).
"""
from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGE = "local"
HCM, HCM_AGENCY = "79", "H29"
RATIO_MAX = 1.1


def _pct(values: list[float], q: int) -> float:
    return values[0] if len(values) == 1 else statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _csv(rows) -> bytes:
    lines = ["Mã xã,Tên xã,Tỉnh"] + [f"{r.tax_code},\"{r.name}\",{r.province}" for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def import_bench(ctx, seed: int = 20250701) -> tuple[dict, dict]:
    """(results, {province: (import id, rows, truth)}) of the import timings."""
    from chalicelib.communes import tabular
    from chalicelib.communes.matching import _synthetic_rows, match_rows
    from chalicelib.communes.services.maps import import_list

    rows, truth, planted = _synthetic_rows(3321, random.Random(seed))
    data = _csv(rows)
    started = time.perf_counter()
    results = match_rows(tabular.import_csv(data).rows)
    whole_s = time.perf_counter() - started
    automatic = [(r, t) for r, t in zip(results, truth, strict=True) if not r.needs_review]
    by_province: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_province.setdefault(r.province, []).append(i)
    imports, reviewed, started = {}, 0, time.perf_counter()
    for province, indexes in sorted(by_province.items()):
        body = {"file_name": f"xa-thue-{province}.csv",
                "content_base64": base64.b64encode(_csv([rows[i] for i in indexes])).decode()}
        view = import_list(ctx, "bench-operator", province, body)
        reviewed += view["summary"]["needs_review"]
        imports[province] = (view, [truth[i] for i in indexes])
    service_s = time.perf_counter() - started
    return {
        "rows": len(rows), "file_bytes": len(data), "planted": dict(planted),
        "statuses": dict(Counter(r.status.value for r in results)),
        "whole_list_seconds": round(whole_s, 3), "whole_list_rows_per_s": round(len(rows) / whole_s),
        "per_province_imports": len(imports), "per_province_seconds": round(service_s, 3),
        "per_province_rows_per_s": round(len(rows) / service_s),
        "share_matched_automatically": round(len(automatic) / len(rows), 4),
        "wrong_automatic": sum(1 for r, t in automatic if r.matched.code != t),
        "rows_needing_review": reviewed,
    }, imports


def publish_hcm(ctx, imports: dict) -> dict[str, str]:
    """Publish HCM's map (each flagged row decided to its planted commune, planted unknowns excluded): tax -> gso."""
    from chalicelib.communes.services.maps import publish, review

    view, truth = imports[HCM]
    decisions, seen = [], set()
    for row, code in zip(view["rows"], truth, strict=True):
        if not row["needs_review"]:
            continue
        duplicate = row["tax_code"] in seen
        decisions.append({"line": row["line"], "action": "exclude"} if code is None or duplicate
                         else {"line": row["line"], "action": "choose", "standard_code": code})
        seen.add(row["tax_code"])
    if decisions:
        review(ctx, "bench-operator", HCM, view["import_id"], {"decisions": decisions})
    published = publish(ctx, "bench-operator", HCM, view["import_id"])
    return {e["tax_code"]: e["standard_code"] for e in published["entries"]}


def _notice(commune_code: str, system: str, i: int) -> dict:
    from chalicelib.local.demo import demo_notice

    dossier = f"000.{i % 100:02d}.{(i // 100) % 100:02d}.{HCM_AGENCY}-260520-{i % 10000:04d}"
    return {**demo_notice(dossier, (1_378_500,)), "commune_code": commune_code, "commune_code_system": system}


def _invoke(app, payload: dict) -> float:
    from chalicelib.core.webhooks import sign_webhook
    from chalicelib.local.devkeys import LOCAL_TAX_AUTHORITY_SECRET

    from .lambda_proxy import LambdaContext, proxy_event

    body = json.dumps(payload, ensure_ascii=False)
    headers = sign_webhook(body.encode(), LOCAL_TAX_AUTHORITY_SECRET, f"msg_{uuid.uuid4().hex}", int(time.time()))
    event = proxy_event("POST", "/v1/partners/notices", body=body, headers=headers)
    started = time.perf_counter()
    answer = app(event, LambdaContext())
    elapsed = (time.perf_counter() - started) * 1000
    if answer["statusCode"] != 200 or json.loads(answer["body"]) != {"accepted": 1, "unchanged": 0}:
        raise RuntimeError(f"intake answered {answer['statusCode']}: {answer['body'][:300]}")
    return elapsed


def _prune(settings) -> None:
    """Outside the timed region: delete the dossiers and outbox items written so far. moto deep-copies every table
    a transaction touches, so without this each intake would be slower than the one before (real DynamoDB is not)."""
    from chalicelib.aws.clients import client

    ddb = client("dynamodb", settings.region)
    for table, keys in ((settings.dossiers_table, ("dossier_code",)), (settings.ledger_table, ("pk", "sk"))):
        for page in ddb.get_paginator("scan").paginate(TableName=table, ProjectionExpression=", ".join(keys)):
            for item in page["Items"]:
                if table == settings.dossiers_table or item["pk"]["S"].startswith("OUTBOX#"):
                    ddb.delete_item(TableName=table, Key={k: item[k] for k in keys})


def intake_bench(app, settings, tax_map: dict[str, str], n: int, warmup: int = 20) -> dict:
    pairs = sorted(tax_map.items())
    timings: dict[str, list[float]] = {"tax": [], "gso": []}
    for i in range(warmup + n):
        tax_code, gso_code = pairs[i % len(pairs)]
        order = [("tax", tax_code), ("gso", gso_code)] if i % 2 == 0 else [("gso", gso_code), ("tax", tax_code)]
        for system, code in order:
            ms = _invoke(app, _notice(code, system, 2 * i + (system == "tax")))
            if i >= warmup:
                timings[system].append(ms)
        if i % 5 == 4:
            _prune(settings)
    out = {s: {"n": len(v), "p50_ms": round(_pct(v, 50), 2), "p95_ms": round(_pct(v, 95), 2)}
           for s, v in timings.items()}
    ratio = round(out["tax"]["p50_ms"] / out["gso"]["p50_ms"], 3)
    return {**out, "ratio_p50": ratio, "target_ratio_max": RATIO_MAX, "met": ratio <= RATIO_MAX}


def run(n: int = 100) -> dict:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    from chalicelib.local.stack import configure_environment, provision, start_moto

    moto, endpoint = start_moto()
    try:
        configure_environment(endpoint, STAGE, provision(endpoint, STAGE), bank_url="http://127.0.0.1:9")
        with contextlib.redirect_stdout(io.StringIO()):
            import app as app_module
            from chalicelib.bootstrap import context

            ctx = context()
            imported, imports = import_bench(ctx)
            tax_map = publish_hcm(ctx, imports)
            intake = intake_bench(app_module.app, ctx.settings, tax_map, n)
    finally:
        moto.stop()
    return {"import": imported, "intake": {**intake, "map_entries": len(tax_map), "province": HCM}}


def run_and_say(say, n: int) -> dict:
    """bench.run's section: run, and print the headline numbers."""
    say("onboarding: a 3,321-commune tax list imported and matched; tax-coded vs standard-coded intake ...")
    o = run(n)
    say(f"  import {o['import']['whole_list_seconds']} s, {o['import']['share_matched_automatically']:.1%} matched "
        f"automatically; intake tax p50 {o['intake']['tax']['p50_ms']} ms vs gso {o['intake']['gso']['p50_ms']} ms, "
        f"ratio {o['intake']['ratio_p50']}")
    return o


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100, help="measured intakes of each kind (default 100)")
    args = ap.parse_args(argv)
    print(json.dumps(run(args.n), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
