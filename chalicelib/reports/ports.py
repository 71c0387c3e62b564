"""What the report use cases read: the report day items of a province, and where an export file is put."""
from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from chalicelib.core.clock import Clock
from chalicelib.reports.domain import DayCounters


class ReportDays(Protocol):
    def days(self, province: str, date_from: date, date_to: date) -> list[DayCounters]:
        """The province's day items from ``date_from`` to ``date_to`` (inclusive): one Query (paged past 1 MB)."""


class ExportFiles(Protocol):
    def publish(self, key: str, content: bytes, content_type: str, file_name: str, expires_s: int) -> str:
        """Store the file and answer a link that downloads it for ``expires_s`` seconds."""


class ReportsContext(Protocol):
    settings: Any
    clock: Clock
    report_days: ReportDays
    export_files: ExportFiles
    new_id: Any

    def count(self, name: str, value: int = 1) -> None: ...
