"""M6/M14 recovery: the scheduled sweeper (deliveries that were never sent) and the operator's re-drive of a
province's dead letters once it is back. Both are idempotent: sending a delivery twice is harmless, the province
de-duplicates on message_id."""
from __future__ import annotations

import logging
from datetime import timedelta

from chalicelib.outbox import domain as outbox
from chalicelib.provinces.ports import Actor, ProvincesContext
from chalicelib.provinces.services.registry import _code

log = logging.getLogger(__name__)


def sweep(psvc: ProvincesContext) -> dict:
    """Re-enqueue PENDING deliveries older than the grace period (e.g. a crash between the receipt transaction and
    the queue send). Each is then marked swept, so the next run leaves it alone for another grace period."""
    now = psvc.clock.now()
    stale = psvc.deliveries.stale_pending((now - timedelta(seconds=psvc.settings.delivery.sweep_grace_s)).isoformat())
    if stale:
        psvc.queue.send(stale)
        for delivery in stale:
            psvc.deliveries.mark_swept(delivery, now.isoformat())
        log.warning("sweeper re-enqueued deliveries", extra={"count": len(stale)})
        psvc.count("DeliveriesSwept", len(stale))
    return {"requeued": len(stale)}


def redrive(psvc: ProvincesContext, actor: Actor, agency_raw: str) -> dict:
    """Every DEAD delivery of the province goes back to the forwarding queue with a fresh retry window; its old
    dead-letter messages are removed. The ledger, not the dead-letter queue, says what is dead, so a message the
    DLQ lost (14-day retention) is re-driven too. Each delivery's reset and the intent that queues it again commit
    together: the internet-facing function never sends to the queue itself, and a crash half-way loses nothing."""
    from chalicelib.core.errors import forbidden

    agency = _code(agency_raw)
    if not actor.operator:
        raise forbidden("ROLE_FORBIDDEN", "Chỉ quản trị vận hành Cổng được gửi lại biên lai lỗi.")
    now = psvc.clock.now().isoformat()
    moved = [d for d in psvc.deliveries.dead(agency)
             if psvc.deliveries.reset_to_pending(d, now, [outbox.forward_delivery(d.to_message())])]
    removed = psvc.queue.drain_dead_letters(agency)
    psvc.registry.audit(agency, {"action": "redrive", "by": actor.subject, "at": now, "redriven": len(moved),
                                 "dead_letters_removed": removed})
    psvc.count("DeliveriesRedriven", len(moved))
    return {"agency_code": agency, "redriven": len(moved), "dead_letters_removed": removed}
