"""The integration self-test on fakes: what it sends, what it records, what it refuses, and that test money never
touches real numbering, real banks or real deliveries."""
from __future__ import annotations

import json

import pytest

from chalicelib.core.errors import AppError
from chalicelib.payments.services.bank_results import BankResult, apply_bank_result
from chalicelib.payments.services.payment_requests import initiate_payment
from chalicelib.provinces.domain.delivery import ApiType
from chalicelib.provinces.ports import Actor
from chalicelib.selftest.domain import SelfTestPolicy
from chalicelib.selftest.services.execute import run_selftest
from chalicelib.selftest.services.runs import evidence_links, get_run, list_runs, start_run
from tests.fakes import ID_NUMBER, payment_body, sample_batch
from tests.fakes_provinces import PROVINCE, FakeProvince, _answer
from tests.fakes_selftest import make_selftest_services

OPERATOR = Actor(subject="op-1", operator=True)
ADMIN = Actor(subject="admin-h35", operator=False, province_claim="H35")


class OneApiFails(FakeProvince):
    """The province answers 500 on one data API only (the others work)."""

    failing: str = "receipt_file"

    def post_json(self, url, payload, headers, connect_timeout_s, read_timeout_s, body_cap=1 << 20):
        answer = super().post_json(url, payload, headers, connect_timeout_s, read_timeout_s, body_cap)
        if url.endswith(f"/{self.failing}") and answer.status == 200:
            return _answer(500, {"error_code": "500", "message": "Lỗi hệ thống"})
        return answer


class DeadTokens(FakeProvince):
    """Tokens are issued with a normal expires_in but are refused at once."""

    def post_json(self, url, payload, headers, connect_timeout_s, read_timeout_s, body_cap=1 << 20):
        answer = super().post_json(url, payload, headers, connect_timeout_s, read_timeout_s, body_cap)
        self.tokens.clear()
        return answer


def _run(svc, actor=ADMIN) -> dict:
    started = start_run(svc, actor, PROVINCE)
    assert started["status"] == "queued" and svc.selftest_queue.sent == [(started["run_id"], PROVINCE)]
    run_selftest(svc, started["run_id"])
    return get_run(svc, actor, started["run_id"])


def _payloads(svc) -> list[dict]:
    return [json.loads(svc.evidence.objects[k][0])
            for k in svc.evidence.objects if k.endswith(".json")]


def test_a_run_against_a_working_province_passes_with_evidence_and_step_4():
    svc = make_selftest_services()
    run = _run(svc)
    assert (run["status"], run["verdict"]) == ("passed", "ĐẠT")
    assert [s["result"] for s in run["steps"]] == ["passed"] * 10
    assert run["dossier_code"].startswith("TST.") and run["dossier_code"].split("-")[0].endswith(".H35")
    assert run["receipt_series"].startswith("KT-") and run["receipt_number"] == "0000001"
    pdf, kind = svc.evidence.objects[run["evidence"]["pdf_key"]]
    assert pdf.startswith(b"%PDF") and kind == "application/pdf"
    assert run["attachment"] == {"kind": "selftest_evidence", "run_id": run["run_id"], "province": PROVINCE,
                                 "verdict": "ĐẠT", **run["evidence"]}
    assert svc.step_events.events == [(PROVINCE, 4, {"kind": "selftest", "run_id": run["run_id"],
                                                     **run["evidence"]})]
    links = evidence_links(svc, ADMIN, run["run_id"])
    assert links["pdf"]["key"] == run["evidence"]["pdf_key"] and "expires=900" in links["pdf"]["url"]


def test_every_payload_the_province_gets_is_marked_test_and_nothing_real_moves():
    svc = make_selftest_services()
    http = svc.http
    sent = []
    original = http.post_json

    def spy(url, payload, headers, *args, **kwargs):
        if not url.endswith("/session"):
            sent.append(payload)
        return original(url, payload, headers, *args, **kwargs)

    http.post_json = spy
    run = _run(svc)
    assert {p["type"] for p in sent} == {"notice", "payment_result", "receipt_file"}
    assert all(p["test"] is True and p["test_run_id"] == run["run_id"] for p in sent)
    # No SMS, nothing queued to the province by the real path, real numbering untouched.
    assert svc.sms.sent == [] and svc.forwarding.receipts == [] and svc.forwarding.notices == []
    assert svc.ledger.counter(PROVINCE, 2026) == 0  # the real series, whichever rules: untouched
    counters = svc.ledger.receipts_store.counters
    assert {k: v for k, v in counters.items() if k.startswith(f"CTR#{PROVINCE}#")} == {
        f"CTR#{PROVINCE}#TEST#KT-26T": 1}  # the unit's test series alone moved
    # ... and a test receipt is in no day's report to the tax authority, and no public verification finds it.
    assert svc.ledger.receipts_store._rows == {} and svc.ledger.receipts_store._lookups == {}
    payment = svc.ledger.get_payment(run["payment_id"])
    receipt = svc.ledger.get_receipt(run["receipt_id"])
    assert payment.test and receipt.test and payment.bank_code == "KTHU" and receipt.delivery_state == "SELFTEST"


