"""Reminders (issue 12 part 3): the scheduled send of due reminders, and opt-out / opt-in by SMS keyword.

Where they live and why: a capability of their own, below payments (payments writes a notice's reminders in its
intake transaction and deletes them in its paying transaction, through ``reminders.adapters``), because they are
about a phone and a date, not about money: the send job reads only its own items, and the opt-out list is shared
with every optional SMS (the outbox checks it when it sends one).
"""
from __future__ import annotations

import logging
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.core.clock import epoch
from chalicelib.core.fields import MobilePhone
from chalicelib.core.masking import mask_phone
from chalicelib.core.parsing import parse
from chalicelib.outbox import domain as outbox
from chalicelib.reminders.domain import reminder_text
from chalicelib.reminders.ports import RemindersContext

log = logging.getLogger(__name__)
OPT_OUT_WORDS = frozenset({"TC", "TUCHOI", "HUY", "STOP"})
OPT_IN_WORDS = frozenset({"DK", "DANGKY", "START"})


def send_due_reminders(svc: RemindersContext, limit: int = 200) -> dict:
    """Every reminder whose time has come: its SMS intent and its mark in one write, at most once each. In the quiet
    hours nothing goes out: the reminder waits for their end. A reminder for a day already past is dropped."""
    now = svc.clock.now()
    policy = svc.settings.reminders
    due = svc.reminders.due(epoch(now), limit)
    sent = postponed = dropped = 0
    for item in due:
        nxt = item.next_due()
        if nxt is None:
            continue
        if policy.quiet(now):
            postponed += svc.reminders.postpone(item, int(policy.next_allowed(now).timestamp()))
            continue
        days = nxt[0]
        if now.date() > date.fromisoformat(item.due_date):
            dropped += svc.reminders.record_sent(item, days, now.isoformat(), [])
            continue
        text = reminder_text(item.notice_number, item.due_date, days)
        intent = outbox.sms(item.phone, text, ref=f"{item.dossier_code}:{item.notice_number}", optional=True)
        sent += svc.reminders.record_sent(item, days, now.isoformat(), [intent])
    if due:
        log.info("reminders run", extra={"due": len(due), "sent": sent, "postponed": postponed, "dropped": dropped})
        svc.count("RemindersSent", sent)
    return {"due": len(due), "sent": sent, "postponed": postponed, "dropped": dropped}


class InboundSmsIn(BaseModel):
    """A message a citizen sent to the portal's SMS number, as the SMS gateway forwards it (signed webhook)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    phone: MobilePhone = Field(description="The sender.")
    text: str = Field(min_length=1, max_length=500, description='"TC" (từ chối) stops reminders, "DK" resumes.')
    received_at: str | None = Field(default=None, max_length=40)


def inbound_sms(svc: RemindersContext, body: dict) -> dict:
    """Opt-out (TC / HUY / STOP) or opt-in (DK / START) of the sender's phone, honoured at once: the outbox reads
    the list when it sends each optional SMS, including reminders already waiting."""
    msg = parse(InboundSmsIn, body)
    word = "".join(msg.text.upper().split())[:20]
    now = svc.clock.now().isoformat()
    if word in OPT_OUT_WORDS:
        svc.opt_outs.set_opt_out(msg.phone, True, now, "sms")
        log.info("sms opt-out", extra={"phone": mask_phone(msg.phone)})
        return {"action": "opted_out"}
    if word in OPT_IN_WORDS:
        svc.opt_outs.set_opt_out(msg.phone, False, now, "sms")
        return {"action": "opted_in"}
    return {"action": "ignored"}
