"""Scheduled job: re-enqueue deliveries that should have been sent but never were (see services.recovery.sweep)."""
from __future__ import annotations


def run_sweep() -> dict:
    from chalicelib.aws.observability import logger
    from chalicelib.bootstrap import context
    from chalicelib.provinces.services.recovery import sweep

    psvc = context()
    result = sweep(psvc)
    logger().info("delivery sweep done", extra=result)
    if psvc.metrics is not None:
        psvc.metrics.flush()
    return result
