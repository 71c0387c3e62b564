"""What the reminder use cases need: the store of notices' reminders and of phones that opted out."""
from __future__ import annotations

from typing import Any, Protocol, Sequence

from chalicelib.core.clock import Clock
from chalicelib.outbox.domain import Intent
from chalicelib.reminders.domain import NoticeReminders


class ReminderStore(Protocol):
    def due(self, now_epoch: int, limit: int) -> list[NoticeReminders]:
        """Notices with a reminder whose time has come, oldest first."""

    def record_sent(self, reminders: NoticeReminders, days_before: int, at: str, intents: Sequence[Intent]) -> bool:
        """One write: that reminder off the list (the next one, if any, becomes the item's due time) and its SMS
        intent, if the item is still as read (rev) - so each reminder goes out at most once; False when it moved
        or is gone (the notice was paid or replaced meanwhile)."""

    def postpone(self, reminders: NoticeReminders, until_epoch: int) -> bool:
        """Move the item's due time (quiet hours); False when it moved or is gone."""


class OptOutStore(Protocol):
    def opted_out(self, phone_e164: str) -> bool: ...

    def set_opt_out(self, phone_e164: str, opted_out: bool, at: str, source: str) -> None: ...


class RemindersContext(Protocol):
    settings: Any  # .reminders is the ReminderPolicy
    clock: Clock
    reminders: ReminderStore
    opt_outs: OptOutStore

    def count(self, name: str, value: int = 1) -> None: ...
