"""Forwarding benchmark (M6): deliver N receipts to the simulated province through the local queue consumer, next to
raw HTTP POSTs of the same payloads to the same province in the same run.

    python -m bench.forwarding [--n 2000]

One consumer (one Lambda instance): receive 10 from SQS -> the very handler Lambda invokes (``app.forward_receipts``)
-> delete the delivered ones, as Lambda's event source mapping does. Counted: the AWS calls the handler makes, per
service and API (the event source's own receive/delete are reported apart), the session tokens the province issued,
and the time spent rendering receipt PDFs (the receipt-file API carries the PDF). The raw side POSTs the same
payloads (PDF already rendered) with one pre-fetched token on one keep-alive connection.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STAGE = "dev"  # a local stage: the simulated province is plain http on loopback
PROVINCE_SHORT = "H35"
PROVINCE = "000.00.00.H35"


def _receipt(i: int, now_iso: str) -> dict:
    from chalicelib.core.clock import new_ulid

    ulid = new_ulid()
    return {
        "receipt_id": f"RCP{PROVINCE_SHORT}{ulid}", "receipt_number": f"{i + 1:07d}", "sequence": i + 1,
        "template_symbol": "01BLP0-001", "series": "BI-26T", "collecting_unit_code": PROVINCE,
        "collecting_unit_name": "Thuế tỉnh Ninh Bình", "payer_name": "Nguyễn Thị Trang",
        "dossier_code": f"000.00.43.H35-260520-{i % 10000:04d}", "notice_number": f"TB-260520-{i:06d}",
        "items": [{"sub_item_code": "2801", "description": "Lệ phí trước bạ nhà đất", "amount_vnd": 1_378_500}],
        "amount_vnd": 1_378_500, "amount_in_words": "Một triệu ba trăm bảy mươi tám nghìn năm trăm đồng",
        "currency": "VND", "bank_code": "BIDV", "bank_name": "BIDV", "bank_txn_ref": f"FT26140{i:06d}",
        "paid_at": "2026-05-20T10:01:02+07:00", "issued_at": now_iso, "payment_id": f"PAY{PROVINCE_SHORT}{ulid}",
        "delivery_state": "PENDING",
    }


class _Counter:
    """botocore hooks on the app's clients: one count per API call, and the time spent in them."""

    def __init__(self) -> None:
        self.calls: Counter = Counter()
        self.seconds = 0.0
        self.paused = False
        self._started = 0.0

    def on_call(self, model, **_: Any) -> None:
        if not self.paused:
            self.calls[f"{model.service_model.endpoint_prefix}.{model.name}"] += 1
            self._started = time.perf_counter()

    def on_done(self, **_: Any) -> None:
        if not self.paused and self._started:
            self.seconds += time.perf_counter() - self._started
            self._started = 0.0

    def attach(self, client) -> None:
        client.meta.events.register("provide-client-params", lambda params, model, **k: self.on_call(model),
                                    unique_id=f"fwd-bench-{id(self)}")
        client.meta.events.register("after-call", self.on_done, unique_id=f"fwd-bench-done-{id(self)}")


def run(n: int = 2000) -> dict:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from chalicelib.local import stack as local_stack

    stack = local_stack.start(stage=STAGE, poll_queue=False, delivery_backoff_scale=0.0)
    try:
        return _measure(stack, n)
    finally:
        stack.stop()


