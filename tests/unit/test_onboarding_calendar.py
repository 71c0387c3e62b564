"""Working calendar and the 8-working-hour clock (M11): weekends, Tết, swapped Saturdays, lunch, pause/resume."""
from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.core.clock import VN_TZ
from chalicelib.core.validation import InvalidValueError
from chalicelib.onboarding.domain.calendar import (
    _DATA_FILE,
    Calendar,
    add_working_seconds,
    default_calendar,
    is_working_time,
    working_seconds_between,
)
from chalicelib.onboarding.domain.sla import SlaClock

H = 3600
CAL = default_calendar()


def vn(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=VN_TZ)


def raw_calendar() -> dict:
    return json.loads(_DATA_FILE.read_text(encoding="utf-8"))


# --- due times ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "due", "why"), [
    (vn(2026, 3, 2, 8), vn(2026, 3, 2, 17), "exactly one working day: 17:00 the same day, not 08:00 the next"),
    (vn(2026, 3, 2, 7), vn(2026, 3, 2, 17), "before 08:00 counts from 08:00"),
    (vn(2026, 3, 2, 12, 30), vn(2026, 3, 3, 12), "at lunch counts from 13:00; ends at 12:00, not 13:00"),
    (vn(2026, 3, 2, 12), vn(2026, 3, 3, 12), "12:00 sharp is lunch already"),
    (vn(2026, 3, 2, 18), vn(2026, 3, 3, 17), "after 17:00 counts from the next morning"),
    (vn(2026, 3, 2, 10, 15), vn(2026, 3, 3, 10, 15), "a whole working day later"),
    (vn(2026, 3, 6, 16), vn(2026, 3, 9, 16), "across a weekend: 1 h Friday, 7 h Monday"),
    (vn(2026, 3, 7, 10), vn(2026, 3, 9, 17), "filed on a Saturday: Monday is the first working day"),
    (vn(2026, 2, 13, 10), vn(2026, 2, 23, 10), "across Tết 2026 (off 14/02-22/02): 6 h Friday, 2 h after"),
    (vn(2025, 4, 29, 15), vn(2025, 5, 5, 15), "30/4-1/5 2025: 30/4, 1/5 and swapped 2/5 off, then the weekend"),
    (vn(2025, 4, 25, 16), vn(2025, 4, 26, 16), "2025: Saturday 26/04 is the make-up working day"),
    (vn(2025, 12, 31, 16), vn(2026, 1, 5, 16), "New Year 2026: 1/1 and swapped 2/1 off"),
    (vn(2026, 1, 9, 16), vn(2026, 1, 10, 16), "2026: Saturday 10/01 is the make-up working day"),
    (vn(2026, 4, 24, 9), vn(2026, 4, 28, 9), "Hùng Kings' day on Sunday 26/04/2026: Monday 27/04 off instead"),
])
def test_due_time_of_an_eight_hour_clock(start: datetime, due: datetime, why: str) -> None:
    assert add_working_seconds(start, 8 * H, CAL) == due, why


def test_due_time_is_given_in_vietnam_time_whatever_the_input_zone() -> None:
    start_utc = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam
    due = add_working_seconds(start_utc, 8 * H, CAL)
    assert due == vn(2026, 3, 2, 17) and due.utcoffset() == timedelta(hours=7)


def test_zero_seconds_is_the_start_itself_and_negative_or_naive_is_refused() -> None:
    assert add_working_seconds(vn(2026, 3, 7, 10), 0, CAL) == vn(2026, 3, 7, 10)
    with pytest.raises(ValueError):
        add_working_seconds(vn(2026, 3, 2, 9), -1, CAL)
    with pytest.raises(ValueError):
        add_working_seconds(datetime(2026, 3, 2, 9), 60, CAL)


