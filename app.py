"""Chalice entry points: routes (per audience, as blueprints), the SQS consumer and schedules.

Thin on purpose: parse -> call a service -> render. Heavy imports happen inside handlers, on first use.
"""
from chalice import Rate

from chalicelib import bootstrap
from chalicelib.accounts import routes as accounts
from chalicelib.api import docs
from chalicelib.api.http import endpoint, json_response, thread_safe_app
from chalicelib.config import get_settings
from chalicelib.payments.routes import citizens, partners
from chalicelib.provinces import routes as provinces

bootstrap.install()  # the routes and jobs get their service context from the one composition root

app = thread_safe_app("lfo-land-payments")
app.api.binary_types.append("application/pdf")
app.register_blueprint(partners.bp)
app.register_blueprint(citizens.bp)
app.register_blueprint(docs.bp)
app.register_blueprint(provinces.bp)
app.register_blueprint(accounts.bp)

_STAGE = get_settings().stage


@app.route("/v1/health", methods=["GET"])
@endpoint(app)
def health():
    return json_response({"status": "ok", "stage": _STAGE})


@app.on_sqs_message(queue=f"lfo-{_STAGE}-forwarding", batch_size=10)
def forward_receipts(event):
    from chalicelib.jobs.forwarding import handle_batch

    return handle_batch(event.to_dict(), event.context)


@app.schedule(Rate(5, unit=Rate.MINUTES))
def sweep_deliveries(event):
    from chalicelib.jobs.sweeper import run_sweep

    return run_sweep()
