"""Reminders of an unpaid tax notice by SMS, and the SMS after payment: pure rules.

- when: ``days_before`` its due date (7 and 1 by default, configuration), at ``send_at`` Vietnam time, never in
  the quiet hours (21:00-07:00: a reminder due then waits for 07:00); a reminder whose time has already passed
  when the notice arrives is not sent (the notice SMS has just gone out);
- how often: at most once per notice and reminder (the store marks it sent in the same write as its SMS intent);
  none once the notice is paid (paying deletes the notice's reminders in the paying transaction);
- what: Vietnamese text kept within one SMS segment where possible. Vietnamese needs UCS-2 (diacritics are not in
  the GSM 7-bit alphabet): 70 characters for one segment, 67 per segment beyond. ``core.sms.sms_segments`` says how
  many a text takes, and the texts are chosen, shortest detail last, to fit one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from chalicelib.core.clock import VN_TZ
from chalicelib.core.sms import sms_segments

PORTAL = "dichvucong.gov.vn"


@dataclass(frozen=True)
class ReminderPolicy:
    days_before: tuple[int, ...] = (7, 1)
    send_at: time = time(8, 0)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(7, 0)

    def quiet(self, moment: datetime) -> bool:
        t = moment.astimezone(VN_TZ).time()
        return t >= self.quiet_start or t < self.quiet_end

    def next_allowed(self, moment: datetime) -> datetime:
        """``moment`` itself, or the end of the quiet hours it falls in."""
        local = moment.astimezone(VN_TZ)
        if not self.quiet(local):
            return local
        day = local.date() if local.time() < self.quiet_end else local.date() + timedelta(days=1)
        return datetime.combine(day, self.quiet_end, VN_TZ)


@dataclass
class NoticeReminders:
    """A notice's reminders still to send: one store item per notice (paying deletes it, a new version replaces it)."""

    dossier_code: str
    notice_number: str
    version: int
    due_date: str
    phone: str  # E.164; sealed at rest by the store
    pending: dict[int, int] = field(default_factory=dict)  # days before the due date -> send time (epoch)
    sent: dict[int, str] = field(default_factory=dict)  # days before -> when it was sent
    rev: int = 0

    def next_due(self) -> tuple[int, int] | None:
        if not self.pending:
            return None
        days = min(self.pending, key=lambda d: self.pending[d])
        return days, self.pending[days]


def schedule(dossier_code: str, notice_number: str, version: int, due: date, phone: str, now: datetime,
             policy: ReminderPolicy) -> NoticeReminders | None:
    """The reminders of a notice just received (None: nothing left to remind of)."""
    pending = {}
    for days in sorted(set(policy.days_before), reverse=True):
        at = policy.next_allowed(datetime.combine(due - timedelta(days=days), policy.send_at, VN_TZ))
        if at > now:
            pending[days] = int(at.timestamp())
    if not pending:
        return None
    return NoticeReminders(dossier_code, notice_number, version, due.isoformat(), phone, pending)


def _shortest_fitting(variants: list[str]) -> str:
    """The first (most detailed) variant that fits one segment, else the last (shortest) one."""
    for text in variants:
        if sms_segments(text) == 1:
            return text
    return variants[-1]


def reminder_text(notice_number: str, due_date: str, days_before: int) -> str:
    d = date.fromisoformat(due_date)
    when = f"{d:%d/%m/%Y}"
    return _shortest_fitting([
        f"DVCQG: TB thuế {notice_number} còn {days_before} ngày đến hạn {when}. Nộp tại {PORTAL}",
        f"DVCQG: TB thuế {notice_number} hạn nộp {when}. Nộp tại {PORTAL}",
        f"DVCQG: TB thuế {notice_number} hạn {d:%d/%m}, nộp tại {PORTAL}",
        f"TB thuế {notice_number} hạn {d:%d/%m}. Nộp: {PORTAL}",
    ])


def paid_text(amount_vnd_text: str, verification_url: str) -> str:
    """After payment: the receipt's verification link (a URL is ASCII but the text is not: two segments, said)."""
    return _shortest_fitting([
        f"DVCQG: Đã nộp {amount_vnd_text} đồng. Biên lai: {verification_url}",
        f"Đã nộp {amount_vnd_text}đ. Biên lai: {verification_url}",
    ])
