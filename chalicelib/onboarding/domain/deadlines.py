"""The 8-working-hour clock of one support request, read from its status history: what operators see (time left,
due time), when the 75 % and breach alerts are due (each once), and whether a closed request was handled in time.

The clock runs while the request is new or in progress and stands still while it waits for the requester or is
closed (``requests.RUNNING``); working time is counted on the working calendar (``calendar.py``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.onboarding.domain.calendar import Calendar, default_calendar
from chalicelib.onboarding.domain.requests import RUNNING, SupportRequest
from chalicelib.onboarding.domain.sla import EIGHT_WORKING_HOURS, SlaClock

# Alert thresholds in percent of the budget, by the name they are recorded under (each is sent once per request).
THRESHOLDS: tuple[tuple[str, float], ...] = (("75", 75.0), ("breach", 100.0))


def clock_of(request: SupportRequest, calendar: Calendar | None = None,
             budget_seconds: int = EIGHT_WORKING_HOURS) -> SlaClock:
    return clock_from(request.transitions, calendar, budget_seconds)


def clock_from(transitions: list[tuple[str, str]], calendar: Calendar | None = None,
               budget_seconds: int = EIGHT_WORKING_HOURS) -> SlaClock:
    """The clock of a status history given as (status, RFC 3339 time) pairs."""
    return SlaClock.from_transitions([(status, datetime.fromisoformat(at)) for status, at in transitions],
                                     running_statuses=RUNNING, calendar=calendar or default_calendar(),
                                     budget_seconds=budget_seconds)


def _hours_minutes(seconds: int) -> str:
    hours, minutes = divmod(abs(seconds) // 60, 60)
    if hours and minutes:
        return f"{hours} giờ {minutes} phút"
    return f"{hours} giờ" if hours else f"{minutes} phút"


def time_left_text(remaining: int, running: bool, closed: bool) -> str:
    """What the list screen shows next to the status, in working time."""
    if remaining < 0:
        text = f"Quá hạn {_hours_minutes(remaining)} làm việc"
    else:
        text = f"Còn {_hours_minutes(remaining)} làm việc"
    if closed:
        return ("Đã xử lý trong hạn" if remaining >= 0 else f"Đã xử lý, quá hạn {_hours_minutes(remaining)} "
                "làm việc")
    return text if running else f"Tạm dừng tính giờ — {text[0].lower()}{text[1:]}"


def sla_summary(transitions: list[tuple[str, str]], closed: bool, now: datetime,
                calendar: Calendar | None = None) -> dict[str, Any]:
    """What the list screen shows of the clock: time left (negative once overdue), due time, running or paused."""
    clock = clock_from(transitions, calendar)
    status = clock.status(now)
    return {
        "budget_seconds": clock.budget_seconds,
        "elapsed_seconds": status.elapsed_seconds,
        "remaining_seconds": status.remaining_seconds,
        "percent_used": round(status.percent_used, 1),
        "running": status.running,
        "overdue": status.remaining_seconds < 0,
        "due_at": status.due_at.isoformat() if status.due_at else None,
        "time_left": time_left_text(status.remaining_seconds, status.running, closed),
    }


def sla_view(request: SupportRequest, now: datetime, calendar: Calendar | None = None) -> dict[str, Any]:
    from chalicelib.onboarding.domain.requests import CLOSED

    return {**sla_summary(request.transitions, request.status in CLOSED, now, calendar),
            "alerts_sent": dict(request.alerts)}


@dataclass(frozen=True)
class Alert:
    name: str  # "75" | "breach"
    percent: float
    due_at: datetime


def crossed(request: SupportRequest, now: datetime, calendar: Calendar | None = None) -> list[Alert]:
    """The thresholds the clock has reached by ``now`` whose alert was not sent yet (oldest first)."""
    clock = clock_of(request, calendar)
    used = clock.percent_used(now)
    out = []
    for name, percent in THRESHOLDS:
        if name not in request.alerts and used >= percent:
            out.append(Alert(name, percent, clock.point_at(percent, now) or now))
    return out


def next_alert_at(request: SupportRequest, now: datetime, calendar: Calendar | None = None) -> datetime | None:
    """When the next unsent alert becomes due, or None (all sent, or the clock is stopped: it is recomputed when
    the request moves again)."""
    clock = clock_of(request, calendar)
    if not clock.is_running(now):
        return None
    for name, percent in THRESHOLDS:
        if name not in request.alerts:
            return clock.point_at(percent, now)
    return None


def handled_in_time(request: SupportRequest, now: datetime, calendar: Calendar | None = None) -> tuple[bool, int]:
    """(within the budget, working seconds used) for a request closing at ``now``."""
    clock = clock_of(request, calendar)
    elapsed = clock.elapsed_seconds(now)
    return elapsed <= clock.budget_seconds, elapsed
