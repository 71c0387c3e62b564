"""M14 §2 and §5 on the running local stack: payments made over HTTP, the simulated bank's settlement files with
planted discrepancies, delivered into the documents bucket (real boto3 to moto), whose S3 notification starts the
job as the EventBridge rule would; operators read and resolve over HTTP."""
from __future__ import annotations

import random
import time
import uuid
from datetime import date, datetime, timedelta

import boto3
import pytest

from chalicelib.core.clock import VN_TZ
from tests.conftest import assert_problem

BANK = "VCB"


_tokens: dict[tuple, str] = {}


def token(role: str, login: str | None = None, province: str | None = None) -> str:
    """A real user of the local pool (``login``: a staff user's name), signed in through the API once per module."""
    from chalicelib.local.identities import new_identity

    key = (role, login, province)
    if key not in _tokens:
        _tokens[key] = new_identity(None, role, province=province, login=login).access_token
    return _tokens[key]


def operator() -> dict:
    return {"Authorization": f"Bearer {token('operator', 'operator-recon-1')}"}


def wait_for(check, timeout_s: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def unique_day() -> date:
    """A settlement day no other test uses (the day index is per bank and day)."""
    return date(2031, 1, 1) + timedelta(days=random.randrange(0, 3000) * 2)


def at(day: date, hh: int, mm: int = 0, ss: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=VN_TZ).isoformat()


class Settlement:
    """The bank's side: transactions booked at the simulated bank, its files, their delivery into S3."""

    def __init__(self, api, stack) -> None:
        self.api, self.stack = api, stack
        self.s3, self.sqs = boto3.client("s3"), boto3.client("sqs")
        self.bucket = stack.env["DOCUMENTS_BUCKET"]

    def payment(self, amount: int, paid_at: str | None, *, bank: str = BANK, callback: bool = True) -> dict:
        """A notice paid at the bank at ``paid_at`` (booked at the bank; called back unless ``callback`` is
        False: the callback that never arrived)."""
        dossier, number, _ = self.api.new_notice(amounts=(amount,))
        r = self.api.pay(dossier, number, bank)
        assert r.status_code == 201, r.text
        payment = r.json()
        ref = f"FT{uuid.uuid4().int % 10**12:012d}"
        booked = self.api.s.post(f"{self.api.bank_url}/control/transactions", json={
            "bank_code": bank, "payment_id": payment["payment_id"], "amount_vnd": amount, "status": "SUCCESS",
            "paid_at": paid_at, "bank_txn_ref": ref}, timeout=10)
        assert booked.status_code == 201, booked.text
        if callback:
            r = self.api.bank_callback(bank, {"payment_id": payment["payment_id"], "bank_txn_ref": ref,
                                              "amount_vnd": amount, "currency": "VND", "status": "SUCCESS",
                                              "paid_at": paid_at})
            assert r.status_code == 200, r.text
        return {**payment, "bank_txn_ref": ref, "amount": amount}

    def file(self, day: date, plant=(), bank: str = BANK) -> tuple[str, bytes]:
        r = self.api.s.post(f"{self.api.bank_url}/control/settlement",
                            json={"bank": bank, "date": day.isoformat(), "plant": list(plant)}, timeout=10)
        assert r.status_code == 200, r.text
        got = self.api.s.get(f"{self.api.bank_url}{r.json()['url']}", timeout=10)
        return r.json()["name"], got.content

    def deliver(self, bank: str, name: str, content: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=f"settlements/{bank}/{name}", Body=content)

    def drained(self) -> None:
        """Every file event handed to the job and its run finished (the local event queue is empty)."""
        url = self.sqs.get_queue_url(QueueName=f"lfo-{self.stack.stage}-settlement-events-local")["QueueUrl"]

        def empty():
            attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"]) == 0

        wait_for(empty, what="settlement events handled")

    def runs(self, bank: str, day: date, **params) -> list[dict]:
        r = self.api.s.get(f"{self.api.url}/v1/reconciliation/runs", headers=operator(), timeout=10,
                           params={"bank_code": bank, "date_from": day.isoformat(), "date_to": day.isoformat(),
                                   **params})
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def run_when_done(self, bank: str, day: date, count: int = 1) -> dict:
        done = wait_for(lambda: [r for r in self.runs(bank, day) if r["status"] in ("COMPLETED", "REFUSED")]
                        if len(self.runs(bank, day)) >= count else None, what=f"{bank} {day} run")
        return self.detail(done[0]["run_id"])

    def detail(self, run_id: str, **params) -> dict:
        r = self.api.s.get(f"{self.api.url}/v1/reconciliation/runs/{run_id}", headers=operator(),
                           params={"limit": 100, **params}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture()
def bank(api, stack):
    return Settlement(api, stack)


@pytest.fixture()
def status_api_silent(api):
    """The banks' status APIs hold every query unanswered for the test: a payment whose callback was lost stays
    unresolved until its settlement file says otherwise (else the stale-payment schedule, or the payment page's own
    status query, would resolve it first and the run would find it MATCHED)."""
    r = api.s.post(f"{api.bank_url}/control/status-api", json={"answer": False}, timeout=10)
    assert r.status_code == 200, r.text
    yield
    api.s.post(f"{api.bank_url}/control/status-api", json={"answer": True}, timeout=10)


def by_payment(run: dict) -> dict[str, dict]:
    return {d["payment_id"]: d for d in run["discrepancies"]["items"]}


def test_every_planted_discrepancy_is_found_exactly_and_nothing_is_applied_twice(api, bank, status_api_silent):
    d, d1 = unique_day(), None
    d1 = d + timedelta(days=1)
    matched = bank.payment(1_001_000, at(d, 10))
    amount = bank.payment(1_002_000, at(d, 11))
    reversed_ = bank.payment(1_003_000, at(d, 12))
    twice = bank.payment(1_004_000, at(d, 13))
    late = bank.payment(1_005_000, at(d, 23, 59, 58))  # paid at 23:59:58, settled by the bank on D+1
    gone = bank.payment(1_006_000, at(d, 14))  # the bank never settles it
    lost = bank.payment(1_007_000, at(d, 15), callback=False)  # paid at the bank, callback never arrived
    assert api.s.get(f"{api.url}/v1/payments/{lost['payment_id']}",
                     headers=api.access(lost["payment_id"])).json()["state"] != "PAID"
    plants = [{"kind": "amount_mismatch", "payment_id": amount["payment_id"]},
              {"kind": "status_mismatch", "payment_id": reversed_["payment_id"]},
              {"kind": "duplicate_at_bank", "payment_id": twice["payment_id"]},
              {"kind": "next_day", "payment_id": late["payment_id"]},
              {"kind": "missing_at_bank", "payment_id": gone["payment_id"]},
              {"kind": "missing_at_portal"}]
    name, content = bank.file(d, plants)
    bank.deliver(BANK, name, content)
    run = bank.run_when_done(BANK, d)

    assert run["status"] == "COMPLETED" and run["trigger"] == {"source": "s3_event", "by": "system"}
    assert run["counts"] == {"MATCHED": 2, "MISSING_AT_PORTAL": 2, "MISSING_AT_BANK": 0, "AMOUNT_MISMATCH": 1,
                             "DUPLICATE_AT_BANK": 1, "STATUS_MISMATCH": 1, "PENDING_NEXT_DAY": 2}
    assert run["totals_vnd"] == {"MATCHED": 1_001_000 + 1_004_000, "MISSING_AT_PORTAL": 1_007_000 + 500_000,
                                 "MISSING_AT_BANK": 0, "AMOUNT_MISMATCH": 1_003_000, "DUPLICATE_AT_BANK": 1_004_000,
                                 "STATUS_MISMATCH": 1_003_000, "PENDING_NEXT_DAY": 1_005_000 + 1_006_000}
    found = by_payment(run)
    assert found[late["payment_id"]]["category"] == "PENDING_NEXT_DAY"  # not reported missing
    assert found[lost["payment_id"]]["action"] == "APPLIED"
    assert found[twice["payment_id"]]["action"] == "REFUND_REQUIRED" and found[twice["payment_id"]]["refund_required"]
    assert matched["payment_id"] not in found
    paid = api.s.get(f"{api.url}/v1/payments/{lost['payment_id']}", headers=api.access(lost["payment_id"])).json()
    assert paid["state"] == "PAID" and paid["receipt_id"]

    # The same file again: the same run, nothing applied twice.
    bank.deliver(BANK, name, content)
    bank.drained()
    assert [r["run_id"] for r in bank.runs(BANK, d)] == [run["run_id"]]
    again = api.s.get(f"{api.url}/v1/payments/{lost['payment_id']}", headers=api.access(lost["payment_id"])).json()
    assert again["receipt_id"] == paid["receipt_id"]

    # D+1: the 23:59:58 payment is there (matched); the one missing two days running is MISSING_AT_BANK.
    name1, content1 = bank.file(d1)
    bank.deliver(BANK, name1, content1)
    next_run = bank.run_when_done(BANK, d1)
    assert next_run["counts"]["MATCHED"] == 1 and next_run["counts"]["MISSING_AT_BANK"] == 1
    assert next_run["totals_vnd"]["MISSING_AT_BANK"] == 1_006_000
    assert by_payment(next_run)[gone["payment_id"]]["category"] == "MISSING_AT_BANK"
    assert late["payment_id"] not in by_payment(next_run)

    # A corrected file for D supersedes the first run; both are kept.
    fixed_name, fixed = bank.file(d)
    bank.deliver(BANK, fixed_name, fixed)
    newer = wait_for(lambda: [r for r in bank.runs(BANK, d) if r["run_id"] != run["run_id"]
                              and r["status"] == "COMPLETED"], what="corrected run")[0]
    assert newer["supersedes"] == run["run_id"]
    assert bank.detail(run["run_id"])["superseded_by"] == newer["run_id"]
    assert newer["counts"]["AMOUNT_MISMATCH"] == 0 and newer["counts"]["MISSING_AT_PORTAL"] == 0
    assert newer["counts"]["MATCHED"] == 6  # what the first run applied now matches
    assert len(bank.runs(BANK, d)) == 2


@pytest.mark.parametrize("damage, code", [("truncated", "SETTLEMENT_TRAILER_MISSING"),
                                          ("wrong_trailer", "SETTLEMENT_TRAILER_MISMATCH")])
def test_a_truncated_file_is_refused_whole_and_nothing_is_classified(api, bank, damage, code, status_api_silent):
    d = unique_day()
    bank.payment(2_001_000, at(d, 9))
    lost = bank.payment(2_002_000, at(d, 10), callback=False)
    name, content = bank.file(d, [damage])
    bank.deliver(BANK, name, content)
    run = bank.run_when_done(BANK, d)

    assert run["status"] == "REFUSED" and run["error"]["code"] == code
    assert sum(run["counts"].values()) == 0 and run["discrepancies"]["items"] == []
    state = api.s.get(f"{api.url}/v1/payments/{lost['payment_id']}", headers=api.access(lost["payment_id"])).json()
    assert state["state"] != "PAID"  # a truncated upload never applies anything


def test_the_vnpay_style_banks_file_goes_through_its_adapter(api, bank):
    d = unique_day()
    name, content = bank.file(d, [{"kind": "missing_at_portal", "bank_code": "MB"}], bank="MB")
    assert b";" in content.splitlines()[0]
    bank.deliver("MB", name, content)
    run = bank.run_when_done("MB", d)
    assert run["status"] == "COMPLETED" and run["format_name"] == "vnpay_semicolon"
    assert run["counts"]["MISSING_AT_PORTAL"] == 1 and run["totals_vnd"]["MISSING_AT_PORTAL"] == 500_000


def test_operators_resolve_once_and_rerun_a_day(api, bank):
    d = unique_day()
    paid = bank.payment(3_001_000, at(d, 9))
    name, content = bank.file(d, [{"kind": "amount_mismatch", "payment_id": paid["payment_id"]}])
    bank.deliver(BANK, name, content)
    run = bank.run_when_done(BANK, d)
    key = by_payment(run)[paid["payment_id"]]["key"]
    url = f"{api.url}/v1/reconciliation/runs/{run['run_id']}/discrepancies/{key}/resolve"

    r = api.s.post(url, headers=operator(), json={"note": "Ngân hàng xác nhận nhập sai số tiền"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "RESOLVED" and r.json()["resolution"]["by"] == "operator-recon-1"
    assert_problem(api.s.post(url, headers=operator(), json={"note": "lần thứ hai"}), 409,
                   "DISCREPANCY_ALREADY_RESOLVED")
    resolved = bank.detail(run["run_id"], status="RESOLVED")["discrepancies"]["items"]
    assert [x["key"] for x in resolved] == [key]

    r = api.s.post(f"{api.url}/v1/reconciliation/runs", headers=operator(),
                   json={"bank_code": BANK, "settlement_date": d.isoformat()})
    assert r.status_code == 201, r.text
    assert r.json()["rerun_of"] == run["run_id"] and r.json()["supersedes"] == run["run_id"]
    assert r.json()["trigger"] == {"source": "operator", "by": "operator-recon-1"}
    assert_problem(api.s.post(f"{api.url}/v1/reconciliation/runs", headers=operator(),
                              json={"bank_code": BANK, "settlement_date": unique_day().isoformat()}), 404,
                   "SETTLEMENT_FILE_NOT_FOUND")


@pytest.mark.parametrize("role", ["citizen", "officer", "province_admin"])
def test_only_operators_see_reconciliation(api, role):
    headers = {"Authorization": f"Bearer {token(role, province='35')}"}
    assert_problem(api.s.get(f"{api.url}/v1/reconciliation/runs", headers=headers), 403, "ROLE_FORBIDDEN")
    assert_problem(api.s.post(f"{api.url}/v1/reconciliation/runs", headers=headers,
                              json={"bank_code": BANK, "settlement_date": "2031-01-01"}), 403, "ROLE_FORBIDDEN")
    assert_problem(api.s.get(f"{api.url}/v1/reconciliation/runs"), 401, "TOKEN_MISSING")