def test_working_seconds_between_skips_nights_lunch_weekends_and_holidays() -> None:
    assert working_seconds_between(vn(2026, 3, 6, 16), vn(2026, 3, 9, 10), CAL) == 3 * H
    assert working_seconds_between(vn(2026, 3, 2, 11), vn(2026, 3, 2, 14), CAL) == 2 * H
    assert working_seconds_between(vn(2026, 2, 13, 17), vn(2026, 2, 23, 8), CAL) == 0  # Tết
    assert working_seconds_between(vn(2026, 3, 2, 14), vn(2026, 3, 2, 10), CAL) == 0  # reversed
    assert working_seconds_between(vn(2026, 3, 2, 0), vn(2026, 3, 9, 0), CAL) == 5 * 8 * H


@pytest.mark.parametrize("start", [vn(2026, 2, 12, 9, 17), vn(2025, 4, 28, 12, 5), vn(2026, 12, 31, 16, 59)])
@pytest.mark.parametrize("seconds", [1, 59, 4 * H, 8 * H, 8 * H + 1, 40 * H + 123])
def test_adding_then_measuring_gives_back_the_same_working_time(start: datetime, seconds: int) -> None:
    assert working_seconds_between(start, add_working_seconds(start, seconds, CAL), CAL) == seconds


@pytest.mark.parametrize(("moment", "expected"), [
    (vn(2026, 3, 2, 7, 59), False), (vn(2026, 3, 2, 8), True), (vn(2026, 3, 2, 11, 59), True),
    (vn(2026, 3, 2, 12), False), (vn(2026, 3, 2, 12, 59), False), (vn(2026, 3, 2, 13), True),
    (vn(2026, 3, 2, 16, 59), True), (vn(2026, 3, 2, 17), False), (vn(2026, 3, 7, 10), False),
    (vn(2026, 1, 10, 10), True), (vn(2026, 2, 17, 10), False), (vn(2025, 9, 1, 10), False),
    (datetime(2026, 3, 2, 2, 30, tzinfo=UTC), True),  # 09:30 in Vietnam
])
def test_is_working_time(moment: datetime, expected: bool) -> None:
    assert is_working_time(moment, CAL) is expected


def test_working_hours_come_from_configuration() -> None:
    cal = CAL.with_hours([("07:30", "11:30"), ("13:30", "17:30")])
    assert add_working_seconds(vn(2026, 3, 2, 7), 8 * H, cal) == vn(2026, 3, 2, 17, 30)
    assert cal.is_working_time(vn(2026, 3, 2, 7, 45)) and not CAL.is_working_time(vn(2026, 3, 2, 7, 45))


# --- the shipped data ---------------------------------------------------------------------------------------------


def test_shipped_calendar_covers_2025_to_2027_and_marks_what_is_unverified() -> None:
    data = raw_calendar()
    assert all(CAL.covers(y) for y in (2025, 2026, 2027)) and not CAL.covers(2028)
    assert data["working_hours"] == [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}]
    for year in data["years"].values():
        entries = year["days_off"] + year["working_days"]
        assert all(e["source"] for e in entries)
        if not all(e["verified"] for e in entries):
            assert year["verified"] is False  # a year with one guess in it is not verified as a whole
    assert data["years"]["2027"]["verified"] is False


def test_shipped_days_off_fall_on_weekdays_and_make_up_days_on_saturdays() -> None:
    for year in raw_calendar()["years"].values():
        assert all(date.fromisoformat(d["date"]).isoweekday() <= 5 for d in year["days_off"])
        assert all(date.fromisoformat(d["date"]).isoweekday() == 6 for d in year["working_days"])


def test_calendar_round_trips_through_its_dict_form() -> None:
    again = Calendar.from_dict(CAL.to_dict())
    assert again == CAL and again.to_dict() == CAL.to_dict()
    assert CAL.day_off(date(2026, 2, 17)).name == "Tết Nguyên đán (mùng 1 tháng Giêng)"


def _edited(change) -> dict:
    data = copy.deepcopy(raw_calendar())
    change(data)
    return data


