"""Scheduled job (every 5 minutes): resolve stale payments by asking their banks, then send again the approved
refunds the bank has not answered (reconciliation.services.stale / .refunds)."""
from __future__ import annotations


def run(ctx=None) -> dict:
    from chalicelib.aws.observability import install_logging, logger

    install_logging()  # before anything logs (building the context, the use cases)
    from chalicelib.reconciliation.services.refunds import send_due_refunds
    from chalicelib.reconciliation.services.stale import resolve_stale_payments

    if ctx is None:
        from chalicelib.bootstrap import context

        ctx = context()
    result = resolve_stale_payments(ctx)
    result.update(send_due_refunds(ctx))
    logger().info("stale payments run done", extra=result)
    if ctx.metrics is not None:
        ctx.metrics.flush()
    return result
