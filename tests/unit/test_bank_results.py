"""M4 + M5: a bank result applies once whatever the duplicates, order and concurrency; gap-free receipt series."""
from __future__ import annotations

import threading
from datetime import datetime

import pytest

from chalicelib.core.clock import VN_TZ, FixedClock
from chalicelib.core.errors import AppError
from chalicelib.payments.domain.notices import NoticeStatus
from chalicelib.payments.services.bank_results import BankResult, Outcome, apply_bank_result
from chalicelib.payments.services.intake import ingest_notices
from chalicelib.payments.services.payment_requests import cancel_payment, get_payment, initiate_payment
from chalicelib.receipts.domain import receipt_id_for
from chalicelib.receipts.units import collecting_unit
from tests.fakes import (
    AMOUNT,
    DOSSIER_CODE,
    NOTICE_NUMBER,
    FakeForwarding,
    make_services,
    payment_body,
    sample_batch,
    sample_notice,
    secret,
)

SECOND_NOTICE = "TB-2021-000124"
SECOND_AMOUNT = 25_000_000
UNIT = "000.00.00.H35"
YEAR = 2026
BIDV_NAME = "Ngân hàng TMCP Đầu tư và Phát triển Việt Nam (BIDV)"


def services(**overrides):
    svc = make_services(**overrides)
    ingest_notices(svc, sample_batch(sample_notice(), sample_notice(SECOND_NOTICE, amount=SECOND_AMOUNT)))
    return svc


@pytest.fixture
def svc():
    return services()


def start(svc, notice_number: str = NOTICE_NUMBER, bank: str = "BIDV") -> str:
    status, answer = initiate_payment(svc, payment_body(notice_number, bank), None, None)
    assert status == 201
    return answer["payment_id"]


def result(payment_id: str, success: bool = True, *, bank: str = "BIDV", amount: int = AMOUNT,
           currency: str = "VND", ref: str = "FT21140123456") -> BankResult:
    return BankResult(bank, payment_id, ref, amount, currency, success, "2026-05-20T09:05:00+07:00")


def refused(svc, res: BankResult) -> AppError:
    with pytest.raises(AppError) as exc:
        apply_bank_result(svc, res)
    return exc.value


def notice(svc, notice_number: str = NOTICE_NUMBER):
    return svc.dossiers.get(DOSSIER_CODE).notices[notice_number]


def notice_status(svc, notice_number: str = NOTICE_NUMBER) -> NoticeStatus:
    return notice(svc, notice_number).status(int(svc.clock.now().timestamp()))


def state(svc, payment_id: str) -> str:
    return svc.ledger.get_payment(payment_id).state.value


# -- report tallies ------------------------------------------------------------------------------------------------
def test_a_payment_is_tallied_once_on_its_paid_day_and_a_test_payment_never(svc):
    pid = start(svc)
    assert apply_bank_result(svc, result(pid)) == Outcome.APPLIED
    assert apply_bank_result(svc, result(pid)) == Outcome.DUPLICATE
    (tally,) = svc.ledger.tallies
    assert tally.day.isoformat() == "2026-05-20" and tally.province == "12"
    assert tally.as_dict() == {"pay|c": 1, "pay|v": AMOUNT, f"pu|{UNIT}|c": 1, f"pu|{UNIT}|v": AMOUNT, "pb|BIDV|c": 1,
                               "pb|BIDV|v": AMOUNT, "pi|2801|c": 1, "pi|2801|v": AMOUNT}
    test_pid = start(svc, SECOND_NOTICE)
    # A self-test payment (made at the test bank, paid by it alone) is never a collection.
    stored = svc.ledger.get_payment(test_pid).model_copy(update={"test": True, "bank_code": "KTHU"})
    svc.ledger._payments[test_pid] = stored.model_dump_json()
    assert apply_bank_result(svc, result(test_pid, bank="KTHU", amount=SECOND_AMOUNT, ref="FT-TEST")) == Outcome.APPLIED
    assert len(svc.ledger.tallies) == 1 and state(svc, test_pid) == "PAID"


