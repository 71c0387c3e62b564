"""Scheduled job: re-enqueue deliveries that should have been sent but never were (see services.recovery.sweep)."""
from __future__ import annotations


def run_sweep() -> dict:
    from chalicelib.aws.observability import install_logging, logger

    install_logging()  # before anything logs (building the context, the use case)
    from chalicelib.bootstrap import context
    from chalicelib.provinces.services.recovery import sweep

    psvc = context()
    result = sweep(psvc)
    logger().info("delivery sweep done", extra=result)
    if psvc.metrics is not None:
        psvc.metrics.flush()
    return result
