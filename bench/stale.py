"""Stale-payment benchmark (M14 §6): one scheduled run of ``resolve_stale_payments`` over N stale payments.

    python -m bench.stale [--n 600]        (BENCH_STALE_N sets the default; the issue's figure is 10000)

Against moto over HTTP and the simulated bank (its status APIs over HTTP, signed both ways): N payments past their
expiry in the ledger's live index, each with its dossier and notice, spread over the five banks; the bank's books say
PAID for 50 %, FAILED for 25 %, and nothing at all (NOT_FOUND) for the rest. The job's handler runs until nothing is
due (``STALE_BATCH_MAX`` = N, so one run normally). Counted with botocore hooks on the app's clients: AWS calls per
payment, by API; and the bank API calls, wall time, payments per second. Seeding is not counted. moto's transaction
rollback is made item-level for the run (bench/moto_fast.py): its whole-table copies would make time grow with the
table, which DynamoDB's does not.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STAGE = "stalebench"  # its own tables: moto keeps every server's state in the process (bench/run.py's "bench")
# 600 by default keeps the run under a minute on moto (about 60 ms per payment: moto serialises DynamoDB calls);
# the figure is BENCH_STALE_N=10000.
DEFAULT_N = int(os.environ.get("BENCH_STALE_N", "600"))
BANKS = ("VCB", "ICB", "BIDV", "VBA", "MB")
WRITE_APIS = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


class _Counter:
    def __init__(self) -> None:
        self.calls: Counter = Counter()
        self.paused = True

    def on_call(self, model, **_: Any) -> None:
        if not self.paused:
            self.calls[f"{model.service_model.endpoint_prefix}.{model.name}"] += 1

    def attach(self, client) -> None:
        client.meta.events.register("provide-client-params", lambda params, model, **k: self.on_call(model),
                                    unique_id=f"stale-bench-{id(self)}")


def run(n: int = DEFAULT_N, workers: int | None = None) -> dict:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ["STALE_BATCH_MAX"] = str(n)
    os.environ["STALE_RUN_BUDGET_S"] = "3600"  # measure the whole batch (a deployed run stops at its budget)
    if workers:
        os.environ["STALE_WORKERS"] = str(workers)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from bench import moto_fast
    from chalicelib.local.moto import free_port
    from chalicelib.local.stack import _start_bank, configure_environment, provision, start_moto

    moto_fast.install()  # moto copies whole tables per transaction; DynamoDB does not (see bench/moto_fast.py)
    moto, endpoint = start_moto()
    bank = None
    try:
        env = provision(endpoint, STAGE)
        bank_url = f"http://127.0.0.1:{free_port()}"
        configure_environment(endpoint, STAGE, env, bank_url)
        os.environ["BANK_API_URLS"] = json.dumps({code: bank_url if code == "MB" else f"{bank_url}/banks/{code}"
                                                  for code in BANKS})
        from chalicelib import bootstrap

        bootstrap.reset()
        bank = _start_bank("http://127.0.0.1:9", bank_url)  # callbacks never sent here: nothing listens on 9
        return _measure(bank, n)
    finally:
        if bank is not None:
            bank.stop()
        moto.stop()


def _seed(bank, n: int, now: datetime) -> Counter:
    """N stale payments (each with its dossier and notice) and the bank's books about them."""
    from chalicelib.aws.tables import models
    from chalicelib.bootstrap import context
    from chalicelib.core.clock import epoch, new_ulid
    from chalicelib.local.bank_sim import SUCCESS, BankTransaction
    from chalicelib.payments.adapters.dynamo import payment_item
    from chalicelib.payments.domain.payments import Payment, PaymentState

    ctx = context()
    dossier_model, ledger_model = models(ctx.settings)
    created, expires = now - timedelta(minutes=30), epoch(now) - 15 * 60
    planned: Counter = Counter()
    with dossier_model.batch_write() as dossiers, ledger_model.batch_write() as ledger:
        for i in range(n):
            code, number = f"000.00.{i % 100:02d}.H35-260520-B{i:06d}", f"TB-BENCH-{i:06d}"
            pid, amount, bank_code = f"PAYH35{new_ulid()}", 1_000_000 + i, BANKS[i % len(BANKS)]
            items = [{"sub_item_code": "2801", "description": "Lệ phí trước bạ nhà đất", "amount_vnd": amount}]
            notice = {"notice_number": number, "version": 1, "payer_name": "Nguyễn Thị Trang", "items": items,
                      "total_vnd": amount, "content_hash": "bench", "live_payment_id": pid,
                      "live_payment_expires_at": expires}
            dossiers.save(dossier_model(code, id_hash="bench", commune_code="13387",
                                        commune_code_system="gso", property={"address": "bench"},
                                        notices={number: notice}, rev=1, updated_at=created.isoformat()))
            payment = Payment(payment_id=pid, state=PaymentState.PENDING_BANK, dossier_code=code,
                              notice_number=number, notice_version=1, amount_vnd=amount, bank_code=bank_code,
                              collecting_unit="000.00.00.H35", payer_name="Nguyễn Thị Trang", items=items,
                              created_at=created.isoformat(), expires_at=expires)
            ledger.save(payment_item(ledger_model, payment, ctx.settings.live_index_shards))
            outcome = ("paid", "paid", "failed", "none")[i % 4]
            planned[outcome] += 1
            if outcome != "none":
                bank.record_transaction(BankTransaction(
                    bank_code, pid, amount, SUCCESS if outcome == "paid" else "FAILED",
                    f"FT26140{i:06d}" if outcome == "paid" else None, now - timedelta(minutes=20), created))
    return planned