def test_a_success_heard_by_reconciliation_keeps_its_origin(svc):
    pid = start(svc)
    res = BankResult("BIDV", pid, "FT1", AMOUNT, "VND", True, "2026-05-20T09:05:00+07:00", origin="reconciliation")
    assert apply_bank_result(svc, res) == Outcome.APPLIED
    assert svc.ledger.get_payment(pid).history[-1] == {"state": "PAID", "at": svc.clock.now().isoformat(),
                                                        "origin": "reconciliation"}


# -- success -------------------------------------------------------------------------------------------------------
def test_success_marks_the_payment_and_the_notice_paid(svc):
    pid = start(svc)

    assert apply_bank_result(svc, result(pid)) == Outcome.APPLIED

    payment = svc.ledger.get_payment(pid)
    assert payment.state.value == "PAID"
    assert payment.bank_txn_ref == "FT21140123456"
    assert payment.receipt_id == receipt_id_for(pid)
    assert notice(svc).paid_payment_id == pid
    assert notice(svc).live_payment_id is None
    assert notice_status(svc) == NoticeStatus.PAID
    assert [h["state"] for h in payment.history] == ["CREATED", "PENDING_BANK", "PAID"]


def test_success_issues_exactly_one_complete_receipt(svc):
    pid = start(svc)
    apply_bank_result(svc, result(pid))

    assert len(svc.ledger.receipts) == 1
    receipt = svc.ledger.get_receipt(receipt_id_for(pid))
    assert receipt.receipt_number == "0000001"
    assert receipt.series == "BI-26T"
    assert receipt.amount_vnd == AMOUNT
    assert receipt.amount_in_words == "Một triệu ba trăm bảy mươi tám nghìn năm trăm đồng"
    assert receipt.bank_code == "BIDV"
    assert receipt.bank_name == BIDV_NAME
    assert receipt.bank_txn_ref == "FT21140123456"
    assert receipt.paid_at == "2026-05-20T09:05:00+07:00"
    assert receipt.payer_name == "Nguyễn Thị Trang"
    assert receipt.notice_number == NOTICE_NUMBER
    assert receipt.dossier_code == DOSSIER_CODE
    assert receipt.items[0]["amount_vnd"] == AMOUNT
    assert receipt.collecting_unit_code == UNIT
    assert receipt.collecting_unit_name
    assert receipt.payment_id == pid


def test_receipt_numbers_are_gap_free_within_a_unit_and_year(svc):
    first, second = start(svc), start(svc, SECOND_NOTICE)

    apply_bank_result(svc, result(first))
    apply_bank_result(svc, result(second, amount=SECOND_AMOUNT))

    numbers = {r.payment_id: r.receipt_number for r in svc.ledger.receipts}
    assert numbers == {first: "0000001", second: "0000002"}
    assert svc.ledger.counter(UNIT, YEAR) == 2
    assert svc.ledger.get_receipt(receipt_id_for(second)).amount_in_words == "Hai mươi lăm triệu đồng"


def test_refused_and_failed_results_do_not_consume_receipt_numbers(svc):
    first, second = start(svc), start(svc, SECOND_NOTICE)
    refused(svc, result(first, amount=AMOUNT - 1))
    apply_bank_result(svc, result(first, success=False))

    apply_bank_result(svc, result(second, amount=SECOND_AMOUNT))

    assert [r.receipt_number for r in svc.ledger.receipts] == ["0000001"]
    assert svc.ledger.counter(UNIT, YEAR) == 1


def test_each_collecting_unit_has_its_own_series(svc):
    other_dossier = "000.00.12.H49-210520-0007"
    ingest_notices(svc, sample_batch(dossier_code=other_dossier))
    h35 = start(svc)
    status, answer = initiate_payment(svc, payment_body(dossier_code=other_dossier), None, None)
    assert status == 201 and answer["payment_id"].startswith("PAYH49")

    apply_bank_result(svc, result(h35))
    apply_bank_result(svc, result(answer["payment_id"]))

    h49 = svc.ledger.get_receipt(receipt_id_for(answer["payment_id"]))
    assert (h49.receipt_number, h49.collecting_unit_code) == ("0000001", "000.00.00.H49")
    assert h49.collecting_unit_name == "Thuế tỉnh Quảng Ninh"
    assert svc.ledger.get_receipt(receipt_id_for(h35)).receipt_number == "0000001"
    assert (svc.ledger.counter(UNIT, YEAR), svc.ledger.counter("000.00.00.H49", YEAR)) == (1, 1)


