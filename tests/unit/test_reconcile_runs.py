"""M14 §2 settlement runs through in-memory fakes: every category found with its totals, actions applied once,
the same file twice is the same run, a corrected file supersedes, an incomplete file is refused whole, the cut-off
allowance, test payments left out, operators' resolution audited once, the 10:00 late-file check."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest

from chalicelib.core.clock import VN_TZ, FixedClock
from chalicelib.core.errors import AppError
from chalicelib.payments.services.bank_results import BankResult, apply_bank_result
from chalicelib.payments.services.intake import ingest_notices
from chalicelib.payments.services.payment_requests import initiate_payment
from chalicelib.reconciliation.adapters import settlement_formats
from chalicelib.reconciliation.domain.runs import FileRef, RunStatus, Trigger, settlement_key
from chalicelib.reconciliation.domain.settlement import SettlementLine, settlement_file_name, write_settlement
from chalicelib.reconciliation.services import operators
from chalicelib.reconciliation.services.runs import reconcile
from tests.fakes import make_services, payment_body, sample_batch, sample_notice
from tests.fakes_reconciliation import InMemoryRunStore, LedgerPortalDay, MemoryFiles

BANK = "BIDV"
D = date(2026, 5, 20)
EVENT = Trigger(source="s3_event", by="system")


def at(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=VN_TZ)


class World:
    """Payments at the portal (made through the real use cases) and the bank's files built from them."""

    def __init__(self, amounts: dict[str, int], bank_of: dict[str, str] | None = None) -> None:
        self.svc = make_services(clock=FixedClock(at(D, 8)))
        self.svc.runs = InMemoryRunStore(self.svc.outbox)
        self.svc.portal = LedgerPortalDay(self.svc.ledger)
        self.svc.settlement_files = MemoryFiles()
        self.svc.settlement_formats = settlement_formats
        ingest_notices(self.svc, sample_batch(*(sample_notice(n, amount=a) for n, a in amounts.items())))
        self.ids = {n: initiate_payment(self.svc, payment_body(n, (bank_of or {}).get(n, BANK)), None,
                                        None)[1]["payment_id"] for n in amounts}
        self.amounts = amounts
        self.refs: dict[str, str] = {}

    def pay(self, notice: str, paid_at: datetime, ref: str | None = None) -> str:
        pid = self.ids[notice]
        self.refs[notice] = ref or f"FT{len(self.refs):010d}"
        apply_bank_result(self.svc, BankResult(BANK, pid, self.refs[notice], self.amounts[notice], "VND", True,
                                               paid_at.isoformat()))
        return pid

    def line(self, notice: str, day: date, paid_at: datetime, **over) -> SettlementLine:
        fields = dict(line_no=0, settlement_date=day, bank_code=BANK, bank_txn_ref=self.refs.get(notice, "FTX"),
                      payment_id=self.ids.get(notice, notice), amount_vnd=self.amounts.get(notice, 500_000),
                      currency="VND", paid_at=paid_at, status="SUCCESS")
        return SettlementLine(**{**fields, **over})

    def deliver(self, day: date, lines, trailer="auto") -> FileRef:
        fmt = settlement_formats.format_for_bank(BANK)
        out = io.StringIO(newline="")
        write_settlement(lines, fmt, out, trailer=trailer)
        return self.svc.settlement_files.put(settlement_key(BANK, day, settlement_file_name(BANK, day, fmt)),
                                             out.getvalue().encode())

    def run(self, day: date, ref: FileRef, **kw):
        return reconcile(self.svc, BANK, day, ref, EVENT, **kw)

    def payment(self, notice: str):
        return self.svc.ledger.get_payment(self.ids[notice])

    def discrepancies(self, run):
        return {d.payment_id: d for d in self.svc.runs.all_discrepancies(run.run_id)}


AMOUNTS = {"N-MATCH": 1_000_000, "N-LATE": 2_000_000, "N-GONE": 3_000_000, "N-AMOUNT": 4_000_000,
           "N-REVERSED": 5_000_000, "N-TWICE": 6_000_000, "N-UNPAID": 7_000_000, "N-NOTYET": 8_000_000}


