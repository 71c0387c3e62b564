"""Settlement matching: one finding per bank line and per paid payment the file lacks, with the right totals."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from chalicelib.reconciliation.domain.matching import Category, PortalPayment, Totals, classify
from chalicelib.reconciliation.domain.settlement import SettlementLine

VN = timezone(timedelta(hours=7))
D = date(2026, 11, 30)
C = Category
_lines = iter(range(2, 10_000))


def at(hour: int, minute: int = 0, second: int = 0, day: date = D) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=VN)


def line(payment_id: str, ref: str, amount: int, status: str = "SUCCESS", paid_at: datetime | None = None):
    return SettlementLine(next(_lines), D, "VCB", ref, payment_id, amount, "VND", paid_at or at(10), status)


def paid(payment_id: str, ref: str | None, amount: int, paid_at: datetime | None = None, test: bool = False):
    return PortalPayment(payment_id, "PAID", amount, ref, paid_at or at(10), test)


def run(lines, portal, others=None, previous=None):
    others = others or {}
    findings = list(classify(lines, {p.payment_id: p for p in portal}, others.get, previous))
    return findings, Totals.of(findings)


def categories(findings):
    return [(f.category, f.payment_id) for f in findings]


def test_matched():
    findings, totals = run([line("P1", "FT1", 1_378_500)], [paid("P1", "FT1", 1_378_500)])
    assert categories(findings) == [(C.MATCHED, "P1")]
    assert (totals.counts[C.MATCHED], totals.vnd[C.MATCHED], totals.anomalies) == (1, 1_378_500, 0)


def test_one_planted_discrepancy_of_every_category_is_found_exactly_with_totals():
    portal = [
        paid("OK", "FT1", 100_000),
        paid("AMT", "FT2", 200_000),
        paid("DUP", "FT3", 300_000),
        paid("REV", "FT4", 400_000),
        paid("GONE", "FT5", 500_000),  # not in D's file: held for D+1
        paid("LATE", "FT6", 600_000, paid_at=at(23, 59, 58)),  # paid at 23:59:58: settles on D+1
        PortalPayment("LOST", "EXPIRED", 700_000),  # the citizen paid, the callback was lost, we expired it
        paid("TEST", "FT8", 1_000, test=True),  # a test payment: never reported missing
    ]
    lines = [
        line("OK", "FT1", 100_000),
        line("AMT", "FT2", 200_500),
        line("DUP", "FT3", 300_000),
        line("DUP", "FT3B", 300_000, paid_at=at(10, 1)),
        line("REV", "FT4", 400_000, status="REVERSED"),
        line("LOST", "FT7", 700_000),
        line("STRANGER", "FT9", 900_000),
    ]
    yesterday_pending = {"OLD": paid("OLD", "FT0", 50_000, paid_at=at(23, 59, 59, D - timedelta(days=1)))}
    findings, totals = run(lines, portal, previous=yesterday_pending)
    by_payment = {(f.category, f.payment_id): f for f in findings}
    assert sorted(by_payment) == sorted([
        (C.MATCHED, "OK"), (C.AMOUNT_MISMATCH, "AMT"), (C.MATCHED, "DUP"), (C.DUPLICATE_AT_BANK, "DUP"),
        (C.STATUS_MISMATCH, "REV"), (C.MISSING_AT_PORTAL, "LOST"), (C.MISSING_AT_PORTAL, "STRANGER"),
        (C.PENDING_NEXT_DAY, "GONE"), (C.PENDING_NEXT_DAY, "LATE"), (C.MISSING_AT_BANK, "OLD"),
    ])
    assert len(findings) == 10  # nothing twice, TEST nowhere
    assert by_payment[(C.DUPLICATE_AT_BANK, "DUP")].refund_required
    assert by_payment[(C.DUPLICATE_AT_BANK, "DUP")].bank_txn_ref == "FT3B"
    assert by_payment[(C.MISSING_AT_PORTAL, "LOST")].known and by_payment[(C.MISSING_AT_PORTAL, "LOST")].reason == \
        "portal_state_expired"
    assert not by_payment[(C.MISSING_AT_PORTAL, "STRANGER")].known
    amt = by_payment[(C.AMOUNT_MISMATCH, "AMT")]
    assert (amt.bank_amount_vnd, amt.portal_amount_vnd) == (200_500, 200_000)
    assert by_payment[(C.STATUS_MISMATCH, "REV")].reason == "reversed_paid"
    assert totals.counts == {C.MATCHED: 2, C.AMOUNT_MISMATCH: 1, C.DUPLICATE_AT_BANK: 1, C.STATUS_MISMATCH: 1,
                             C.MISSING_AT_PORTAL: 2, C.PENDING_NEXT_DAY: 2, C.MISSING_AT_BANK: 1}
    assert totals.vnd == {C.MATCHED: 400_000, C.AMOUNT_MISMATCH: 200_500, C.DUPLICATE_AT_BANK: 300_000,
                          C.STATUS_MISMATCH: 400_000, C.MISSING_AT_PORTAL: 1_600_000, C.PENDING_NEXT_DAY: 1_100_000,
                          C.MISSING_AT_BANK: 50_000}
    assert totals.anomalies == 6


def test_a_payment_at_235958_is_pending_next_day_then_matched_in_d_plus_1_not_missing_at_bank():
    late = paid("LATE", "FT6", 600_000, paid_at=at(23, 59, 58))
    day_d, _ = run([], [late])
    assert categories(day_d) == [(C.PENDING_NEXT_DAY, "LATE")]
    # D+1: the payment is not among D+1's payments, but yesterday's pending list holds it.
    next_line = SettlementLine(2, D + timedelta(days=1), "VCB", "FT6", "LATE", 600_000, "VND", at(23, 59, 58),
                               "SUCCESS")
    day_d1, _ = run([next_line], [], previous={"LATE": late})
    assert categories(day_d1) == [(C.MATCHED, "LATE")]


def test_pending_becomes_missing_at_bank_when_d_plus_1_lacks_it_too():
    late = paid("LATE", "FT6", 600_000, paid_at=at(23, 59, 58))
    findings, totals = run([], [], previous={"LATE": late})
    assert categories(findings) == [(C.MISSING_AT_BANK, "LATE")]
    assert totals.vnd[C.MISSING_AT_BANK] == 600_000


def test_a_line_about_a_payment_of_another_day_is_looked_up():
    earlier = paid("EARLY", "FT1", 10_000, paid_at=at(23, 59, 59, D - timedelta(days=1)))
    findings, _ = run([line("EARLY", "FT1", 10_000)], [], others={"EARLY": earlier})
    assert categories(findings) == [(C.MATCHED, "EARLY")]


def test_known_unpaid_payment_with_a_different_amount_is_a_mismatch_never_applied():
    findings, _ = run([line("LOST", "FT7", 699_000)], [PortalPayment("LOST", "PENDING_BANK", 700_000)])
    assert categories(findings) == [(C.AMOUNT_MISMATCH, "LOST")]


def test_settled_then_reversed_in_the_same_file_is_neither_applied_nor_refunded():
    portal = [PortalPayment("LOST", "EXPIRED", 700_000), paid("DUP", "FT3", 300_000)]
    lines = [line("LOST", "FT7", 700_000), line("DUP", "FT3", 300_000), line("DUP", "FT3B", 300_000),
             line("LOST", "FT7", 700_000, status="REVERSED"), line("DUP", "FT3B", 300_000, status="REVERSED")]
    findings, totals = run(lines, portal)
    assert totals.counts[C.MISSING_AT_PORTAL] == 0 and totals.counts[C.DUPLICATE_AT_BANK] == 0
    assert not any(f.refund_required for f in findings)
    assert totals.counts[C.STATUS_MISMATCH] == 4 and totals.counts[C.MATCHED] == 1


def test_reversal_before_the_success_line_also_stops_it():
    findings, _ = run([line("LOST", "FT7", 700_000, status="REVERSED"), line("LOST", "FT7", 700_000)],
                      [PortalPayment("LOST", "EXPIRED", 700_000)])
    assert [f.reason for f in findings] == ["reversed_unpaid", "reversed_in_file"]


def test_paid_payment_whose_only_line_has_another_reference_is_a_duplicate_and_still_pending():
    findings, _ = run([line("P1", "FTX", 100_000)], [paid("P1", "FT1", 100_000)])
    assert categories(findings) == [(C.DUPLICATE_AT_BANK, "P1"), (C.PENDING_NEXT_DAY, "P1")]


def test_the_same_reference_twice_is_a_duplicate_without_refund():
    findings, _ = run([line("P1", "FT1", 100_000), line("P1", "FT1", 100_000)], [paid("P1", "FT1", 100_000)])
    assert categories(findings) == [(C.MATCHED, "P1"), (C.DUPLICATE_AT_BANK, "P1")]
    assert findings[1].reason == "repeated_reference" and not findings[1].refund_required


def test_paid_without_a_reference_matches_the_first_line():
    findings, _ = run([line("P1", "FT1", 100_000), line("P1", "FT2", 100_000)], [paid("P1", None, 100_000)])
    assert categories(findings) == [(C.MATCHED, "P1"), (C.DUPLICATE_AT_BANK, "P1")]
    assert findings[1].refund_required


@pytest.mark.parametrize("state", ["PENDING_BANK", "CREATED", "EXPIRED", "CANCELLED", "FAILED"])
def test_unpaid_portal_payments_are_never_missing_at_bank(state):
    findings, _ = run([], [PortalPayment("P1", state, 100_000)])
    assert findings == []


def test_lookup_is_asked_once_per_payment_found_and_never_for_todays_or_yesterdays_pending():
    asked = []

    def lookup(payment_id):
        asked.append(payment_id)
        return paid("OTHER", "FT9", 1) if payment_id == "OTHER" else None

    lines = [line("P1", "FT1", 1), line("OTHER", "FT9", 1), line("OTHER", "FT9B", 1), line("X", "FTX", 1),
             line("OLD", "FT0", 1)]
    list(classify(lines, {"P1": paid("P1", "FT1", 1)}, lookup, {"OLD": paid("OLD", "FT0", 1)}))
    assert asked == ["OTHER", "X"]


def test_the_reference_number_must_be_the_payments_when_both_carry_one():
    from dataclasses import replace

    mine = replace(paid("P1", "FT1", 1_378_500), reference_number="DVC261130000000001")
    ok = replace(line("P1", "FT1", 1_378_500), reference_number="DVC261130000000001")
    assert categories(run([ok], [mine])[0]) == [(C.MATCHED, "P1")]
    other = replace(line("P1", "FT1", 1_378_500), reference_number="DVC261130000000002")
    (finding,) = run([other], [mine])[0]
    assert (finding.category, finding.reason) == (C.STATUS_MISMATCH, "reference_mismatch")
    assert categories(run([line("P1", "FT1", 1_378_500)], [mine])[0]) == [(C.MATCHED, "P1")]  # format without it
