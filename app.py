"""Chalice entry points: routes (one blueprint per capability and audience), the SQS consumer and schedules.

Thin on purpose: each route is declared beside its handler (chalicelib/*/routes*), each handler parses, calls a use
case and renders. Heavy imports happen inside handlers, on first use.
"""
from chalice import Rate

from chalicelib import bootstrap
from chalicelib.accounts.routes import admin, auth, officers, otp
from chalicelib.accounts.routes import citizens as account_citizens
from chalicelib.api import docs
from chalicelib.api.http import thread_safe_app
from chalicelib.config import get_settings
from chalicelib.onboarding.routes import progress as onboarding_progress
from chalicelib.onboarding.routes import requests as support_requests
from chalicelib.payments.routes import citizens, partners
from chalicelib.provinces import routes as provinces
from chalicelib.receipts import routes as receipts
from chalicelib.reconciliation.routes import refunds

bootstrap.install()  # the routes and jobs get their service context from the one composition root

app = thread_safe_app("lfo-land-payments")
app.api.binary_types.append("application/pdf")
for blueprint in (docs, partners, citizens, receipts, provinces, auth, otp, admin, officers, account_citizens,
                  support_requests, onboarding_progress, refunds):
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


@app.schedule(Rate(5, unit=Rate.MINUTES))
def sweep_outbox(event):
    from chalicelib.jobs.outbox import run_sweep

    return run_sweep()


@app.schedule(Rate(5, unit=Rate.MINUTES))
def sweep_deliveries(event):
    from chalicelib.jobs.sweeper import run_sweep

    return run_sweep()


@app.schedule(Rate(5, unit=Rate.MINUTES))
def support_clock(event):
    from chalicelib.jobs.support_clock import run_clock

    return run_clock()


@app.schedule(Rate(5, unit=Rate.MINUTES))
def resolve_stale_payments(event):
    from chalicelib.jobs.stale import run

    return run()
