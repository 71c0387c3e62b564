"""The 8-working-hour clock of a support request, which stops while the request waits for the requester.

A request's history is a list of (status, at) transitions. The clock runs during the intervals whose status is one
of ``running_statuses`` and stands still in every other status (waiting for the requester, done, cancelled...), so
elapsed working time is the sum, over the running intervals, of the working time inside them. Which statuses run
is the caller's choice: the status model belongs to the use case, not to this value object.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from chalicelib.onboarding.domain.calendar import (
    Calendar,
    add_working_seconds,
    default_calendar,
    to_vn,
    working_seconds_between,
)

EIGHT_WORKING_HOURS = 8 * 3600


@dataclass(frozen=True)
class SlaStatus:
    """The clock read at one moment (what a list screen or an alert job needs)."""

    elapsed_seconds: int
    remaining_seconds: int  # negative once overdue
    percent_used: float  # may pass 100
    running: bool
    overdue: bool
    due_at: datetime | None  # None while stopped short of the budget: it depends on when the clock restarts


@dataclass(frozen=True)
class SlaClock:
    transitions: tuple[tuple[str, datetime], ...]
    running_statuses: frozenset[str]
    calendar: Calendar
    budget_seconds: int = EIGHT_WORKING_HOURS

    @classmethod
    def from_transitions(cls, transitions: Iterable[tuple[str, datetime]], *, running_statuses: Collection[str],
                         calendar: Calendar | None = None,
                         budget_seconds: int = EIGHT_WORKING_HOURS) -> SlaClock:
        """Validate and keep the history; transitions must be in time order (equal times keep their order)."""
        steps = tuple((str(status), to_vn(at)) for status, at in transitions)
        if any(later < earlier for (_, earlier), (_, later) in pairwise(steps)):
            raise ValueError("transitions must be in chronological order")
        if isinstance(budget_seconds, bool) or budget_seconds <= 0:
            raise ValueError("budget_seconds must be positive")
        return cls(steps, frozenset(running_statuses), calendar or default_calendar(), budget_seconds)

    def running_intervals(self, now: datetime) -> list[tuple[datetime, datetime | None]]:
        """The running periods up to ``now``; the last one is open (end None) when the clock runs at ``now``.

        Transitions after ``now`` are ignored, so the clock can be read as it stood at any past moment.
        """
        now = to_vn(now)
        seen = [(status, at) for status, at in self.transitions if at <= now]
        out: list[tuple[datetime, datetime | None]] = []
        for i, (status, at) in enumerate(seen):
            if status in self.running_statuses:
                out.append((at, seen[i + 1][1] if i + 1 < len(seen) else None))
        return out

    def is_running(self, now: datetime) -> bool:
        intervals = self.running_intervals(now)
        return bool(intervals) and intervals[-1][1] is None

    def elapsed_seconds(self, now: datetime) -> int:
        """Working seconds the clock has run up to ``now``."""
        now = to_vn(now)
        return sum(working_seconds_between(start, end or now, self.calendar)
                   for start, end in self.running_intervals(now))

    def remaining_seconds(self, now: datetime) -> int:
        return self.budget_seconds - self.elapsed_seconds(now)

    def percent_used(self, now: datetime) -> float:
        return 100.0 * self.elapsed_seconds(now) / self.budget_seconds

    def moment_at(self, seconds: int, now: datetime) -> datetime | None:
        """When the clock shows ``seconds`` of working time: a past moment if already reached, the projected moment
        if the clock runs at ``now``, None if it is stopped before reaching it (it depends on the restart)."""
        now = to_vn(now)
        used = 0
        for start, end in self.running_intervals(now):
            span = working_seconds_between(start, end or now, self.calendar)
            if end is None or used + span >= seconds:
                return add_working_seconds(start, max(seconds - used, 0), self.calendar)
            used += span
        return None

    def due_at(self, now: datetime) -> datetime | None:
        return self.moment_at(self.budget_seconds, now)

    def point_at(self, percent: float, now: datetime) -> datetime | None:
        """When ``percent`` of the budget is used, e.g. ``point_at(75, now)`` for an early-warning alert."""
        return self.moment_at(round(self.budget_seconds * percent / 100), now)

    def status(self, now: datetime) -> SlaStatus:
        elapsed = self.elapsed_seconds(now)
        return SlaStatus(
            elapsed_seconds=elapsed,
            remaining_seconds=self.budget_seconds - elapsed,
            percent_used=100.0 * elapsed / self.budget_seconds,
            running=self.is_running(now),
            overdue=elapsed > self.budget_seconds,
            due_at=self.due_at(now),
        )