def _measure(bank, n: int) -> dict:
    import app as app_module
    from bench.lambda_proxy import LambdaContext
    from chalicelib.aws.clients import client
    from chalicelib.aws.tables import models
    from chalicelib.bootstrap import context
    from chalicelib.core.clock import SystemClock
    from chalicelib.local.stack import REGION

    ctx = context()
    counter = _Counter()
    dossier_model, ledger_model = models(ctx.settings)
    for c in (client("secretsmanager", REGION), client("sns", REGION), client("sqs", REGION),
              ledger_model._get_connection().connection.client, dossier_model._get_connection().connection.client):
        counter.attach(c)
    t_seed = time.perf_counter()
    planned = _seed(bank, n, SystemClock().now())
    seed_s = time.perf_counter() - t_seed
    event = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "account": "000000000000",
             "time": "1970-01-01T00:00:00Z", "region": REGION, "resources": [], "detail": {}, "id": "bench"}
    queries_before = sum(bank.status_queries.values())
    outcomes: Counter = Counter()
    runs = 0
    counter.paused = False
    t0 = time.perf_counter()
    while runs < 5 and outcomes["paid"] + outcomes["expired"] < n:
        result = app_module.resolve_stale_payments(event, LambdaContext(900_000))
        runs += 1
        outcomes.update({k: v for k, v in result.items() if k not in ("looked_at", "refunds_sent")})
        if result["looked_at"] == 0:
            break
    elapsed = time.perf_counter() - t0
    counter.paused = True
    bank_calls = sum(bank.status_queries.values()) - queries_before
    by_api = dict(sorted(counter.calls.items()))
    total = sum(by_api.values())
    writes = sum(v for k, v in by_api.items() if k.split(".")[1] in WRITE_APIS)
    return {
        "payments": n,
        "runs": runs,
        "workers": ctx.settings.stale.workers,
        "outcomes": dict(sorted(outcomes.items())),
        "planned": dict(sorted(planned.items())),
        "total_s": round(elapsed, 2),
        "payments_per_s": round(n / elapsed, 1),
        "aws_calls_per_payment": round(total / n, 3),
        "aws_writes_per_payment": round(writes / n, 3),
        "aws_calls_per_payment_by_api": {k: round(v / n, 4) for k, v in by_api.items()},
        "bank_status_calls_per_payment": round(bank_calls / n, 3),
        "seed_s": round(seed_s, 1),
        "note": "moto over HTTP and the simulated bank on loopback, in one process with the job: absolute times "
                "are the stand-ins'; the counts are what AWS would see.",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=DEFAULT_N)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.n, args.workers), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