def test_series_restarts_with_the_vietnamese_calendar_year():
    svc = services(clock=FixedClock(datetime(2026, 12, 31, 23, 59, tzinfo=VN_TZ)))
    first = start(svc)
    apply_bank_result(svc, result(first))
    svc.clock.advance(minutes=2)  # 2027-01-01 00:01 in Vietnam, still 2026 in UTC
    second = start(svc, SECOND_NOTICE)

    apply_bank_result(svc, result(second, amount=SECOND_AMOUNT))

    receipts = {r.payment_id: (r.series, r.receipt_number) for r in svc.ledger.receipts}
    letters = collecting_unit(UNIT).series_letters
    # Decree 254/2026: the series carries the year, and numbers restart at 1 on 1 January (Vietnam time).
    assert receipts == {first: (f"26T{letters}", "00000001"), second: (f"27T{letters}", "00000001")}
    assert {r.template_symbol for r in svc.ledger.receipts} == {"EBL01"}
    assert (svc.ledger.counter(UNIT, 2026), svc.ledger.counter(UNIT, 2027)) == (1, 1)


def test_receipt_is_enqueued_for_forwarding_to_the_province(svc):
    pid = start(svc)
    apply_bank_result(svc, result(pid))

    assert [r.receipt_id for r in svc.forwarding.receipts] == [receipt_id_for(pid)]
    assert svc.forwarding.receipts[0] == svc.ledger.get_receipt(receipt_id_for(pid))


def test_duplicate_success_is_a_duplicate_and_issues_no_second_receipt(svc):
    pid = start(svc)
    apply_bank_result(svc, result(pid))

    assert apply_bank_result(svc, result(pid)) == Outcome.DUPLICATE

    assert len(svc.ledger.receipts) == 1
    assert svc.ledger.counter(UNIT, YEAR) == 1
    payment = svc.ledger.get_payment(pid)
    assert [h["state"] for h in payment.history].count("PAID") == 1


# -- failure and finality ----------------------------------------------------------------------------------------
def test_failure_after_success_is_refused_and_the_payment_stays_paid(svc):
    pid = start(svc)
    apply_bank_result(svc, result(pid))

    err = refused(svc, result(pid, success=False))

    assert (err.status, err.code) == (409, "PAYMENT_ALREADY_FINAL")
    assert state(svc, pid) == "PAID"
    assert notice_status(svc) == NoticeStatus.PAID
    assert len(svc.ledger.receipts) == 1


def test_success_after_failure_is_refused_and_nothing_is_paid(svc):
    pid = start(svc)
    apply_bank_result(svc, result(pid, success=False))

    err = refused(svc, result(pid))

    assert (err.status, err.code) == (409, "PAYMENT_ALREADY_FINAL")
    assert state(svc, pid) == "FAILED"
    assert notice_status(svc) == NoticeStatus.PAYABLE
    assert svc.ledger.receipts == []


def test_failure_makes_the_notice_payable_again(svc):
    pid = start(svc)

    assert apply_bank_result(svc, result(pid, success=False)) == Outcome.APPLIED

    payment = svc.ledger.get_payment(pid)
    assert payment.state.value == "FAILED"
    assert payment.failure_reason == "BANK_REPORTED_FAILURE"
    assert notice_status(svc) == NoticeStatus.PAYABLE
    assert notice(svc).live_payment_id is None
    assert svc.ledger.receipts == [] and svc.forwarding.receipts == []
    assert initiate_payment(svc, payment_body(), None, None)[0] == 201


def test_duplicate_failure_is_a_duplicate(svc):
    pid = start(svc)
    apply_bank_result(svc, result(pid, success=False))

    assert apply_bank_result(svc, result(pid, success=False)) == Outcome.DUPLICATE
    assert [h["state"] for h in svc.ledger.get_payment(pid).history].count("FAILED") == 1


