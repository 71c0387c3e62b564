"""The payment state machine, payment ids and receipt numbering: pure domain rules."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import product

import pytest

from chalicelib.payments.domain.payments import (
    LIVE_STATES,
    TRANSITIONS,
    IllegalTransitionError,
    Payment,
    PaymentState,
    can_transition,
    check_transition,
    collecting_unit_of_province,
    is_payment_id,
    new_payment_id,
    province_of_payment,
)
from chalicelib.receipts.domain import format_receipt_number, receipt_id_for, series_for

S = PaymentState
# The specification's table, written out independently of the code: CREATED -> PENDING_BANK -> PAID | FAILED |
# EXPIRED | CANCELLED, and a bank SUCCESS after our EXPIRED/CANCELLED still records the money (-> PAID).
LEGAL = {
    (S.CREATED, S.PENDING_BANK), (S.CREATED, S.PAID), (S.CREATED, S.FAILED), (S.CREATED, S.EXPIRED),
    (S.CREATED, S.CANCELLED),
    (S.PENDING_BANK, S.PAID), (S.PENDING_BANK, S.FAILED), (S.PENDING_BANK, S.EXPIRED), (S.PENDING_BANK, S.CANCELLED),
    (S.EXPIRED, S.PAID),
    (S.CANCELLED, S.PAID),
}
ALL_PAIRS = list(product(PaymentState, PaymentState))
ULID = "01HZX4Y9Q2M7K8V3T6R5W0N1PQ"


def test_the_table_covers_every_state():
    assert set(TRANSITIONS) == set(PaymentState)
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == LEGAL


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS, ids=[f"{a.value}->{b.value}" for a, b in ALL_PAIRS])
def test_every_pair_of_states_is_legal_exactly_as_in_the_table(current, target):
    if (current, target) in LEGAL:
        assert can_transition(current, target)
        check_transition(current, target)
    else:
        assert not can_transition(current, target)
        with pytest.raises(IllegalTransitionError) as exc:
            check_transition(current, target)
        assert (exc.value.current, exc.value.target) == (current, target)
        assert current.value in str(exc.value) and target.value in str(exc.value)


@pytest.mark.parametrize("final", [S.PAID, S.FAILED])
def test_paid_and_failed_are_final(final):
    assert TRANSITIONS[final] == frozenset()


def test_live_states_are_created_and_pending_bank():
    assert {S.CREATED, S.PENDING_BANK} == LIVE_STATES


def _payment(state: PaymentState, expires_at: int = 1_000) -> Payment:
    return Payment(payment_id=new_payment_id("H35", ULID), state=state, dossier_code="000.00.43.H35-210520-0001",
                   notice_number="TB-1", notice_version=1, amount_vnd=1, bank_code="BIDV",
                   collecting_unit="000.00.00.H35", payer_name="A", items=[], created_at="", expires_at=expires_at)


@pytest.mark.parametrize("state", sorted(LIVE_STATES, key=lambda s: s.value))
def test_live_payment_expires_at_its_expiry_time(state):
    p = _payment(state, expires_at=1_000)

    assert p.effective_state(999) == state
    assert p.effective_state(1_000) == S.EXPIRED
    assert p.effective_state(5_000) == S.EXPIRED
    assert p.state == state  # reading never mutates the stored state


@pytest.mark.parametrize("state", [S.PAID, S.FAILED, S.CANCELLED, S.EXPIRED])
def test_ended_payment_keeps_its_state_after_expiry(state):
    assert _payment(state, expires_at=1_000).effective_state(10_000) == state


# -- payment ids -------------------------------------------------------------------------------------------------
def test_payment_id_carries_the_province_and_round_trips():
    pid = new_payment_id("H35", ULID)

    assert pid == "PAYH35" + ULID
    assert is_payment_id(pid)
    assert province_of_payment(pid) == "H35"
    assert collecting_unit_of_province(province_of_payment(pid)) == "000.00.00.H35"


@pytest.mark.parametrize("value", [
    "", None, "PAY", "PAYH35", "PAYH35" + ULID[:-1], "PAYH35" + ULID + "0", "payh35" + ULID, "PAYH35" + ULID.lower(),
    "PAYH5" + ULID, "PAY135" + ULID, "RCPH35" + ULID, "PAYH35" + ULID[:-1] + "I", "PAYH35" + ULID[:-1] + "L",
    "PAYH35" + ULID[:-1] + "O", "PAYH35" + ULID[:-1] + "U", " PAYH35" + ULID,
])
def test_malformed_payment_ids_are_refused(value):
    assert not is_payment_id(value)


def test_payment_id_with_a_trailing_newline_is_refused():
    assert not is_payment_id("PAYH35" + ULID + "\n")


def test_province_of_a_malformed_payment_id_raises():
    with pytest.raises(ValueError):
        province_of_payment("PAY-not-an-id")


def test_real_ulids_make_valid_payment_ids():
    from chalicelib.core.clock import new_ulid

    ids = {new_payment_id("H49", new_ulid()) for _ in range(200)}
    assert len(ids) == 200
    assert all(is_payment_id(i) and province_of_payment(i) == "H49" for i in ids)


# -- receipts ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("sequence", "number"), [(1, "0000001"), (42, "0000042"), (9_999_999, "9999999")])
def test_receipt_number_is_seven_zero_padded_digits(sequence, number):
    assert format_receipt_number(sequence) == number


@pytest.mark.parametrize("sequence", [0, -1, 10_000_000, 10**9])
def test_receipt_number_out_of_range_is_refused(sequence):
    with pytest.raises(ValueError):
        format_receipt_number(sequence)


@pytest.mark.parametrize(("pattern", "year", "series"), [
    ("BI-{yy}T", 2026, "BI-26T"),
    ("BI-{yy}T", 2005, "BI-05T"),
    ("BI-{yy}T", 2100, "BI-00T"),
    ("BL/{yyyy}", 2026, "BL/2026"),
    ("BLP", 2026, "BLP"),
])
def test_series_follows_the_pattern_and_year_of_issue(pattern, year, series):
    assert series_for(pattern, datetime(year, 1, 1, tzinfo=timezone(timedelta(hours=7)))) == series


def test_receipt_id_is_derived_from_the_payment_id():
    pid = new_payment_id("H35", ULID)

    assert receipt_id_for(pid) == "RCPH35" + ULID
    assert receipt_id_for(pid) == receipt_id_for(pid)  # one receipt per payment, by construction
    assert receipt_id_for(new_payment_id("H35", "0" * 26)) != receipt_id_for(pid)
    assert receipt_id_for("X1") == "RCPX1"
