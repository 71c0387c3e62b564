"""The self-test job: the SQS consumer of the self-test queue (one run per message, batch size 1). A message whose
run is not queued any more is done (at-least-once delivery); an unreadable one is dropped with an error log."""
from __future__ import annotations

import json
from typing import Any


def handle_batch(event: dict[str, Any], context: Any = None, ctx=None) -> dict:
    from chalicelib.aws.observability import install_logging, logger

    install_logging()
    if ctx is None:
        from chalicelib.bootstrap import context as wired

        ctx = wired()
    from chalicelib.selftest.services.execute import run_selftest

    failures = []
    for record in event.get("Records", []):
        try:
            body = json.loads(record["body"])
            run_id = str(body["run_id"])
        except (ValueError, KeyError, TypeError):
            logger().error("unreadable self-test message")
            continue
        try:
            outcome = run_selftest(ctx, run_id)
            logger().info("self-test run", extra={"run_id": run_id, "outcome": outcome})
        except Exception:  # noqa: BLE001 - the message comes back after its visibility timeout
            logger().exception("self-test run failed", extra={"run_id": run_id})
            failures.append({"itemIdentifier": record["messageId"]})
    if ctx.metrics is not None:
        ctx.metrics.flush()
    return {"batchItemFailures": failures}
