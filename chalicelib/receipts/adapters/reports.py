"""The daily report records on the ledger table: ``TAXRPT#<unit> / DAY#<day>`` (rows counted in ``seq`` by every
receipt's transaction; the report's state and history in ``doc``), open ones in gsi1 ``TAXRPT#OPEN``, refused or
dead ones in ``TAXRPT#ATTENTION`` (until an operator resends them or a new receipt of the day reopens them); and
the rows themselves, ``RDAY#<unit>#<day> / <form>#<series>#<number>``, written with each receipt."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.aws.tables import is_conditional, models
from chalicelib.receipts.adapters.dynamo import OPEN_REPORTS
from chalicelib.receipts.reporting import DayReport, ReportState

if TYPE_CHECKING:
    from chalicelib.config import Settings

ATTENTION = "TAXRPT#ATTENTION"
_DOC_FIELDS = ("reported_rows", "submissions", "attempts", "next_attempt_at", "last_error", "ack_id", "history")


class DynamoReports:
    def __init__(self, settings: Settings, outbox=None) -> None:
        _, self.M = models(settings)
        self._outbox = outbox  # builds the intent items written with an outcome (operators' alerts)

    def _report(self, item) -> DayReport:
        doc = json.loads(item.doc) if item.doc else {}
        return DayReport(unit=item.pk[len("TAXRPT#"):], day=item.sk[len("DAY#"):], rows=int(item.seq or 0),
                         state=ReportState(item.state or "OPEN"), **{k: doc[k] for k in _DOC_FIELDS if k in doc})

    def open_days(self, limit: int) -> list[DayReport]:
        return [self._report(i) for i in self.M.gsi1.query(OPEN_REPORTS, limit=limit) if i.kind == "tax_report"]

    def get_day(self, unit: str, day: str) -> DayReport | None:
        try:
            return self._report(self.M.get(f"TAXRPT#{unit}", f"DAY#{day}", consistent_read=True))
        except DoesNotExist:
            return None

    def days(self, unit: str, first_day: str, last_day: str) -> list[DayReport]:
        found = self.M.query(f"TAXRPT#{unit}", self.M.sk.between(f"DAY#{first_day}", f"DAY#{last_day}"))
        return [self._report(i) for i in found]

    def rows(self, unit: str, day: str) -> list[dict[str, Any]]:
        return [json.loads(i.doc) for i in self.M.query(f"RDAY#{unit}#{day}", consistent_read=True)]

    def save_outcome(self, report: DayReport, close_if_rows: int | None, intents=()) -> bool:
        M = self.M
        item = M(f"TAXRPT#{report.unit}", f"DAY#{report.day}")
        doc = json.dumps({k: getattr(report, k) for k in _DOC_FIELDS}, ensure_ascii=False)
        base = [M.state.set(report.state.value), M.doc.set(doc)]
        if close_if_rows is None:
            extra = [M.gsi1pk.set(ATTENTION)] if report.state in (ReportState.REFUSED, ReportState.DEAD) else []
            if not intents:
                item.update(actions=base + extra, condition=M.pk.exists())
                return True
            with TransactWrite(connection=M._get_connection().connection) as tx:
                tx.update(item, actions=base + extra, condition=M.pk.exists())
                for intent_item in self._outbox.items(intents):
                    tx.save(intent_item)
            return True
        try:  # closed only if no receipt was written meanwhile (it would ADD to seq and must be reported)
            item.update(actions=[*base, M.gsi1pk.remove(), M.gsi1sk.remove()],
                        condition=M.pk.exists() & (M.seq == close_if_rows))
            return True
        except UpdateError as exc:
            if not is_conditional(exc):
                raise
        item.update(actions=[M.state.set(ReportState.OPEN.value), M.doc.set(doc)], condition=M.pk.exists())
        return False
