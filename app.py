"""Chalice entry points: routes (one blueprint per capability and audience), the SQS consumer and schedules.

Thin on purpose: each route is declared beside its handler (chalicelib/*/routes*), each handler parses, calls a use
case and renders. Heavy imports happen inside handlers, on first use.
"""
from chalice import Cron, Rate

from chalicelib import bootstrap
from chalicelib.accounts.routes import admin, auth, officers, otp
from chalicelib.accounts.routes import citizens as account_citizens
from chalicelib.api import docs
from chalicelib.api.http import thread_safe_app
from chalicelib.communes import routes as commune_maps
from chalicelib.config import get_settings
from chalicelib.onboarding.routes import progress as onboarding_progress
from chalicelib.onboarding.routes import requests as support_requests
from chalicelib.payments.routes import citizens, partners
from chalicelib.provinces import routes as provinces
from chalicelib.receipts import routes as receipts
from chalicelib.reconciliation.routes import refunds
from chalicelib.reconciliation.routes import runs as reconciliation_runs
from chalicelib.reminders import routes as reminders
from chalicelib.reports import routes as reports
from chalicelib.selftest import routes as selftests
from chalicelib.taxes import routes as taxes

bootstrap.install()  # the routes and jobs get their service context from the one composition root

app = thread_safe_app("lfo-land-payments")
app.api.binary_types.extend(["application/pdf", "text/csv",
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"])
for blueprint in (docs, partners, citizens, receipts, provinces, auth, otp, admin, officers, account_citizens,
                  commune_maps, support_requests, onboarding_progress, refunds, reconciliation_runs, reports,
                  selftests, taxes, reminders):
    app.register_blueprint(blueprint.bp)

_STAGE = get_settings().stage


@app.on_sqs_message(queue=f"lfo-{_STAGE}-forwarding", batch_size=10)
def forward_receipts(event):
    from chalicelib.jobs.forwarding import handle_batch

    return handle_batch(event.to_dict(), event.context)


# The stream ARN is a placeholder here: infra/package.py points the event source at the ledger table's stream.
# TRIM_HORIZON: intents written before the mapping existed (first deployment, a re-created mapping) are sent too.
@app.on_dynamodb_record(stream_arn=f"arn:aws:dynamodb:ap-southeast-1:000000000000:table/lfo-{_STAGE}-ledger/stream/"
                        "LATEST", batch_size=100, starting_position="TRIM_HORIZON")
def dispatch_outbox(event):
    from chalicelib.jobs.outbox import handle_stream

    return handle_stream(event.to_dict(), event.context)


@app.on_sqs_message(queue=f"lfo-{_STAGE}-selftests", batch_size=1)
def run_selftests(event):
    from chalicelib.jobs.selftests import handle_batch

    return handle_batch(event.to_dict(), event.context)


@app.schedule(Rate(5, unit=Rate.MINUTES))
def sweep_outbox(event):
    from chalicelib.jobs.outbox import run_sweep

    return run_sweep()


@app.schedule(Rate(5, unit=Rate.MINUTES))
def sweep_deliveries(event):
    from chalicelib.jobs.sweeper import run_sweep

    return run_sweep()


@app.schedule(Rate(15, unit=Rate.MINUTES))
def send_reminders(event):
    from chalicelib.jobs.schedules import run_reminders

    return run_reminders()


# 22:30 in Vietnam (UTC+7) = 15:30 UTC: today's receipt tables go to the tax authority on the day of issue.
@app.schedule(Cron(30, 15, "*", "*", "?", "*"))
def report_receipts_daily(event):
    from chalicelib.jobs.schedules import run_receipt_reports

    return run_receipt_reports()


@app.schedule(Rate(30, unit=Rate.MINUTES))
def report_receipts_catch_up(event):
    from chalicelib.jobs.schedules import run_receipt_reports

    return run_receipt_reports()
@app.schedule(Rate(5, unit=Rate.MINUTES))
def support_clock(event):
    from chalicelib.jobs.support_clock import run_clock

    return run_clock()


@app.schedule(Rate(5, unit=Rate.MINUTES))
def resolve_stale_payments(event):
    from chalicelib.jobs.stale import run

    return run()


# A bank's settlement file landing under settlements/ (the bucket sends its events to EventBridge: Chalice cannot
# package @app.on_s3_event, and a bucket notification straight to a function of the same template is a dependency
# cycle). infra/package.py narrows the bucket to the template's documents bucket.
@app.on_cw_event({"source": ["aws.s3"], "detail-type": ["Object Created"],
                  "detail": {"bucket": {"name": [{"prefix": f"lfo-{_STAGE}-documents-"}]},
                             "object": {"key": [{"prefix": "settlements/"}]}}})
def reconcile_settlement(event):
    from chalicelib.jobs.reconcile import handle_event

    return handle_event(event.to_dict(), event.context)


@app.schedule(Cron(0, 3, "*", "*", "?", "*"))  # 10:00 Vietnam time (UTC+7): files for D are due by D+1 09:00
def check_settlements_late(event):
    from chalicelib.jobs.reconcile import run_late_check

    return run_late_check()
