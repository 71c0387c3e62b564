"""Reminders and SMS opt-outs on the ledger table.

- ``RMD#<dossier>#<notice> / REMINDER``: a notice's pending reminders, one item (written in the intake transaction,
  replaced by a new version's, deleted by the paying transaction). The phone is inside ``doc``, sealed
  (AES-256-GCM); gsi1 ``REMINDER#DUE / <next send time>`` while one is pending; TTL a few days after the due date.
- ``OPTOUT#<HMAC(phone)> / SMS``: a phone that opted out (no phone in clear).
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.aws.tables import is_conditional, models
from chalicelib.core.clock import VN_TZ
from chalicelib.reminders.domain import NoticeReminders

if TYPE_CHECKING:
    from chalicelib.config import Settings

DUE = "REMINDER#DUE"
KEEP_AFTER_DUE = timedelta(days=3)


def reminder_key(dossier_code: str, notice_number: str) -> tuple[str, str]:
    return f"RMD#{dossier_code}#{notice_number}", "REMINDER"


class DynamoReminders:
    def __init__(self, settings: Settings, sealer: Any, outbox: Any = None) -> None:
        _, self.M = models(settings)
        self._sealer, self._outbox = sealer, outbox

    def item(self, r: NoticeReminders):
        """The item of a notice's reminders (what the intake transaction puts)."""
        doc = {"dossier_code": r.dossier_code, "notice_number": r.notice_number, "version": r.version,
               "due_date": r.due_date, "phone": r.phone, "pending": r.pending, "sent": r.sent}
        nxt = r.next_due()
        expires = datetime.combine(date.fromisoformat(r.due_date), time(0), VN_TZ) + KEEP_AFTER_DUE
        return self.M(*reminder_key(r.dossier_code, r.notice_number), kind="reminder", rev=r.rev,
                      doc=self._sealer.seal(json.dumps(doc, ensure_ascii=False).encode()),
                      gsi1pk=DUE if nxt else None, gsi1sk=f"{nxt[1]:012d}" if nxt else None,
                      ttl=int(expires.timestamp()))

    def _read(self, item) -> NoticeReminders:
        doc = json.loads(self._sealer.open(item.doc))
        return NoticeReminders(doc["dossier_code"], doc["notice_number"], int(doc["version"]), doc["due_date"],
                               doc["phone"], {int(k): int(v) for k, v in doc["pending"].items()},
                               {int(k): v for k, v in doc.get("sent", {}).items()}, int(item.rev or 0))

    def get(self, dossier_code: str, notice_number: str) -> NoticeReminders | None:
        try:
            return self._read(self.M.get(*reminder_key(dossier_code, notice_number), consistent_read=True))
        except DoesNotExist:
            return None

    def due(self, now_epoch: int, limit: int) -> list[NoticeReminders]:
        found = self.M.gsi1.query(DUE, self.M.gsi1sk <= f"{now_epoch:012d}", limit=limit)
        return [self._read(i) for i in found if i.kind == "reminder"]

    def _moved(self, r: NoticeReminders, **changes) -> NoticeReminders:
        return NoticeReminders(**{**r.__dict__, **changes, "rev": r.rev + 1})

    def record_sent(self, r: NoticeReminders, days_before: int, at: str, intents) -> bool:
        pending = {d: t for d, t in r.pending.items() if d != days_before}
        after = self._moved(r, pending=pending, sent={**r.sent, days_before: at})
        M = self.M
        try:
            with TransactWrite(connection=M._get_connection().connection) as tx:
                tx.save(self.item(after), condition=M.pk.exists() & (M.rev == r.rev))
                for intent_item in self._outbox.items(intents) if intents else ():
                    tx.save(intent_item)
        except TransactWriteError:
            return False  # moved, or deleted by the paying transaction: nothing was sent
        return True

    def postpone(self, r: NoticeReminders, until_epoch: int) -> bool:
        days = r.next_due()[0]
        after = self._moved(r, pending={**r.pending, days: until_epoch})
        try:
            self.item(after).save(condition=self.M.pk.exists() & (self.M.rev == r.rev))
        except PutError as exc:
            if is_conditional(exc):
                return False
            raise
        return True


class DynamoOptOuts:
    def __init__(self, settings: Settings, keys: Any) -> None:
        _, self.M = models(settings)
        self._keys = keys  # HmacKeyring: the phone is never stored

    def _key(self, phone: str) -> tuple[str, str]:
        return f"OPTOUT#{self._keys.phone_key(phone)}", "SMS"

    def opted_out(self, phone_e164: str) -> bool:
        try:
            return self.M.get(*self._key(phone_e164), consistent_read=True).state == "OUT"
        except DoesNotExist:
            return False

    def set_opt_out(self, phone_e164: str, opted_out: bool, at: str, source: str) -> None:
        self.M(*self._key(phone_e164), kind="sms_opt_out", state="OUT" if opted_out else "IN",
               doc=json.dumps({"at": at, "source": source})).save()