def test_a_test_payment_never_takes_a_number_from_the_real_series():
    svc = make_selftest_services()
    _run(svc, OPERATOR)
    svc.clock.advance(minutes=1)
    from chalicelib.payments.services.intake import ingest_notices

    ingest_notices(svc, sample_batch())
    _, created = initiate_payment(svc, payment_body(), None, None)
    apply_bank_result(svc, BankResult("BIDV", created["payment_id"], "FT1", created["amount_vnd"], "VND", True))
    real = svc.ledger.get_receipt(svc.ledger.get_payment(created["payment_id"]).receipt_id)
    assert (real.receipt_number, real.series, real.test) == ("0000001", "BI-26T", False)


def test_test_money_and_real_money_never_cross(monkeypatch):
    monkeypatch.setattr("chalicelib.selftest.services.execute.make_id_number", lambda rng: "001099123456")
    svc = make_selftest_services()
    run = _run(svc)
    dossier = svc.dossiers.get(run["dossier_code"])
    notice = next(iter(dossier.notices))
    # A citizen's payment route refuses the test dossier (found with its own ID number), whatever the bank.
    for bank in ("BIDV", "VCB"):
        with pytest.raises(AppError) as refused:
            initiate_payment(svc, {**payment_body(notice, bank_code=bank), "dossier_code": run["dossier_code"],
                                   "id_number": "001099123456"}, None, None)
        assert (refused.value.status, refused.value.code) == (409, "TEST_DOSSIER_NOT_PAYABLE")
    # The test bank is no bank a citizen can choose.
    with pytest.raises(AppError) as unknown:
        initiate_payment(svc, payment_body(bank_code="KTHU"), None, None)
    assert unknown.value.status == 422
    # A real bank's result for the test payment, and the test bank's result for a real payment: both refused.
    with pytest.raises(AppError) as real_bank:
        apply_bank_result(svc, BankResult("BIDV", run["payment_id"], "FT9", 10_000, "VND", True))
    assert real_bank.value.code == "BANK_MISMATCH"
    from chalicelib.payments.services.intake import ingest_notices

    ingest_notices(svc, sample_batch())
    _, created = initiate_payment(svc, payment_body(), None, None)
    with pytest.raises(AppError) as test_bank:
        apply_bank_result(svc, BankResult("KTHU", created["payment_id"], "KT1", created["amount_vnd"], "VND", True))
    assert test_bank.value.code == "BANK_MISMATCH"
    from chalicelib.payments.services.test_payments import start_test_payment

    with pytest.raises(AppError) as not_test:
        start_test_payment(svc, "000.00.43.H35-210520-0001", ID_NUMBER, "TB-2021-000123")
    assert not_test.value.code == "NOT_A_TEST_DOSSIER"


def test_the_test_dossier_is_marked_and_its_id_number_masked_in_the_evidence():
    svc = make_selftest_services()
    run = _run(svc)
    evidence = _payloads(svc)[0]
    lookup_step = evidence["report"]["steps"][1]
    assert "001099" not in lookup_step["request_body"]  # the ID number is masked in the evidence
    stored = svc.dossiers.get(run["dossier_code"])
    assert stored.test is True


def test_a_failing_receipt_file_api_fails_that_step_with_what_to_fix():
    svc = make_selftest_services(http=OneApiFails(make_selftest_services().clock))
    run = _run(svc)
    assert (run["status"], run["verdict"]) == ("failed", "KHÔNG ĐẠT")
    failed = [s for s in run["steps"] if s["result"] == "failed"]
    assert len(failed) == 1 and failed[0]["api_type"] == "API file đính kèm" and failed[0]["status"] == 500
    assert failed[0]["fix"].startswith("API file đính kèm trả mã 500")
    assert svc.step_events.events == []  # not all the province's APIs were reached: no step-4 event


