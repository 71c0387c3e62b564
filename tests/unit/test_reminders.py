"""SMS reminders of an unpaid notice: 7 and 1 days before its due date, never in the quiet hours (21:00-07:00 Vietnam
time), once each, none once paid, opt-out honoured at once; texts within one SMS segment where possible."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time

import pytest

from chalicelib.core.clock import VN_TZ, FixedClock
from chalicelib.core.sms import sms_segments
from chalicelib.payments.services.bank_results import BankResult, apply_bank_result
from chalicelib.payments.services.intake import ingest_notices
from chalicelib.payments.services.payment_requests import initiate_payment
from chalicelib.reminders.domain import ReminderPolicy, reminder_text
from chalicelib.reminders.services import inbound_sms, send_due_reminders
from tests.fakes import AMOUNT, make_services, payment_body, sample_batch, sample_notice

RECEIVED = datetime(2026, 12, 1, 9, 0, tzinfo=VN_TZ)
DUE = "2026-12-20"
PHONE = "+84912345678"


@pytest.fixture
def svc():
    svc = make_services(clock=FixedClock(RECEIVED))
    ingest_notices(svc, sample_batch(sample_notice(due_date=DUE)))
    svc.sms.sent.clear()  # the notice SMS itself
    return svc


def at(svc, when: str) -> dict:
    svc.clock = FixedClock(datetime.fromisoformat(when).replace(tzinfo=VN_TZ))
    return send_due_reminders(svc)


def reminders_sent(svc) -> list[str]:
    return [text for phone, text in svc.sms.sent if phone == PHONE]


def test_one_reminder_seven_days_and_one_day_before_at_the_configured_hour(svc):
    assert at(svc, "2026-12-13T07:59")["sent"] == 0
    assert at(svc, "2026-12-13T08:00")["sent"] == 1
    assert at(svc, "2026-12-13T12:00")["sent"] == 0  # at most once per reminder
    assert at(svc, "2026-12-19T08:15")["sent"] == 1
    assert at(svc, "2026-12-19T20:00")["due"] == 0  # nothing left
    assert len(reminders_sent(svc)) == 2 and "20/12" in reminders_sent(svc)[0]


def test_never_in_the_quiet_hours_a_late_run_waits_for_seven_in_the_morning(svc):
    assert at(svc, "2026-12-12T21:30")["sent"] == 0  # not yet due anyway
    assert at(svc, "2026-12-13T06:59")["sent"] == 0
    assert at(svc, "2026-12-13T21:00")["postponed"] == 1  # the job was down all day: it is 21:00 now
    assert at(svc, "2026-12-14T06:59")["sent"] == 0
    assert at(svc, "2026-12-14T07:00")["sent"] == 1
    assert len(reminders_sent(svc)) == 1


def test_none_once_the_notice_is_paid(svc):
    svc.clock = FixedClock(datetime(2026, 12, 10, 10, 0, tzinfo=VN_TZ))
    status, answer = initiate_payment(svc, payment_body(), None, None)
    apply_bank_result(svc, BankResult("BIDV", answer["payment_id"], "FT1", AMOUNT, "VND", True))
    assert at(svc, "2026-12-13T08:00")["due"] == 0
    assert at(svc, "2026-12-19T08:00")["due"] == 0
    assert not [t for t in reminders_sent(svc) if "hạn" in t]  # only the paid SMS went out


def test_an_opt_out_is_honoured_at_once_even_for_a_reminder_already_waiting(svc):
    assert inbound_sms(svc, {"phone": "0912345678", "text": " tc "}) == {"action": "opted_out"}
    assert at(svc, "2026-12-13T08:00")["sent"] == 1  # the reminder's intent is written...
    assert reminders_sent(svc) == []  # ...and not sent: the outbox checks the list when sending
    assert inbound_sms(svc, {"phone": "0912345678", "text": "DK"}) == {"action": "opted_in"}
    assert at(svc, "2026-12-19T08:00")["sent"] == 1 and len(reminders_sent(svc)) == 1


def test_a_notice_arriving_late_skips_the_reminders_whose_time_has_passed():
    svc = make_services(clock=FixedClock(datetime(2026, 12, 15, 9, 0, tzinfo=VN_TZ)))
    ingest_notices(svc, sample_batch(sample_notice(due_date=DUE)))
    assert at(svc, "2026-12-19T08:00")["sent"] == 1
    assert at(svc, "2026-12-19T09:00")["due"] == 0


def test_the_days_and_hours_are_configuration():
    policy = ReminderPolicy(days_before=(3,), send_at=time(9, 30))
    svc = make_services(clock=FixedClock(RECEIVED), settings=replace(make_services().settings, reminders=policy))
    ingest_notices(svc, sample_batch(sample_notice(due_date=DUE)))
    assert at(svc, "2026-12-17T09:29")["sent"] == 0
    assert at(svc, "2026-12-17T09:30")["sent"] == 1


@pytest.mark.parametrize("notice", ["TB-2021-000123", "LTB2171317-TK0029951/TB-CCT"])
def test_reminder_texts_fit_one_unicode_segment(notice):
    for days in (7, 1):
        text = reminder_text(notice, DUE, days)
        assert sms_segments(text) == 1 and len(text) <= 70, text


def test_segments_are_counted_the_way_carriers_do():
    assert sms_segments("a" * 160) == 1 and sms_segments("a" * 161) == 2  # GSM 7-bit
    assert sms_segments("ă" * 70) == 1 and sms_segments("ă" * 71) == 2 and sms_segments("ă" * 135) == 3  # UCS-2


def test_the_paid_sms_says_how_many_segments_it_takes(svc):
    status, answer = initiate_payment(svc, payment_body(), None, None)
    apply_bank_result(svc, BankResult("BIDV", answer["payment_id"], "FT1", AMOUNT, "VND", True))
    intents = [i["intent"] for i in svc.outbox.items.values() if i["intent"].kind == "sms"]
    paid = intents[-1].payload
    assert "Biên lai" in paid["text"] and paid["segments"] == sms_segments(paid["text"]) == 2