# -- mismatches ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("amount", "currency"), [(AMOUNT - 1, "VND"), (AMOUNT * 100, "VND"), (AMOUNT, "USD")],
                         ids=["amount-lower", "amount-x100", "currency"])
def test_amount_or_currency_mismatch_is_refused_recorded_and_alerted(svc, amount, currency):
    pid = start(svc)

    err = refused(svc, result(pid, amount=amount, currency=currency))

    assert (err.status, err.code) == (422, "AMOUNT_MISMATCH")
    anomalies = svc.ledger.list_anomalies(pid)
    assert [a["kind"] for a in anomalies] == ["AMOUNT_MISMATCH"]
    assert anomalies[0]["amount_vnd"] == amount and anomalies[0]["expected_amount_vnd"] == AMOUNT
    assert svc.alerts.kinds == ["AMOUNT_MISMATCH"]
    assert state(svc, pid) == "PENDING_BANK"
    assert notice(svc).paid_payment_id is None
    assert notice_status(svc) == NoticeStatus.IN_PAYMENT
    assert svc.ledger.receipts == [] and svc.forwarding.receipts == []
    assert svc.ledger.counter(UNIT, YEAR) == 0


def test_failure_with_a_mismatched_amount_is_refused_too(svc):
    pid = start(svc)

    assert refused(svc, result(pid, success=False, amount=1)).code == "AMOUNT_MISMATCH"
    assert state(svc, pid) == "PENDING_BANK"


def test_result_from_another_bank_is_refused(svc):
    pid = start(svc)

    err = refused(svc, result(pid, bank="VCB"))

    assert (err.status, err.code) == (422, "BANK_MISMATCH")
    assert [a["kind"] for a in svc.ledger.list_anomalies(pid)] == ["BANK_MISMATCH"]
    assert svc.alerts.kinds == ["BANK_MISMATCH"]
    assert state(svc, pid) == "PENDING_BANK"
    assert svc.ledger.receipts == []


@pytest.mark.parametrize("payment_id", ["PAYH35" + "01HZX4Y9Q2M7K8V3T6R5W0N1PQ", "ORDER-12345"],
                         ids=["well-formed", "malformed"])
def test_unknown_payment_is_not_found_recorded_and_alerted(svc, payment_id):
    err = refused(svc, result(payment_id))

    assert (err.status, err.code) == (404, "PAYMENT_NOT_FOUND")
    assert [(a["kind"], a["payment_id"]) for a in svc.ledger.anomalies] == [("UNKNOWN_PAYMENT", payment_id)]
    assert svc.alerts.kinds == ["UNKNOWN_PAYMENT"]
    assert svc.ledger.receipts == []


# -- late and double payments --------------------------------------------------------------------------------------
def test_success_for_an_expired_payment_of_an_unpaid_notice_is_paid_with_a_receipt(svc):
    pid = start(svc)
    svc.clock.advance(minutes=svc.settings.payment_ttl_minutes + 5)
    assert get_payment(svc, pid, secret(svc, pid))["state"] == "EXPIRED"

    assert apply_bank_result(svc, result(pid)) == Outcome.APPLIED

    assert state(svc, pid) == "PAID"
    assert svc.ledger.get_receipt(receipt_id_for(pid)).receipt_number == "0000001"
    assert notice_status(svc) == NoticeStatus.PAID


def test_success_for_a_cancelled_payment_of_an_unpaid_notice_is_paid_with_a_receipt(svc):
    pid = start(svc)
    cancel_payment(svc, pid, None, secret(svc, pid))

    assert apply_bank_result(svc, result(pid)) == Outcome.APPLIED

    assert state(svc, pid) == "PAID"
    assert len(svc.ledger.receipts) == 1
    assert notice(svc).paid_payment_id == pid


