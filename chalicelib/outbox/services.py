"""Send intents: each stream record once its write committed (the fast path), and the sweeper's due list (the
retry path). A send that fails never blocks the stream: the intent goes back to PENDING with a delay, and after the
last attempt it is DEAD and the operators are told."""
from __future__ import annotations

import logging
from typing import Callable, Iterable

from chalicelib.core.clock import epoch
from chalicelib.outbox.domain import MAX_ATTEMPTS, Intent
from chalicelib.outbox.ports import OutboxContext

log = logging.getLogger(__name__)


def deliver(ctx: OutboxContext, intent: Intent) -> None:
    """Hand one intent to its channel (raises when the channel fails)."""
    _CHANNELS[intent.kind](ctx, intent.payload)


_CHANNELS: dict[str, Callable[[OutboxContext, dict], object]] = {
    "sms": lambda ctx, p: ctx.sms.send_sms(p["phone"], p["text"]),
    "forward_receipt": lambda ctx, p: ctx.forwarding.enqueue_receipt_doc(p["receipt"]),
    "forward_notices": lambda ctx, p: ctx.forwarding.enqueue_notices(p["province"], p["notices"]),
    "forward_delivery": lambda ctx, p: ctx.forwarding.enqueue_message(p["message"]),
    "ops_alert": lambda ctx, p: ctx.alerts.ops(p["kind"], p["subject"], p["details"]),
    "email": lambda ctx, p: ctx.alerts.email(p["recipients"], p["subject"], p["text"], p["province"]),
    "subscribe_email": lambda ctx, p: ctx.alerts.subscribe_email(p["email"]),
    "store_credentials": lambda ctx, p: ctx.credentials.store_versioned(p["agency_code"], p["api_type"],
                                                                         p["credentials"], p["version"]),
    "province_credentials": lambda ctx, p: ctx.credentials.put_sealed(p["agency_code"], p["api_type"], p["sealed"],
                                                                       p.get("version", 0)),
}


def send(ctx: OutboxContext, intent: Intent) -> bool:
    """Claim, deliver, record the outcome. True if this call sent it."""
    now = ctx.clock.now()
    if not ctx.outbox.claim(intent, epoch(now)):
        return False  # sent already, or another sender holds it
    try:
        deliver(ctx, intent)
    except Exception as exc:  # noqa: BLE001 - any channel failure: retried by the sweeper
        attempts = intent.attempts + 1
        dead = attempts >= MAX_ATTEMPTS
        ctx.outbox.failed(intent, f"{type(exc).__name__}"[:100], epoch(now), dead)
        log.warning("intent not sent", extra={"intent_kind": intent.kind, "attempts": attempts, "dead": dead})
        ctx.count("IntentsFailed")
        if dead:
            _tell_operators(ctx, intent)
        return False
    ctx.outbox.sent(intent, now.isoformat())
    ctx.count("IntentsSent")
    return True


def send_all(ctx: OutboxContext, intents: Iterable[Intent]) -> int:
    return sum(1 for intent in intents if send(ctx, intent))


def sweep(ctx: OutboxContext, limit: int = 200) -> dict:
    """The retry path (scheduled): every PENDING intent whose delay has passed."""
    due = ctx.outbox.due(epoch(ctx.clock.now()), limit)
    sent = send_all(ctx, due)
    if due:
        log.info("outbox swept", extra={"due": len(due), "sent": sent})
    return {"due": len(due), "sent": sent}


def _tell_operators(ctx: OutboxContext, intent: Intent) -> None:
    try:
        ctx.alerts.ops("INTENT_DEAD", "Không gửi được thông báo sau nhiều lần thử",
                       {"intent_id": intent.intent_id, "kind": intent.kind})
    except Exception:
        log.exception("dead intent alert not published")