@pytest.mark.parametrize(("change", "code"), [
    (lambda d: d.update(working_hours=[{"start": "08:00", "end": "12:30"}, {"start": "12:00", "end": "17:00"}]),
     "CALENDAR_HOURS_OVERLAP"),
    (lambda d: d.update(working_hours=[{"start": "13:00", "end": "17:00"}, {"start": "08:00", "end": "12:00"}]),
     "CALENDAR_HOURS_UNSORTED"),
    (lambda d: d.update(working_hours=[{"start": "12:00", "end": "08:00"}]), "CALENDAR_HOURS_INVALID"),
    (lambda d: d.update(working_hours=[]), "CALENDAR_HOURS_INVALID"),
    (lambda d: d.update(working_hours=[{"start": "8:00", "end": "12:00"}]), "CALENDAR_TIME_INVALID"),
    (lambda d: d.update(working_hours=[{"start": "08:00", "end": "24:00"}]), "CALENDAR_TIME_INVALID"),
    (lambda d: d.update(working_weekdays=[0, 1]), "CALENDAR_WEEKDAYS_INVALID"),
    (lambda d: d.update(working_weekdays=[]), "CALENDAR_WEEKDAYS_INVALID"),
    (lambda d: d.update(timezone="+08:00"), "CALENDAR_TIMEZONE"),
    (lambda d: d["years"]["2026"]["days_off"].append({"date": "2026-02-30", "name": "x"}), "CALENDAR_DATE_INVALID"),
    (lambda d: d["years"]["2026"]["days_off"].append({"date": "2027-03-01", "name": "x"}),
     "CALENDAR_DATE_WRONG_YEAR"),
    (lambda d: d["years"]["2026"]["days_off"].append({"date": "2026-02-17", "name": "x"}), "CALENDAR_DATE_DUPLICATE"),
    (lambda d: d["years"]["2026"]["days_off"].append({"date": "2026-01-10", "name": "x"}), "CALENDAR_DAY_CONFLICT"),
    (lambda d: d["years"]["2026"]["working_days"].append({"date": "2026-03-04", "name": "x"}),
     "CALENDAR_SWAP_NOT_REST_DAY"),
    (lambda d: d["years"]["2026"]["days_off"].append({"date": "2026-03-04", "name": " "}), "CALENDAR_DAY_NAME"),
    (lambda d: d["years"].update({"26": {}}), "CALENDAR_YEAR_INVALID"),
    (lambda d: d.update(years=[]), "CALENDAR_INVALID"),
])
def test_operator_edits_are_validated(change, code: str) -> None:
    with pytest.raises(InvalidValueError) as err:
        Calendar.from_dict(_edited(change))
    assert err.value.code == code and err.value.message


def test_an_operator_can_add_a_day_off_and_it_moves_the_due_time() -> None:
    data = _edited(lambda d: d["years"]["2026"]["days_off"].append(
        {"date": "2026-03-03", "name": "Nghỉ đột xuất", "verified": True, "source": "test"}))
    cal = Calendar.from_dict(data)
    assert add_working_seconds(vn(2026, 3, 2, 17), 8 * H, cal) == vn(2026, 3, 4, 17)


# --- the paused clock ---------------------------------------------------------------------------------------------

RUNNING = {"submitted", "processing"}


def clock(*steps: tuple[str, datetime]) -> SlaClock:
    return SlaClock.from_transitions(steps, running_statuses=RUNNING, calendar=CAL)


def test_clock_stops_while_waiting_for_the_requester_and_resumes() -> None:
    sla = clock(("submitted", vn(2026, 3, 2, 9)), ("waiting_requester", vn(2026, 3, 2, 11)),
                ("processing", vn(2026, 3, 3, 10)))
    paused_at = vn(2026, 3, 2, 16)
    assert sla.elapsed_seconds(paused_at) == 2 * H and not sla.is_running(paused_at)
    assert sla.due_at(paused_at) is None  # depends on when the requester answers
    assert sla.elapsed_seconds(vn(2026, 3, 3, 9, 59)) == 2 * H  # a paused night and morning cost nothing
    now = vn(2026, 3, 3, 12)
    assert sla.elapsed_seconds(now) == 4 * H and sla.remaining_seconds(now) == 4 * H
    assert sla.due_at(now) == vn(2026, 3, 3, 17)
    assert sla.status(now).percent_used == 50.0