@pytest.fixture
def world() -> World:
    """D-1: N-LATE paid at 23:59:58 and N-GONE paid, both missing from D-1's file (held for D). D: every other
    category planted once. N-VCB is a payment started at another bank."""
    w = World({**AMOUNTS, "N-VCB": 900_000}, {"N-VCB": "VCB"})
    prev = D - timedelta(days=1)
    w.pay("N-LATE", at(prev, 23, 59, 58))
    w.pay("N-GONE", at(prev, 15))
    first = w.run(prev, w.deliver(prev, []))
    assert first.counts["PENDING_NEXT_DAY"] == 2 and first.anomalies == 0
    for notice, hour in (("N-MATCH", 9), ("N-AMOUNT", 10), ("N-REVERSED", 11), ("N-TWICE", 12), ("N-NOTYET", 14)):
        w.pay(notice, at(D, hour))
    w.refs["N-UNPAID"] = "FTUNPAID01"  # the bank took it; the callback never arrived
    w.lines = [
        w.line("N-MATCH", D, at(D, 9)),
        w.line("N-LATE", D, at(prev, 23, 59, 58)),  # settled a day later by the bank: matched, not missing
        w.line("N-AMOUNT", D, at(D, 10), amount_vnd=4_001_000),
        w.line("N-REVERSED", D, at(D, 11), status="REVERSED"),
        w.line("N-TWICE", D, at(D, 12)),
        w.line("N-TWICE", D, at(D, 12, 1), bank_txn_ref="FTSECOND01"),
        w.line("N-UNPAID", D, at(D, 13)),
        w.line("PAYH35UNKNOWN0000000000000000", D, at(D, 13, 30), bank_txn_ref="FTUNKNOWN1", amount_vnd=500_000),
    ]
    return w


def test_every_category_is_found_once_with_its_totals(world):
    run = world.run(D, world.deliver(D, world.lines))

    assert run.status is RunStatus.COMPLETED and run.line_count == 8
    expected = {"MATCHED": 3, "MISSING_AT_PORTAL": 2, "MISSING_AT_BANK": 1, "AMOUNT_MISMATCH": 1,
                "DUPLICATE_AT_BANK": 1, "STATUS_MISMATCH": 1, "PENDING_NEXT_DAY": 1}
    assert run.counts == expected
    assert run.totals_vnd == {"MATCHED": 1_000_000 + 2_000_000 + 6_000_000, "MISSING_AT_PORTAL": 7_000_000 + 500_000,
                              "MISSING_AT_BANK": 3_000_000, "AMOUNT_MISMATCH": 4_001_000,
                              "DUPLICATE_AT_BANK": 6_000_000, "STATUS_MISMATCH": 5_000_000,
                              "PENDING_NEXT_DAY": 8_000_000}
    assert run.anomalies == 6
    found = world.discrepancies(run)
    assert found[world.ids["N-GONE"]].category.value == "MISSING_AT_BANK"
    assert found[world.ids["N-NOTYET"]].category.value == "PENDING_NEXT_DAY"
    assert world.ids["N-LATE"] not in found and world.ids["N-MATCH"] not in found
    assert found["PAYH35UNKNOWN0000000000000000"].action is None  # unknown: an anomaly, nothing to apply


def test_known_payment_the_bank_settled_gets_its_receipt_once_through_the_bank_result_use_case(world):
    run = world.run(D, world.deliver(D, world.lines))

    unpaid = world.payment("N-UNPAID")
    assert unpaid.state.value == "PAID" and unpaid.receipt_id and unpaid.bank_txn_ref == "FTUNPAID01"
    assert unpaid.history[-1]["origin"] == "reconciliation"
    assert world.discrepancies(run)[unpaid.payment_id].action.value == "APPLIED"
    assert run.actions == {"APPLIED": 1, "REFUND_REQUIRED": 1}
    assert sum(1 for r in world.svc.ledger.receipts if r.payment_id == unpaid.payment_id) == 1


