"""The integration self-test on the running local stack: real HTTP to the API, the outbox stream and the self-test
queue feeding the run_selftests handler as Lambda would, real HTTP to the simulated province, evidence in moto's S3
downloaded through its presigned link."""
from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.conftest import assert_problem
from tests.e2e.provinces import next_province

_tokens: dict[tuple[str, str | None], str] = {}


def token(role: str, province: str | None = None) -> str:
    """A real user of the local pool with this role (a province administrator of ``province``), signed in
    through the API once per module and role."""
    from chalicelib.local.identities import new_identity

    key = (role, province)
    if key not in _tokens:
        _tokens[key] = new_identity(None, role, province=province).access_token
    return _tokens[key]


def auth(role: str = "operator", province: str | None = None) -> dict:
    return {"Authorization": f"Bearer {token(role, province)}"}


@pytest.fixture()
def province(api, stack):
    """A real province of its own, its three APIs pointed at the simulated province."""
    from chalicelib.local import devkeys

    p = next_province()
    short, agency = p.agency_code, f"000.00.00.{p.agency_code}"
    for api_type in ("notice", "payment_result", "receipt_file"):
        r = api.s.put(f"{api.url}/v1/provinces/{agency}/apis/{api_type}", headers=auth(), json={
            "province_code": p.stats_code, "province_name": p.name, "unit_code": agency,
            "session_url": f"{stack.province_url}/p/{short}/session",
            "data_url": f"{stack.province_url}/p/{short}/{api_type}",
            "credentials": {"username": devkeys.LOCAL_PROVINCE_USERNAME, "password": devkeys.LOCAL_PROVINCE_PASSWORD},
            "connect_timeout_s": 3, "read_timeout_s": 15})  # a loaded test machine: the verdicts must not flake
        assert r.status_code == 200, r.text
    return short, agency


def start(api, agency: str, short: str) -> requests.Response:
    return api.s.post(f"{api.url}/v1/provinces/{agency}/selftests", headers=auth("province_admin", short), timeout=10)