def test_exactly_eight_hours_is_due_not_overdue_and_a_minute_more_is_overdue() -> None:
    sla = clock(("submitted", vn(2026, 3, 2, 8)))
    at_due = sla.status(vn(2026, 3, 2, 17))
    assert (at_due.elapsed_seconds, at_due.remaining_seconds, at_due.percent_used) == (8 * H, 0, 100.0)
    assert not at_due.overdue and at_due.due_at == vn(2026, 3, 2, 17)
    assert sla.status(vn(2026, 3, 2, 23)).overdue is False  # the evening is not working time
    late = sla.status(vn(2026, 3, 3, 8, 1))
    assert late.overdue and late.remaining_seconds == -60 and late.due_at == vn(2026, 3, 2, 17)


def test_the_75_percent_point() -> None:
    sla = clock(("submitted", vn(2026, 3, 2, 8)))
    assert sla.point_at(75, vn(2026, 3, 2, 9)) == vn(2026, 3, 2, 15)
    assert sla.percent_used(vn(2026, 3, 2, 15)) == 75.0
    assert sla.percent_used(vn(2026, 3, 2, 14, 59)) < 75.0


def test_the_75_percent_point_across_a_pause_and_a_weekend() -> None:
    sla = clock(("submitted", vn(2026, 3, 6, 14)), ("waiting_requester", vn(2026, 3, 6, 16)),
                ("processing", vn(2026, 3, 9, 9)))
    # 2 h on Friday, paused, resumed Monday 09:00: 4 h more reach 75 % at 14:00 (after lunch)
    assert sla.point_at(75, vn(2026, 3, 9, 9)) == vn(2026, 3, 9, 14)
    assert sla.due_at(vn(2026, 3, 9, 9)) == vn(2026, 3, 9, 16)


def test_a_finished_request_keeps_its_reading_and_a_late_one_its_breach_time() -> None:
    on_time = clock(("submitted", vn(2026, 3, 2, 8)), ("done", vn(2026, 3, 2, 12)))
    assert on_time.elapsed_seconds(vn(2026, 3, 20, 12)) == 4 * H and on_time.due_at(vn(2026, 3, 20)) is None
    late = clock(("submitted", vn(2026, 3, 2, 8)), ("done", vn(2026, 3, 3, 10)))
    assert late.status(vn(2026, 3, 20)).overdue and late.due_at(vn(2026, 3, 20)) == vn(2026, 3, 2, 17)


def test_the_clock_can_be_read_as_it_stood_in_the_past() -> None:
    sla = clock(("submitted", vn(2026, 3, 2, 8)), ("waiting_requester", vn(2026, 3, 2, 10)),
                ("processing", vn(2026, 3, 2, 14)))
    assert sla.elapsed_seconds(vn(2026, 3, 2, 9)) == H and sla.is_running(vn(2026, 3, 2, 9))
    assert sla.elapsed_seconds(vn(2026, 3, 2, 7)) == 0 and sla.due_at(vn(2026, 3, 2, 7)) is None


def test_clock_across_tet_counts_nothing_during_the_holiday() -> None:
    sla = clock(("submitted", vn(2026, 2, 13, 10)))
    assert sla.elapsed_seconds(vn(2026, 2, 22, 23)) == 6 * H
    assert sla.due_at(vn(2026, 2, 20, 12)) == vn(2026, 2, 23, 10)


def test_out_of_order_history_and_a_non_positive_budget_are_refused() -> None:
    with pytest.raises(ValueError):
        clock(("submitted", vn(2026, 3, 2, 10)), ("processing", vn(2026, 3, 2, 9)))
    with pytest.raises(ValueError):
        SlaClock.from_transitions([], running_statuses=RUNNING, calendar=CAL, budget_seconds=0)