def _measure(stack, n: int) -> dict:
    import urllib3

    import app as app_module
    from bench.lambda_proxy import LambdaContext
    from chalicelib.aws.clients import client
    from chalicelib.aws.tables import models
    from chalicelib.bootstrap import context as province_services
    from chalicelib.config import get_settings
    from chalicelib.core.clock import SystemClock
    from chalicelib.local.devkeys import LOCAL_PROVINCE_PASSWORD, LOCAL_PROVINCE_USERNAME
    from chalicelib.local.stack import REGION
    from chalicelib.provinces.domain.delivery import payment_result_payload, receipt_delivery, receipt_file_payload

    settings, psvc = get_settings(), province_services()
    sqs = client("sqs", REGION)
    ledger_model = models(settings)[1]
    counter = _Counter()
    for c in (sqs, client("secretsmanager", REGION), client("sns", REGION), ledger_model._get_connection().connection.client):
        counter.attach(c)

    # -- set up: N paid receipts (ledger items PENDING, as the bank-result transaction writes them) and their messages
    counter.paused = True
    now = SystemClock().now().isoformat()
    receipts = [_receipt(i, now) for i in range(n)]
    with ledger_model.batch_write() as batch:
        for r in receipts:
            batch.save(ledger_model(f"RCPT#{r['receipt_id']}", "RECEIPT", kind="receipt", doc=json.dumps(r),
                                    state="PENDING", gsi1pk="DELIVERY#PENDING", gsi1sk=f"{PROVINCE}#{now}"))
    psvc.queue.send(receipt_delivery(r) for r in receipts)
    queue_url = settings.forwarding_queue_url
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    before = stack.province.received(PROVINCE_SHORT)
    render_ms: list[float] = []
    render = psvc.render_pdf

    def timed_render(doc):
        t = time.perf_counter()
        out = render(doc)
        render_ms.append((time.perf_counter() - t) * 1000)
        return out

    psvc.render_pdf = timed_render
    counter.paused = False

    # -- the consumer: one Lambda instance fed by the event source mapping ------------------------------------------
    handler_calls: Counter = Counter()
    event_source_calls = Counter()
    delivered = batches = 0
    event_source_s = 0.0
    t0 = time.perf_counter()
    while delivered < n:
        counter.paused = True
        t_es = time.perf_counter()
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                  AttributeNames=["All"]).get("Messages", [])
        event_source_calls["sqs.ReceiveMessage"] += 1
        event_source_s += time.perf_counter() - t_es
        counter.paused = False
        if not got:
            if time.perf_counter() - t0 > 600:
                raise RuntimeError(f"only {delivered}/{n} delivered after 600 s")
            continue
        event = {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                              "attributes": m.get("Attributes", {}), "messageAttributes": {}, "eventSource": "aws:sqs",
                              "eventSourceARN": arn, "awsRegion": REGION} for m in got]}
        counter.calls.clear()
        result = app_module.forward_receipts(event, LambdaContext(60_000))
        handler_calls.update(counter.calls)
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
                if m["MessageId"] not in failed]
        counter.paused = True
        t_es = time.perf_counter()
        if done:
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=done)
            event_source_calls["sqs.DeleteMessageBatch"] += 1
        event_source_s += time.perf_counter() - t_es
        counter.paused = False
        delivered += len(done)
        batches += 1
    consumer_s = time.perf_counter() - t0
    after = stack.province.received(PROVINCE_SHORT)
    psvc.render_pdf = render

    # -- raw: the same payloads, POSTed straight to the same province, one token, one keep-alive connection ---------
    payloads = []
    for r in receipts:
        payloads.append(("payment_result", payment_result_payload(r, PROVINCE)))
        payloads.append(("receipt_file", receipt_file_payload(r, PROVINCE, render(r))))
    pool = urllib3.PoolManager(maxsize=1)
    base = f"{stack.province_url}/p/{PROVINCE_SHORT}"
    token = json.loads(pool.request("POST", f"{base}/session", body=json.dumps(
        {"username": LOCAL_PROVINCE_USERNAME, "password": LOCAL_PROVINCE_PASSWORD}),
        headers={"Content-Type": "application/json"}).data)["token"]
    bodies = [(f"{base}/{t}", json.dumps(p, ensure_ascii=False).encode()) for t, p in payloads]
    t1 = time.perf_counter()
    for url, body in bodies:
        r = pool.request("POST", url, body=body, headers={"Content-Type": "application/json; charset=utf-8",
                                                          "Authorization": f"Bearer {token}"})
        if r.status != 200:
            raise RuntimeError(f"raw POST answered {r.status}")
    raw_s = time.perf_counter() - t1

    unique_new = after["unique"] - before["unique"]
    by_service: Counter = Counter()
    for api, count in handler_calls.items():
        by_service[api.split(".")[0]] += count
    per_receipt = {s: round(by_service.get(s, 0) / n, 4) for s in ("dynamodb", "sqs", "sns", "secretsmanager")}
    writes = sum(v for k, v in handler_calls.items()
                 if k.split(".")[1] in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"))
    result = {
        "n": n,
        "receipts_per_s": round(n / consumer_s, 1),
        "consumer_s": round(consumer_s, 2),
        # Without Lambda's own receive/delete (moto's SQS slows down as the queue grows): the handler alone.
        "handler_receipts_per_s": round(n / (consumer_s - event_source_s), 1),
        "raw_receipts_per_s": round(n / raw_s, 1),
        "raw_s": round(raw_s, 2),
        "ratio": round(consumer_s / raw_s, 2),
        "aws_calls_per_receipt": per_receipt,
        "dynamodb_writes_per_receipt": round(writes / n, 4),
        "aws_calls_by_api": {k: v for k, v in sorted(handler_calls.items())},
        "event_source_calls": dict(event_source_calls),
        "session_tokens_fetched": after["session_calls"] - before["session_calls"],
        "province_unique_messages": unique_new,
        "province_data_calls": after["data_calls"] - before["data_calls"],
        "batches": batches,
        "time_split_s": {"event_source_receive_delete": round(event_source_s, 2),
                         "handler_aws_calls": round(counter.seconds, 2),
                         "pdf_render": round(sum(render_ms) / 1000, 2),
                         "rest_of_handler_incl_province_http": round(
                             consumer_s - event_source_s - counter.seconds - sum(render_ms) / 1000, 2)},
        "pdf_render_ms_p50": round(statistics.median(render_ms), 2) if render_ms else None,
        "pdf_render_share": round(sum(render_ms) / 1000 / consumer_s, 3) if render_ms else None,
        "targets": {"dynamodb_writes_per_receipt_max": 1, "session_tokens_max": 2},
    }
    result["met"] = {
        "dynamodb_writes": writes <= n,
        "session_tokens": result["session_tokens_fetched"] <= 2,
        "all_delivered_once": unique_new == 2 * n,
    }
    return result


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args(argv)
    print(json.dumps(run(args.n), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