def test_success_for_a_notice_paid_meanwhile_by_another_payment_is_a_refund_case(svc):
    late = start(svc)
    svc.clock.advance(minutes=svc.settings.payment_ttl_minutes + 1)
    winner = start(svc)
    apply_bank_result(svc, result(winner, ref="FT-WINNER"))
    alerts_before = len(svc.alerts.published)

    assert apply_bank_result(svc, result(late, ref="FT-LATE")) == Outcome.APPLIED

    payment = svc.ledger.get_payment(late)
    assert payment.state.value == "PAID"
    assert payment.refund_required is True
    assert payment.receipt_id is None
    assert get_payment(svc, late, secret(svc, late))["refund_required"] is True
    assert [r.payment_id for r in svc.ledger.receipts] == [winner]
    assert svc.ledger.counter(UNIT, YEAR) == 1
    assert notice(svc).paid_payment_id == winner
    assert svc.alerts.kinds[alerts_before:] == ["DOUBLE_PAYMENT"]
    assert [a["kind"] for a in svc.ledger.list_anomalies(late)] == ["DOUBLE_PAYMENT"]
    assert [r.payment_id for r in svc.forwarding.receipts] == [winner]


def test_repeated_success_of_a_double_payment_is_a_duplicate(svc):
    late = start(svc)
    svc.clock.advance(minutes=svc.settings.payment_ttl_minutes + 1)
    winner = start(svc)
    apply_bank_result(svc, result(winner))
    apply_bank_result(svc, result(late))

    assert apply_bank_result(svc, result(late)) == Outcome.DUPLICATE
    assert svc.alerts.kinds.count("DOUBLE_PAYMENT") == 1
    assert len(svc.ledger.receipts) == 1


# -- concurrency and crashes ------------------------------------------------------------------------------------
def test_concurrent_duplicate_successes_apply_once():
    svc = services()
    pid = start(svc)
    n = 20
    barrier = threading.Barrier(n)
    outcomes: list[object] = []
    lock = threading.Lock()

    def deliver() -> None:
        barrier.wait()
        try:
            out = apply_bank_result(svc, result(pid))
        except AppError as exc:
            out = exc.code
        with lock:
            outcomes.append(out)

    threads = [threading.Thread(target=deliver) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count(Outcome.APPLIED) == 1, outcomes
    assert outcomes.count(Outcome.DUPLICATE) == n - 1, outcomes
    assert len(svc.ledger.receipts) == 1
    assert [h["state"] for h in svc.ledger.get_payment(pid).history].count("PAID") == 1
    assert svc.ledger.counter(UNIT, YEAR) == 1
    assert svc.ledger.get_receipt(receipt_id_for(pid)).receipt_number == "0000001"


def test_concurrent_successes_for_two_payments_take_consecutive_numbers():
    svc = services()
    pids = [start(svc), start(svc, SECOND_NOTICE)]
    amounts = [AMOUNT, SECOND_AMOUNT]
    barrier = threading.Barrier(10)

    def deliver(i: int) -> None:
        barrier.wait()
        apply_bank_result(svc, result(pids[i % 2], amount=amounts[i % 2]))

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(r.receipt_number for r in svc.ledger.receipts) == ["0000001", "0000002"]
    assert svc.ledger.counter(UNIT, YEAR) == 2


def test_queue_down_after_the_payment_loses_nothing_and_the_retry_enqueues_the_receipt_once():
    """The forwarding intent is written with the payment: a queue that is down delays the receipt, never loses it,
    and the bank's answer does not depend on it."""
    svc = services(forwarding=FakeForwarding(fail_times=1))
    pid = start(svc)

    assert apply_bank_result(svc, result(pid)) == Outcome.APPLIED

    assert state(svc, pid) == "PAID"
    assert len(svc.ledger.receipts) == 1
    assert svc.forwarding.receipts == []
    assert svc.outbox.states("forward_receipt") == ["PENDING"]

    assert apply_bank_result(svc, result(pid)) == Outcome.DUPLICATE
    assert svc.forwarding.receipts == []  # a repeat of the callback sends nothing: the intent is the one way
    assert svc.outbox.retry() == 1

    assert [r.receipt_id for r in svc.forwarding.receipts] == [receipt_id_for(pid)]
    assert svc.outbox.states("forward_receipt") == ["SENT"]
    assert svc.outbox.retry() == 0
    assert len(svc.ledger.receipts) == 1
    assert svc.ledger.counter(UNIT, YEAR) == 1
