"""Scheduled job: the 8-working-hour clock's alerts to the operators' topic (75 % and breach, each once per request;
see onboarding/services/clock.py)."""
from __future__ import annotations

from datetime import datetime


def run_clock(now: datetime | None = None) -> dict:
    """``now``: the moment to read the clocks at (tests and the local stack move it; Lambda passes nothing)."""
    from chalicelib.aws.observability import install_logging, logger

    install_logging()  # before anything logs (building the context, the use case)
    from chalicelib.bootstrap import context
    from chalicelib.onboarding.services.clock import run_clock_alerts

    ctx = context()
    result = run_clock_alerts(ctx, now)
    if result["due"]:
        logger().info("support clock run", extra=result)
    if ctx.metrics is not None:
        ctx.metrics.flush()
    return result
