"""The SMS gateway's inbound messages: a citizen answers a reminder with "TC" to stop them (or "DK" to resume)."""
from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict

from chalicelib.api.routing import WEBHOOK, Call, Ok, route
from chalicelib.reminders.services import InboundSmsIn

bp = Blueprint(__name__)


class InboundSmsResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["opted_out", "opted_in", "ignored"]


@route(bp, "POST", "/v1/partners/sms/inbound", tag="partners", access=WEBHOOK, request=InboundSmsIn,
       summary="An SMS a citizen sent to the portal's number (opt-out / opt-in of reminders)",
       description="Signed per Standard Webhooks with the SMS gateway's secret. `TC`, `HUY` or `STOP` stops "
       "reminders and other optional SMS to the sender's phone at once (messages already waiting included); `DK` "
       "or `START` resumes them. Anything else is ignored.",
       ok={200: Ok("What was done.", InboundSmsResult)})
def inbound_sms(call: Call):
    from chalicelib.aws.observability import logger
    from chalicelib.core.errors import invalid_signature
    from chalicelib.core.webhooks import SignatureError, verify_webhook
    from chalicelib.reminders.services import inbound_sms as handle

    try:
        verify_webhook(call.raw(), call.request.headers or {}, call.ctx.secrets.sms_gateway_secrets())
    except SignatureError as exc:
        logger().warning("sms gateway signature refused", extra={"reason": exc.reason})
        raise invalid_signature() from None
    return handle(call.ctx, call.body())
