"""The outbox's two entry points: the DynamoDB Streams consumer of the ledger table (each committed intent is sent
within seconds) and the scheduled sweep (intents whose send failed, after their delay).

A record whose intent cannot be read (not ours, or not an intent) is skipped; a failing send never fails the batch
(the intent waits for the sweeper), so one bad SMS never holds up the stream; a failure to reach the store itself
(DynamoDB) is reported as a batch item failure and the stream retries from that record.
"""
from __future__ import annotations

from typing import Any

SEND_WORKERS = 8  # intents are independent network calls: a batch is sent in parallel, as a shard's batch allows


def handle_stream(event: dict[str, Any], context: Any = None, ctx=None) -> dict:
    from chalicelib.aws.observability import install_logging

    install_logging()  # before anything logs: this Lambda never goes through the HTTP shell
    if ctx is None:
        from chalicelib.bootstrap import context as wired

        ctx = wired()
    work = []  # (sequence number, intent)
    for record in event.get("Records", []):
        if record.get("eventName") != "INSERT":
            continue
        intent = ctx.outbox.from_image(record.get("dynamodb", {}).get("NewImage") or {})
        if intent is not None:
            work.append((record["dynamodb"].get("SequenceNumber", ""), intent))
    failed = _send_in_parallel(ctx, work)
    _flush(ctx)
    # Stream batches are ordered: the stream retries from the first record the store could not take.
    return {"batchItemFailures": [{"itemIdentifier": failed[0]}] if failed else []}


def _send_in_parallel(ctx, work: list) -> list[str]:
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.outbox.services import send

    def one(item) -> str | None:
        sequence, intent = item
        try:
            send(ctx, intent)  # a failing channel leaves the intent to the sweeper: not a batch failure
            return None
        except Exception:  # noqa: BLE001 - the store itself failed: the stream retries from this record
            from chalicelib.aws.observability import logger

            logger().exception("outbox record not processed")
            return sequence

    if not work:
        return []
    with ThreadPoolExecutor(max_workers=min(SEND_WORKERS, len(work))) as pool:
        results = list(pool.map(one, work))
    return [s for s in results if s is not None]


def run_sweep(ctx=None) -> dict:
    from chalicelib.aws.observability import install_logging

    install_logging()  # before anything logs
    from chalicelib.outbox.services import sweep

    if ctx is None:
        from chalicelib.bootstrap import context as wired

        ctx = wired()
    result = sweep(ctx)
    _flush(ctx)
    return result


def _flush(ctx) -> None:
    if ctx.metrics is not None:
        ctx.metrics.flush()