def test_second_bank_transaction_is_marked_refund_required(world):
    run = world.run(D, world.deliver(D, world.lines))

    twice = world.payment("N-TWICE")
    assert twice.refund_required and twice.extra_bank_txn_refs == ["FTSECOND01"]
    assert world.discrepancies(run)[twice.payment_id].action.value == "REFUND_REQUIRED"


def test_one_operator_alert_with_the_counts(world):
    world.svc.alerts.published.clear()
    world.run(D, world.deliver(D, world.lines))

    alerts = [a for a in world.svc.alerts.published if a[0] == "SETTLEMENT_DISCREPANCIES"]
    assert len(alerts) == 1
    details = alerts[0][2]
    assert details["counts"]["AMOUNT_MISMATCH"] == 1 and "MATCHED" not in details["counts"]
    assert details["totals_vnd"]["MISSING_AT_BANK"] == 3_000_000


def test_the_same_file_twice_is_the_same_run_and_applies_nothing_twice(world):
    ref = world.deliver(D, world.lines)
    first = world.run(D, ref)
    receipts, history = len(world.svc.ledger.receipts), world.payment("N-TWICE").history
    alerts = len(world.svc.alerts.published)

    again = world.run(D, world.deliver(D, world.lines))  # the same bytes delivered again (a new S3 version)

    assert again.run_id == first.run_id and again.counts == first.counts
    assert len(world.svc.ledger.receipts) == receipts and world.payment("N-TWICE").history == history
    assert len(world.svc.alerts.published) == alerts
    assert len(world.svc.runs.runs) == 2  # D-1 and D


def test_a_corrected_file_supersedes_the_run_and_both_are_kept(world):
    first = world.run(D, world.deliver(D, world.lines))
    corrected = [line for line in world.lines if line.status != "REVERSED" and line.amount_vnd != 4_001_000]
    corrected += [world.line("N-AMOUNT", D, at(D, 10)), world.line("N-REVERSED", D, at(D, 11))]

    second = world.run(D, world.deliver(D, corrected))

    assert second.run_id != first.run_id and second.supersedes == first.run_id
    assert world.svc.runs.get(first.run_id).superseded_by == second.run_id
    assert world.svc.runs.current(BANK, D).run_id == second.run_id
    assert second.counts["AMOUNT_MISMATCH"] == 0 and second.counts["STATUS_MISMATCH"] == 0
    # What the first run applied now matches; nothing is applied a second time.
    assert second.counts["MISSING_AT_PORTAL"] == 1 and second.actions == {"ALREADY_APPLIED": 1}
    assert sum(1 for r in world.svc.ledger.receipts if r.payment_id == world.ids["N-UNPAID"]) == 1


@pytest.mark.parametrize("trailer", [None, (7, 41_001_000), "bad"], ids=["missing", "wrong", "malformed"])
def test_an_incomplete_file_is_refused_whole_and_nothing_is_classified(world, trailer):
    if trailer == "bad":
        fmt = settlement_formats.format_for_bank(BANK)
        out = io.StringIO(newline="")
        write_settlement(world.lines, fmt, out, trailer=None)
        ref = world.svc.settlement_files.put(settlement_key(BANK, D, settlement_file_name(BANK, D, fmt)),
                                             (out.getvalue() + "TRAILER,eight\r\n").encode())
    else:
        ref = world.deliver(D, world.lines, trailer=trailer)
    run = world.run(D, ref)

    assert run.status is RunStatus.REFUSED and run.error.code.startswith("SETTLEMENT_TRAILER")
    assert sum(run.counts.values()) == 0 and world.svc.runs.all_discrepancies(run.run_id) == []
    assert world.payment("N-UNPAID").state.value != "PAID"  # nothing applied from a truncated file
    assert world.svc.runs.current(BANK, D) is None
    assert any(a[0] == "SETTLEMENT_FILE_REFUSED" for a in world.svc.alerts.published)
    assert world.run(D, ref).run_id == run.run_id  # the same refused file is the same (refused) run