def finished(api, run_id: str, short: str, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = api.s.get(f"{api.url}/v1/selftests/{run_id}", headers=auth("province_admin", short), timeout=10).json()
        if run["status"] not in ("queued", "running"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"self-test {run_id} did not finish")


def test_a_self_test_against_the_simulated_province_passes_with_downloadable_evidence(api, stack, province):
    short, agency = province
    r = start(api, agency, short)
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["status"] == "queued" and r.headers["Location"] == f"/v1/selftests/{queued['run_id']}"
    run = finished(api, queued["run_id"], short)
    assert (run["status"], run["verdict"]) == ("passed", "ĐẠT"), [(s["name"], s["status"], s["fix"]) for s in run["steps"] if s["result"] != "passed"]
    assert len(run["steps"]) == 10 and {s["result"] for s in run["steps"]} == {"passed"}
    got = stack.province.received(short)
    assert got["types"] == {"notice": 1, "payment_result": 1, "receipt_file": 1}
    for message_id in got["by_message_id"]:
        payload = stack.province.payload(short, message_id)
        assert payload["test"] is True and payload["test_run_id"] == run["run_id"]
    assert run["attachment"]["pdf_key"] == run["evidence"]["pdf_key"]

    links = api.s.get(f"{api.url}/v1/selftests/{run['run_id']}/evidence", headers=auth("province_admin", short))
    assert links.status_code == 200, links.text
    pdf = requests.get(links.json()["pdf"]["url"], timeout=10)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    evidence = requests.get(links.json()["json"]["url"], timeout=10).json()
    assert evidence["verdict"] == "ĐẠT" and evidence["test"] is True and len(evidence["report"]["steps"]) == 10
    from chalicelib.local import devkeys

    assert devkeys.LOCAL_PROVINCE_PASSWORD not in pdf.text and devkeys.LOCAL_PROVINCE_PASSWORD not in str(evidence)

    listed = api.s.get(f"{api.url}/v1/provinces/{agency}/selftests", headers=auth()).json()
    assert listed["runs"][0]["run_id"] == run["run_id"]
    other = api.s.get(f"{api.url}/v1/selftests/{run['run_id']}", headers=auth("province_admin", "H49"))
    assert_problem(other, 403, "PROVINCE_FORBIDDEN")


def test_told_to_fail_the_receipt_file_api_the_run_fails_at_that_step_saying_what_to_fix(api, stack, province):
    short, agency = province
    stack.province.control(short, mode="500", api_type="receipt_file")
    try:
        run = finished(api, start(api, agency, short).json()["run_id"], short)
    finally:
        stack.province.control(short, mode="ok")
    assert (run["status"], run["verdict"]) == ("failed", "KHÔNG ĐẠT")
    failed = [s for s in run["steps"] if s["result"] == "failed"]
    assert len(failed) == 1 and failed[0]["api_type"] == "API file đính kèm" and failed[0]["status"] == 500
    assert failed[0]["fix"].startswith("API file đính kèm trả mã 500")
    assert stack.province.received(short)["types"] == {"notice": 1, "payment_result": 1}


def test_a_token_that_expires_at_once_is_named_in_the_evidence(api, stack, province):
    short, agency = province
    stack.province.control(short, tokens_expire_at_once=True)
    try:
        run = finished(api, start(api, agency, short).json()["run_id"], short)
    finally:
        stack.province.control(short, tokens_expire_at_once=False)
    assert run["status"] == "failed"
    assert all("token hết hạn ngay sau khi cấp" in s["fix"] for s in run["steps"] if s["result"] == "failed")
    assert stack.province.received(short)["unique"] == 0


def test_one_run_at_a_time_per_province_then_429_with_retry_after(api, stack, province):
    short, agency = province
    first = start(api, agency, short)
    assert first.status_code == 202
    second = start(api, agency, short)
    body = assert_problem(second, 429, "SELFTEST_RUNNING")
    assert 1 <= int(second.headers["Retry-After"]) <= 30 and body["retry_after_s"] >= 1
    finished(api, first.json()["run_id"], short)


def test_a_live_province_receives_no_test_data(api, stack, province):
    short, agency = province
    r = api.s.post(f"{api.url}/v1/onboarding/provinces/{agency}/override", headers=auth(), timeout=10,
                   json={"step": 6, "reason": "Tỉnh đã vận hành chính thức trước khi có hệ thống theo dõi"})
    assert r.status_code == 200, r.text  # the six steps passed: the province is live
    assert_problem(start(api, agency, short), 409, "PROVINCE_LIVE")
    assert stack.province.received(short)["total"] == 0


def test_a_test_payment_never_takes_a_real_receipt_number(api, stack, province):
    from chalicelib.local.demo import demo_notice

    short, agency = province
    run = finished(api, start(api, agency, short).json()["run_id"], short)
    # The test series of the current rules (two letters no collecting unit has), never a unit's own.
    assert run["status"] == "passed" and run["receipt_series"][2:] == "TKT"
    dossier = f"000.00.{uuid.uuid4().int % 100:02d}.{short}-260520-{uuid.uuid4().int % 10000:04d}"
    payload = demo_notice(dossier, (1_378_500,))
    assert api.send_notices(payload).status_code == 200
    payment = api.pay(dossier, payload["notices"][0]["notice_number"]).json()
    r = api.bank_callback("BIDV", {"payment_id": payment["payment_id"], "bank_txn_ref": "FT26140123999",
                                   "amount_vnd": payment["amount_vnd"], "currency": "VND", "status": "SUCCESS",
                                   "paid_at": "2026-05-20T10:01:02+07:00"})
    assert r.status_code == 200, r.text
    receipt_id = "RCP" + payment["payment_id"][3:]
    receipt = api.s.get(f"{api.url}/v1/receipts/{receipt_id}", headers=api.access(receipt_id)).json()
    assert (int(receipt["receipt_number"]), receipt["test"]) == (1, False)  # the province's first real number
    assert not receipt["series"].endswith("TKT")
    # The test dossier cannot be paid through a real bank by anyone holding its code.
    r = api.s.post(f"{api.url}/v1/payments", json={"dossier_code": run["dossier_code"], "id_number": "001099000000",
                                                  "notice_number": "x", "bank_code": "BIDV"})
    assert r.status_code in (404, 409)
