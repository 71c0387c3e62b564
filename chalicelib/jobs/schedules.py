"""Scheduled jobs of issue 12: SMS reminders of unpaid notices, and the daily receipt tables to the tax authority.

Thin: build the context, run the use case, flush the metrics. The schedules (app.py): reminders every 15 minutes
(quiet hours are the use case's rule, not the schedule's); receipt reports at 22:30 Vietnam time (today's tables,
on the day of issue) and every 30 minutes (catch-up of days still open, and retries with backoff).
"""
from __future__ import annotations


def _run(use_case_path: str, ctx=None) -> dict:
    from importlib import import_module

    from chalicelib.aws.observability import install_logging

    install_logging()  # before anything logs: these Lambdas never go through the HTTP shell
    module, name = use_case_path.rsplit(".", 1)
    if ctx is None:
        from chalicelib.bootstrap import context

        ctx = context()
    result = getattr(import_module(module), name)(ctx)
    if ctx.metrics is not None:
        ctx.metrics.flush()
    return result


def run_reminders(ctx=None) -> dict:
    return _run("chalicelib.reminders.services.send_due_reminders", ctx)


def run_receipt_reports(ctx=None) -> dict:
    return _run("chalicelib.receipts.services.reports.send_due_reports", ctx)