def test_test_payments_are_left_out(world):
    pid = world.ids["N-NOTYET"]
    stored = world.payment("N-NOTYET").model_copy(update={"test": True})
    world.svc.ledger._payments[pid] = stored.model_dump_json()  # a province's self-test payment

    run = world.run(D, world.deliver(D, [*world.lines, world.line("N-NOTYET", D, at(D, 14))]))

    assert pid not in world.discrepancies(run)
    assert run.excluded_test_lines == 1 and run.counts["PENDING_NEXT_DAY"] == 0


def test_a_payment_of_another_bank_is_unknown_to_this_banks_day_and_never_applied(world):
    run = world.run(D, world.deliver(D, [*world.lines, world.line("N-VCB", D, at(D, 15), bank_txn_ref="FTVCB00001")]))

    found = world.discrepancies(run)[world.ids["N-VCB"]]
    assert found.category.value == "MISSING_AT_PORTAL" and found.portal_state is None
    assert found.reason == "payment_of_bank_vcb" and found.action is None
    assert world.payment("N-VCB").state.value != "PAID"


def test_an_operator_resolves_a_discrepancy_once_with_an_audited_note(world):
    run = world.run(D, world.deliver(D, world.lines))
    key = world.discrepancies(run)[world.ids["N-AMOUNT"]].key

    done = operators.resolve_discrepancy(world.svc, "op-1", run.run_id, key, {"note": "Ngân hàng đã xác nhận"})

    assert done["status"] == "RESOLVED" and done["resolution"]["by"] == "op-1"
    assert world.svc.runs.audits[-1]["note"] == "Ngân hàng đã xác nhận"
    with pytest.raises(AppError) as again:
        operators.resolve_discrepancy(world.svc, "op-2", run.run_id, key, {"note": "lần hai"})
    assert again.value.code == "DISCREPANCY_ALREADY_RESOLVED" and again.value.status == 409
    with pytest.raises(AppError) as missing:
        operators.resolve_discrepancy(world.svc, "op-2", run.run_id, "L000000099", {"note": "không có"})
    assert missing.value.code == "DISCREPANCY_NOT_FOUND"


def test_a_rerun_is_a_new_run_of_the_stored_file(world):
    first = world.run(D, world.deliver(D, world.lines))

    again = operators.rerun(world.svc, "op-1", {"bank_code": BANK, "settlement_date": D.isoformat()})

    assert again["run_id"] != first.run_id and again["rerun_of"] == first.run_id
    assert again["supersedes"] == first.run_id and again["trigger"] == {"source": "operator", "by": "op-1"}
    # Against the ledger as it is now: what the first run applied matches, nothing is applied twice.
    assert again["counts"]["MATCHED"] == 4 and again["actions"] == {"ALREADY_APPLIED": 1}
    assert world.svc.runs.current(BANK, D).run_id == again["run_id"]


def test_a_rerun_without_a_stored_file_is_refused(world):
    with pytest.raises(AppError) as refused:
        operators.rerun(world.svc, "op-1", {"bank_code": "VCB", "settlement_date": D.isoformat()})
    assert refused.value.code == "SETTLEMENT_FILE_NOT_FOUND" and refused.value.status == 404


def test_late_check_alerts_once_per_bank_and_runs_a_file_whose_event_was_lost(world):
    world.svc.clock = FixedClock(at(D + timedelta(days=1), 9, 59))
    assert operators.check_late_files(world.svc) == []  # before 10:00 nothing is late
    world.deliver(D, world.lines)  # landed, but no run (its event was lost)
    world.svc.clock = FixedClock(at(D + timedelta(days=1), 10, 0))

    first = operators.check_late_files(world.svc)
    again = operators.check_late_files(world.svc)

    ran = [r for r in first if r["bank_code"] == BANK]
    assert ran and ran[0]["status"] == "COMPLETED"
    late = sorted(r["bank_code"] for r in first if r.get("late"))
    assert late == ["ICB", "MB", "VBA", "VCB"]
    assert again == []
    assert [a[0] for a in world.svc.alerts.published].count("SETTLEMENT_FILE_LATE") == 4
