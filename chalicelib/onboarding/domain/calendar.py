"""The government office's working calendar, and working-time arithmetic on it (the 8-working-hour clock of M11).

Vietnam time (UTC+7, no daylight saving); working weekdays and hours are configuration; public holidays, their
compensating days and the government's yearly day swaps are data per year (``data/working_calendar.json``), because
lunar dates and swaps are announced each year and can never be computed from a formula alone. Operators edit the
calendar as a dict (``Calendar.from_dict`` validates it, ``to_dict`` gives it back). A year absent from the data is
treated as plain weekdays: ``Calendar.covers`` lets the caller warn before that happens.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from chalicelib.core.clock import VN_TZ
from chalicelib.core.validation import InvalidValueError

_DATA_FILE = Path(__file__).resolve().parents[2] / "data" / "working_calendar.json"
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_TIMEZONE = "+07:00"
# add_working_seconds gives up after this many calendar days without enough working time: only a calendar that
# declares (almost) every day off can get there, and a wrong answer is better refused than looped on.
_MAX_SCAN_DAYS = 3_700

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class CalendarDay:
    """A day off on a working weekday, or a weekend day worked in exchange (a swap or make-up Saturday)."""

    date: date
    name: str
    verified: bool = True
    source: str = ""


@dataclass(frozen=True)
class CalendarYear:
    year: int
    days_off: tuple[CalendarDay, ...] = ()
    working_days: tuple[CalendarDay, ...] = ()
    verified: bool = True
    sources: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class Calendar:
    """Working weekdays (ISO, 1 = Monday), daily working hours (VN time, sorted, disjoint) and per-year exceptions."""

    working_weekdays: frozenset[int]
    working_hours: tuple[tuple[time, time], ...]
    years: tuple[CalendarYear, ...] = ()
    _off: dict[date, CalendarDay] = field(init=False, repr=False, compare=False)
    _worked: dict[date, CalendarDay] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_weekdays(self.working_weekdays)
        _check_hours(self.working_hours)
        off: dict[date, CalendarDay] = {}
        worked: dict[date, CalendarDay] = {}
        seen_years: set[int] = set()
        for year in self.years:
            if year.year in seen_years:
                raise _invalid("CALENDAR_YEAR_DUPLICATE", f"Năm {year.year} được khai báo hai lần.")
            seen_years.add(year.year)
            for day in year.days_off:
                _index(off, day, year.year)
            for day in year.working_days:
                _index(worked, day, year.year)
                if day.date.isoweekday() in self.working_weekdays:
                    raise _invalid("CALENDAR_SWAP_NOT_REST_DAY", f"Ngày làm bù {day.date:%d/%m/%Y} phải là ngày nghỉ "
                                   "hằng tuần (thứ Bảy, Chủ nhật).")
        for day in off.keys() & worked.keys():
            raise _invalid("CALENDAR_DAY_CONFLICT", f"Ngày {day:%d/%m/%Y} vừa là ngày nghỉ vừa là ngày làm việc.")
        object.__setattr__(self, "_off", off)
        object.__setattr__(self, "_worked", worked)

    # --- reading -----------------------------------------------------------------------------------------------

    def covers(self, year: int) -> bool:
        """Whether the holidays and swaps of ``year`` are in the data (otherwise only weekdays count)."""
        return any(y.year == year for y in self.years)

    def is_working_day(self, day: date) -> bool:
        if day in self._worked:
            return True
        return day.isoweekday() in self.working_weekdays and day not in self._off

    def day_off(self, day: date) -> CalendarDay | None:
        """The holiday or swapped day that makes ``day`` a day off, if any."""
        return self._off.get(day)

    def working_intervals(self, day: date) -> list[Interval]:
        """The working periods of ``day`` as aware VN-time datetimes; empty on a day off."""
        if not self.is_working_day(day):
            return []
        return [(datetime.combine(day, s, VN_TZ), datetime.combine(day, e, VN_TZ)) for s, e in self.working_hours]

    def is_working_time(self, moment: datetime) -> bool:
        t = to_vn(moment)
        return any(s <= t < e for s, e in self.working_intervals(t.date()))

    def with_hours(self, hours: list[tuple[str, str]] | tuple[tuple[time, time], ...]) -> Calendar:
        """The same calendar with the working hours from configuration (``[("08:00", "12:00"), ...]``)."""
        parsed = tuple((_parse_time(s), _parse_time(e)) if isinstance(s, str) else (s, e) for s, e in hours)
        return replace(self, working_hours=parsed)

    # --- data --------------------------------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calendar:
        """Build and validate a calendar from its stored form (the shape of ``data/working_calendar.json``).

        Raises InvalidValueError (stable code, Vietnamese message) for a malformed time or date, overlapping hours, a
        date filed under the wrong year, a date listed twice, or a day both off and worked.
        """
        if not isinstance(data, Mapping):
            raise _invalid("CALENDAR_INVALID", "Lịch làm việc phải là một đối tượng JSON.")
        if data.get("timezone", _TIMEZONE) != _TIMEZONE:
            raise _invalid("CALENDAR_TIMEZONE", "Lịch làm việc dùng giờ Việt Nam (+07:00).")
        hours = tuple(_hours_from_dict(h) for h in _list(data.get("working_hours"), "working_hours"))
        years = _mapping(data.get("years", {}), "years")
        return cls(
            working_weekdays=frozenset(_list(data.get("working_weekdays"), "working_weekdays")),
            working_hours=hours,
            years=tuple(_year_from_dict(key, value) for key, value in sorted(years.items())),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "timezone": _TIMEZONE,
            "working_weekdays": sorted(self.working_weekdays),
            "working_hours": [{"start": f"{s:%H:%M}", "end": f"{e:%H:%M}"} for s, e in self.working_hours],
            "years": {str(y.year): _year_to_dict(y) for y in sorted(self.years, key=lambda y: y.year)},
        }


@cache
def _default_calendar() -> Calendar:
    return Calendar.from_dict(json.loads(_DATA_FILE.read_text(encoding="utf-8")))


def default_calendar() -> Calendar:
    """The calendar shipped in ``data/working_calendar.json`` (read once): the seed operators start editing from."""
    return _default_calendar()


# --- working-time arithmetic ---------------------------------------------------------------------------------------


def to_vn(moment: datetime) -> datetime:
    """``moment`` in Vietnam time; a naive datetime is refused, since its zone can only be guessed."""
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("working-time arithmetic needs an aware datetime")
    return moment.astimezone(VN_TZ)


def is_working_time(moment: datetime, calendar: Calendar | None = None) -> bool:
    """Whether the office is at work at ``moment`` (working day, inside working hours; the end minute excluded)."""
    return (calendar or default_calendar()).is_working_time(moment)


def add_working_seconds(start: datetime, seconds: int, calendar: Calendar | None = None) -> datetime:
    """The moment ``seconds`` of working time after ``start`` (VN time): the due time of a clock started at ``start``.

    Time outside working hours does not count, so a start at 07:00, at lunch or after 17:00 counts from the next
    working minute. A deadline that is used up exactly at the end of a working period is that end (17:00 the same
    day), never the start of the next one. Example: Friday 16:00 + 8 h = next Monday 16:00 (one hour on Friday,
    then 08:00-12:00 and 13:00-16:00).
    """
    cal = calendar or default_calendar()
    if isinstance(seconds, bool) or seconds < 0:
        raise ValueError("seconds must be a non-negative number")
    moment = to_vn(start)
    remaining = timedelta(seconds=seconds)
    if not remaining:
        return moment
    day = moment.date()
    for _ in range(_MAX_SCAN_DAYS):
        for begin, end in cal.working_intervals(day):
            if end <= moment:
                continue
            begin = max(begin, moment)
            if remaining <= end - begin:
                return begin + remaining
            remaining -= end - begin
        day += timedelta(days=1)
    raise ValueError("the calendar has no working time left within ten years")


def working_seconds_between(a: datetime, b: datetime, calendar: Calendar | None = None) -> int:
    """Whole seconds of working time in [a, b); 0 when ``b`` is not after ``a``."""
    cal = calendar or default_calendar()
    start, stop = to_vn(a), to_vn(b)
    total = timedelta()
    day = start.date()
    while start < stop and day <= stop.date():
        for begin, end in cal.working_intervals(day):
            overlap = min(end, stop) - max(begin, start)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return int(total.total_seconds())


# --- validation helpers ----------------------------------------------------------------------------------------


def _invalid(code: str, message: str) -> InvalidValueError:
    return InvalidValueError(code, message)


def _check_weekdays(weekdays: frozenset[int]) -> None:
    if not weekdays or any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7 for d in weekdays):
        raise _invalid("CALENDAR_WEEKDAYS_INVALID", "Ngày làm việc trong tuần là các số từ 1 (thứ Hai) đến 7 (Chủ "
                       "nhật), ít nhất một ngày.")


def _check_hours(hours: tuple[tuple[time, time], ...]) -> None:
    if not hours:
        raise _invalid("CALENDAR_HOURS_INVALID", "Cần ít nhất một khoảng giờ làm việc.")
    for start, end in hours:
        if not start < end:
            raise _invalid("CALENDAR_HOURS_INVALID", f"Giờ bắt đầu {start:%H:%M} phải trước giờ kết thúc {end:%H:%M}.")
    ordered = sorted(hours)
    if list(hours) != ordered:
        raise _invalid("CALENDAR_HOURS_UNSORTED", "Các khoảng giờ làm việc phải xếp theo thứ tự thời gian.")
    for (_, end), (start, _) in pairwise(ordered):
        if start < end:
            raise _invalid("CALENDAR_HOURS_OVERLAP", f"Các khoảng giờ làm việc chồng lên nhau ({start:%H:%M}).")


def _index(target: dict[date, CalendarDay], day: CalendarDay, year: int) -> None:
    if day.date.year != year:
        raise _invalid("CALENDAR_DATE_WRONG_YEAR", f"Ngày {day.date:%d/%m/%Y} không thuộc năm {year}.")
    if day.date in target:
        raise _invalid("CALENDAR_DATE_DUPLICATE", f"Ngày {day.date:%d/%m/%Y} được khai báo hai lần.")
    target[day.date] = day


def _parse_time(raw: Any) -> time:
    match = _HHMM.match(raw) if isinstance(raw, str) else None
    if not match:
        raise _invalid("CALENDAR_TIME_INVALID", f"Giờ không hợp lệ: {str(raw)[:20]!r} (định dạng HH:MM, 00:00-23:59).")
    return time(int(match[1]), int(match[2]))


def _parse_date(raw: Any) -> date:
    try:
        if not isinstance(raw, str) or len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise _invalid("CALENDAR_DATE_INVALID", f"Ngày không hợp lệ: {str(raw)[:20]!r} (định dạng YYYY-MM-DD).") from None


def _list(value: Any, name: str) -> list:
    if not isinstance(value, list):
        raise _invalid("CALENDAR_INVALID", f"Trường {name} phải là một danh sách.")
    return value


def _mapping(value: Any, name: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise _invalid("CALENDAR_INVALID", f"Trường {name} phải là một đối tượng.")
    return value


def _hours_from_dict(raw: Any) -> tuple[time, time]:
    raw = _mapping(raw, "working_hours")
    return _parse_time(raw.get("start")), _parse_time(raw.get("end"))


def _day_from_dict(raw: Any, where: str) -> CalendarDay:
    raw = _mapping(raw, where)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise _invalid("CALENDAR_DAY_NAME", f"Mỗi ngày trong {where} cần tên (tối đa 200 ký tự).")
    return CalendarDay(_parse_date(raw.get("date")), " ".join(name.split()), bool(raw.get("verified", True)),
                       str(raw.get("source", "")))


def _year_from_dict(key: Any, raw: Any) -> CalendarYear:
    if not (isinstance(key, str) and key.isdigit() and len(key) == 4):
        raise _invalid("CALENDAR_YEAR_INVALID", f"Năm không hợp lệ: {str(key)[:10]!r}.")
    raw = _mapping(raw, f"years.{key}")
    return CalendarYear(
        year=int(key),
        days_off=tuple(_day_from_dict(d, "days_off") for d in _list(raw.get("days_off", []), "days_off")),
        working_days=tuple(_day_from_dict(d, "working_days")
                           for d in _list(raw.get("working_days", []), "working_days")),
        verified=bool(raw.get("verified", True)),
        sources=tuple(str(s) for s in _list(raw.get("sources", []), "sources")),
        notes=str(raw.get("notes", "")),
    )


def _day_to_dict(day: CalendarDay) -> dict[str, Any]:
    return {"date": day.date.isoformat(), "name": day.name, "verified": day.verified, "source": day.source}


def _year_to_dict(year: CalendarYear) -> dict[str, Any]:
    out: dict[str, Any] = {"verified": year.verified, "sources": list(year.sources)}
    if year.notes:
        out["notes"] = year.notes
    out["days_off"] = [_day_to_dict(d) for d in sorted(year.days_off, key=lambda d: d.date)]
    out["working_days"] = [_day_to_dict(d) for d in sorted(year.working_days, key=lambda d: d.date)]
    return out