def test_a_token_that_dies_at_once_is_named_as_such():
    svc = make_selftest_services(http=DeadTokens(make_selftest_services().clock))
    run = _run(svc)
    failed = [s for s in run["steps"] if s["result"] == "failed"]
    assert len(failed) == 3 and all("token hết hạn ngay sau khi cấp" in s["fix"] for s in failed)
    assert all(s["note"] and "token mới" in s["note"] for s in failed)


def test_a_province_without_the_optional_apis_skips_them_and_without_the_required_one_fails():
    svc = make_selftest_services(apis=(ApiType.PAYMENT_RESULT,))
    run = _run(svc)
    assert run["status"] == "passed"
    assert [s["result"] for s in run["steps"]].count("skipped") == 2
    svc = make_selftest_services(apis=(ApiType.NOTICE,))
    run = _run(svc)
    failed = [s for s in run["steps"] if s["result"] == "failed"]
    assert run["status"] == "failed" and "(bắt buộc)" in failed[0]["fix"]


def test_evidence_holds_no_credential_no_token_and_no_id_number():
    svc = make_selftest_services()
    _run(svc)
    text = json.dumps(_payloads(svc)[0], ensure_ascii=False)
    assert "secret-pass" not in text and "tok1" not in text and '"user"' not in text
    assert "001099" not in text


def test_one_run_at_a_time_and_a_few_per_hour_with_retry_after():
    svc = make_selftest_services(policy=SelfTestPolicy(max_per_hour=2, lease_s=600))
    first = start_run(svc, ADMIN, PROVINCE)
    with pytest.raises(AppError) as busy:
        start_run(svc, OPERATOR, PROVINCE)
    assert (busy.value.status, busy.value.code) == (429, "SELFTEST_RUNNING")
    assert 1 <= int(busy.value.headers["Retry-After"]) <= 30
    run_selftest(svc, first["run_id"])
    second = start_run(svc, ADMIN, PROVINCE)
    run_selftest(svc, second["run_id"])
    svc.clock.advance(minutes=10)
    with pytest.raises(AppError) as limited:
        start_run(svc, ADMIN, PROVINCE)
    assert limited.value.code == "SELFTEST_RATE_LIMITED" and int(limited.value.headers["Retry-After"]) == 3000
    svc.clock.advance(minutes=51)
    assert start_run(svc, ADMIN, PROVINCE)["status"] == "queued"


def test_live_unconfigured_and_other_provinces_are_refused():
    svc = make_selftest_services()
    svc.step_events.live.add(PROVINCE)
    with pytest.raises(AppError) as live:
        start_run(svc, OPERATOR, PROVINCE)
    assert (live.value.status, live.value.code) == (409, "PROVINCE_LIVE")
    with pytest.raises(AppError) as empty:
        start_run(svc, OPERATOR, "000.00.00.H49")
    assert empty.value.code == "PROVINCE_NOT_CONFIGURED"
    svc.step_events.live.clear()
    other = Actor(subject="admin-h49", operator=False, province_claim="H49")
    with pytest.raises(AppError) as forbidden:
        start_run(svc, other, PROVINCE)
    assert forbidden.value.code == "PROVINCE_FORBIDDEN"
    run = start_run(svc, OPERATOR, PROVINCE)
    with pytest.raises(AppError) as hidden:
        get_run(svc, other, run["run_id"])
    assert hidden.value.code == "PROVINCE_FORBIDDEN"
    with pytest.raises(AppError) as unfinished:
        evidence_links(svc, OPERATOR, run["run_id"])
    assert unfinished.value.code == "SELFTEST_NOT_FINISHED"


def test_a_redelivered_run_is_not_played_twice_and_an_interrupted_one_frees_the_province():
    svc = make_selftest_services()
    run = _run(svc)
    calls = svc.http.data_calls
    assert run_selftest(svc, run["run_id"]) == "done" and svc.http.data_calls == calls
    stuck = start_run(svc, ADMIN, PROVINCE)
    stored = svc.selftests.get(stuck["run_id"])
    svc.selftests.save(stored.model_copy(update={"status": "running", "rev": stored.rev + 1}), stored.rev)
    assert run_selftest(svc, stuck["run_id"]) == "busy"
    svc.clock.advance(seconds=601)
    assert get_run(svc, ADMIN, stuck["run_id"])["status"] == "error"  # reads as interrupted before the job says so
    assert run_selftest(svc, stuck["run_id"]) == "interrupted"
    assert svc.selftests.limiter(PROVINCE).running is None
    assert [r["run_id"] for r in list_runs(svc, ADMIN, PROVINCE)["runs"]] == [stuck["run_id"], run["run_id"]]
