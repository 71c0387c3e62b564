"""M11 on the running local stack: support requests filed, processed and applied over HTTP (the registry changes,
the credentials reach Secrets Manager through the outbox, the feedback email goes out), the 8-working-hour clock
across a weekend and a public holiday and paused while waiting, the 75 % and breach alerts (once each), a
province advancing through the six steps from events, attachments refused by content, and the scope refusals.

Each test uses its own province: the stack is shared by the tests of a worker. The clock tests pin the service
context's clock (the same one the HTTP handlers and the schedule read) and put it back afterwards."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime

import boto3
import pytest

from chalicelib.core.clock import VN_TZ, FixedClock
from tests.conftest import assert_problem
from tests.e2e.provinces import next_province

REGION = "ap-southeast-1"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + b"%" * 3000 + b"\n%%EOF\n"


_tokens: dict[tuple[str, str | None], str] = {}


def token(role: str, province: str | None = None) -> str:
    """A real user of the local pool with this role (a province administrator of ``province`` in the directory),
    signed in through the API once per module, role and province."""
    from chalicelib.local.identities import new_identity

    key = (role, province)
    if key not in _tokens:
        _tokens[key] = new_identity(None, role, province=province).access_token
    return _tokens[key]


def auth(role: str = "operator", province: str | None = None) -> dict:
    return {"Authorization": f"Bearer {token(role, province)}"}


def wait_for(check, timeout_s: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def form(short: str, request_type: str = "other", **over) -> dict:
    return {"request_type": request_type, "service_group": "dvcqg_integration",
            "service": "land_financial_obligations", "requester_name": "Nguyễn Văn Hùng",
            "requester_phone": "0912 345 678", "feedback_email": f"phanhoi-{short.lower()}@tinh.example.vn",
            "title": f"Tỉnh {short}- hỗ trợ cấu hình URL API thanh toán nghĩa vụ tài chính đất đai",
            "description": "Đề nghị cấu hình các API như sau.", **over}


def apis(stack, short: str) -> list[dict]:
    from chalicelib.local import devkeys

    creds = {"username": devkeys.LOCAL_PROVINCE_USERNAME, "password": devkeys.LOCAL_PROVINCE_PASSWORD}
    return [{"api_type": t, "session_url": f"{stack.province_url}/p/{short}/session",
             "data_url": f"{stack.province_url}/p/{short}/{t}", "credentials": creds, "connect_timeout_s": 1,
             "read_timeout_s": 2} for t in ("notice", "payment_result", "receipt_file")]


def upload(api, headers: dict, name: str, content: bytes) -> dict:
    r = api.s.post(f"{api.url}/v1/support-requests/attachments", headers=headers, json={"file_name": name})
    assert r.status_code == 201, r.text
    got = r.json()
    form_ = got["upload"]
    assert form_["fields"]["x-amz-server-side-encryption"] == "AES256" and "pending" in form_["fields"]["tagging"]
    up = api.s.post(form_["url"], data=form_["fields"], files={"file": (name, content)}, timeout=10)
    assert up.status_code in (200, 201, 204), up.text
    return {"attachment_id": got["attachment_id"], "file_name": name}


def inbox(topic_arn: str, name: str, policy: dict | None = None) -> str:
    sqs, sns = boto3.client("sqs", region_name=REGION), boto3.client("sns", region_name=REGION)
    url = sqs.create_queue(QueueName=f"probe-{name}-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"RawMessageDelivery": "true", **({"FilterPolicy": json.dumps(policy)} if policy else {})}
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return url


def drain(url: str) -> list[str]:
    sqs = boto3.client("sqs", region_name=REGION)
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not got:
            return out
        out += [m["Body"] for m in got]
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(got)])


def collect(url: str, enough, what: str) -> list[str]:
    """Messages from a probe queue, read until ``enough(messages)`` holds (SQS gives no order). The outbox's stream
    poller of a worker's stack may be behind the intents of earlier tests: a generous wait, not a speed claim."""
    seen: list[str] = []

    def done() -> bool:
        seen.extend(drain(url))
        return enough(seen)

    try:
        wait_for(done, timeout_s=90, what=what)
    except AssertionError:
        raise AssertionError(f"timed out waiting for {what}: {len(seen)} came") from None
    return seen


@pytest.fixture()
def pinned(stack):
    """Pin the service context's clock (HTTP handlers and jobs read the same one); restored afterwards."""
    from chalicelib.bootstrap import context

    ctx = context()
    before = ctx.clock
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=VN_TZ))
    ctx.__dict__["clock"] = clock
    yield clock
    ctx.__dict__["clock"] = before


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


# --- filed, processed, applied -------------------------------------------------------------------------------------

def test_a_configuration_request_is_filed_processed_and_applied(api, stack):
    p = next_province()  # one no other test registers APIs for
    short, agency = p.agency_code, f"000.00.00.{p.agency_code}"
    admin = auth("province_admin", short)
    emails = inbox(stack.env["ALERT_EMAILS_TOPIC_ARN"], "fb", {"recipient": [f"phanhoi-{short.lower()}@tinh.example.vn"]})
    r = api.s.post(f"{api.url}/v1/support-requests", headers=admin,
                   json=form(short, "api_configuration", apis=apis(stack, short)))
    assert r.status_code == 201, r.text
    filed = r.json()
    rid = filed["request_id"]
    assert filed["unit_code"] == agency and filed["status"] == "new" and filed["sla"]["running"]
    assert all(a["check"]["session"]["status"] == 200 and a["check"]["session"]["token_received"]
               for a in filed["apis"])
    assert "dev-only-province-password" not in r.text
    assert api.s.get(f"{api.url}/v1/provinces/{agency}/apis", headers=auth()).json()["apis"] == []

    operator = auth()
    r = api.s.post(f"{api.url}/v1/support-requests/{rid}/status", headers=operator, json={"status": "in_progress"})
    assert r.status_code == 200, r.text
    r = api.s.post(f"{api.url}/v1/support-requests/{rid}/apply", headers=operator)
    assert r.status_code == 200, r.text
    assert r.json()["request"]["status"] == "done" and len(r.json()["apis"]) == 3

    configured = api.s.get(f"{api.url}/v1/provinces/{agency}/apis", headers=auth()).json()["apis"]
    assert sorted(a["api_type"] for a in configured) == ["notice", "payment_result", "receipt_file"]
    assert all(a["has_credentials"] and a["session_url"].endswith(f"/p/{short}/session") for a in configured)
    sm = boto3.client("secretsmanager", region_name=REGION)
    secret = wait_for(lambda: _secret(sm, f"lfo/test/provinces/{agency}/payment_result"), what="credentials")
    assert json.loads(secret)["username"] == "dvcqg-local"  # through the outbox, never through the API's answers
    detail = api.s.get(f"{api.url}/v1/support-requests/{rid}", headers=admin).json()
    assert [a["action"] for a in detail["audit"]] == ["filed", "status_changed", "applied"]
    assert "dev-only-province-password" not in json.dumps(detail)

    bodies = collect(emails, lambda got: len(got) >= 3, "three emails")
    assert any("đã tiếp nhận" in b for b in bodies) and any("đang được xử lý" in b for b in bodies)
    done = next(b for b in bodies if "Đã xử lý xong" in b)
    assert f"/yeu-cau-ho-tro/{rid}" in done and "Kính gửi Nguyễn Văn Hùng" in done


def _secret(sm, name: str) -> str | None:
    try:
        return sm.get_secret_value(SecretId=name)["SecretString"]
    except sm.exceptions.ResourceNotFoundException:
        return None


# --- the clock -------------------------------------------------------------------------------------------------------

def test_the_clock_skips_a_weekend_and_a_public_holiday_and_stops_while_waiting(api, pinned):
    short = "H26"  # Hà Nội
    admin, operator = auth("province_admin", short), auth()
    pinned._now = vn(2026, 4, 24, 15, 0)  # Friday 15:00; Monday 27/04 is the Hùng Kings' compensating day off
    r = api.s.post(f"{api.url}/v1/support-requests", headers=admin, json=form(short))
    assert r.status_code == 201, r.text
    rid, sla = r.json()["request_id"], r.json()["sla"]
    assert sla["due_at"] == "2026-04-28T15:00:00+07:00" and sla["remaining_seconds"] == 8 * 3600

    pinned._now = vn(2026, 4, 28, 9, 0)  # Tuesday: 2 h on Friday, 1 h this morning
    assert api.s.post(f"{api.url}/v1/support-requests/{rid}/status", headers=operator,
                      json={"status": "in_progress"}).status_code == 200
    r = api.s.post(f"{api.url}/v1/support-requests/{rid}/status", headers=operator,
                   json={"status": "waiting_for_requester", "reason": "Đề nghị bổ sung URL API file đính kèm"})
    assert r.status_code == 200, r.text
    pinned._now = vn(2026, 4, 29, 10, 0)  # a day later, still waiting: the clock stood still
    sla = api.s.get(f"{api.url}/v1/support-requests/{rid}", headers=operator).json()["sla"]
    assert (sla["elapsed_seconds"], sla["running"], sla["due_at"]) == (3 * 3600, False, None)
    r = api.s.post(f"{api.url}/v1/support-requests/{rid}/comments", headers=admin,
                   json={"text": "Đã bổ sung URL API file đính kèm."})
    assert r.status_code == 201, r.text
    detail = api.s.get(f"{api.url}/v1/support-requests/{rid}", headers=operator).json()
    assert detail["status"] == "in_progress" and detail["sla"]["running"]
    assert detail["sla"]["due_at"] == "2026-04-29T16:00:00+07:00"  # 5 h left from Wednesday 10:00


def test_the_operators_are_alerted_at_75_percent_and_at_breach_once_each(api, stack, pinned):
    from chalicelib.jobs.support_clock import run_clock

    short = "H19"
    ops = inbox(stack.env["ALERTS_TOPIC_ARN"], "ops")
    pinned._now = vn(2026, 5, 18, 9, 0)  # Monday 09:00: 75 % at 16:00, due Tuesday 09:00
    r = api.s.post(f"{api.url}/v1/support-requests", headers=auth("province_admin", short), json=form(short))
    assert r.status_code == 201, r.text
    rid = r.json()["request_id"]
    for moment in (vn(2026, 5, 18, 15, 59), vn(2026, 5, 18, 16, 0), vn(2026, 5, 18, 16, 5), vn(2026, 5, 19, 9, 0),
                   vn(2026, 5, 19, 10, 0)):
        run_clock(moment)
    alerts = collect(ops, lambda got: sum(json.loads(b).get("request_id") == rid for b in got) >= 2, "two alerts")
    time.sleep(0.5)  # a third one would arrive by now
    mine = [a for a in map(json.loads, alerts + drain(ops)) if a.get("request_id") == rid]
    by_kind = {a["kind"]: a for a in mine}
    assert sorted(a["kind"] for a in mine) == ["SUPPORT_REQUEST_75", "SUPPORT_REQUEST_BREACH"]  # once each
    assert "75%" in by_kind["SUPPORT_REQUEST_75"]["subject"] and "quá hạn" in by_kind["SUPPORT_REQUEST_BREACH"]["subject"]
    sent = api.s.get(f"{api.url}/v1/support-requests/{rid}", headers=auth()).json()["sla"]["alerts_sent"]
    assert set(sent) == {"75", "breach"}
    report = api.s.get(f"{api.url}/v1/support-reports/monthly?from_month=2026-05&to_month=2026-05", headers=auth())
    assert report.status_code == 200 and report.json()["months"][0]["month"] == "2026-05"


# --- the six steps ---------------------------------------------------------------------------------------------------

def _progress(api, agency: str) -> dict:
    return api.s.get(f"{api.url}/v1/onboarding/provinces/{agency}", headers=auth()).json()


def test_a_province_advances_through_every_step_from_events(api, stack):
    from chalicelib.local import devkeys
    from chalicelib.local.demo import demo_notice

    short, agency = "H12", "000.00.00.H12"
    admin, operator = auth("province_admin", short), auth()
    assert _progress(api, agency)["step"] == 1
    # 1. The focal officer checks the payment-result API's session URL, like Postman.
    r = api.s.post(f"{api.url}/v1/api-checks", headers=admin, json={
        "url": f"{stack.province_url}/p/{short}/session", "api_type": "payment_result", "agency_code": agency,
        "body": {"username": devkeys.LOCAL_PROVINCE_USERNAME, "password": devkeys.LOCAL_PROVINCE_PASSWORD}})
    assert r.status_code == 200 and r.json()["status"] == 200, r.text
    assert _progress(api, agency)["completed_steps"] == 1
    # 2. The configuration request; 3. applied by an operator.
    r = api.s.post(f"{api.url}/v1/support-requests", headers=admin,
                   json=form(short, "api_configuration", apis=apis(stack, short)))
    assert r.status_code == 201, r.text
    assert _progress(api, agency)["completed_steps"] == 2
    assert api.s.post(f"{api.url}/v1/support-requests/{r.json()['request_id']}/apply",
                      headers=operator).status_code == 200
    assert _progress(api, agency)["completed_steps"] == 3
    sm = boto3.client("secretsmanager", region_name=REGION)
    wait_for(lambda: all(_secret(sm, f"lfo/test/provinces/{agency}/{t}") for t in ("notice", "receipt_file")),
             what="credentials in the secret store")
    # 4. A payment reaches the province's software: its notice, payment result and receipt file.
    dossier = f"000.00.{uuid.uuid4().int % 100:02d}.{short}-260520-{uuid.uuid4().int % 10000:04d}"
    payload = demo_notice(dossier, (1_378_500,))
    assert api.send_notices(payload).status_code == 200
    payment = api.pay(dossier, payload["notices"][0]["notice_number"]).json()
    assert api.bank_callback("BIDV", {"payment_id": payment["payment_id"], "bank_txn_ref": "FT26140123999",
                                      "amount_vnd": payment["amount_vnd"], "currency": "VND", "status": "SUCCESS",
                                      "paid_at": "2026-05-20T10:01:02+07:00"}).status_code == 200
    view = wait_for(lambda: (p := _progress(api, agency))["completed_steps"] >= 4 and p, 60, "step 4")
    assert {t for e in view["steps"][3]["evidence"] for t in e["api_types"]} == {"notice", "payment_result",
                                                                                "receipt_file"}
    # 5. The confirmation request with the step-4 evidence; 6. the government office confirms.
    proof = upload(api, admin, "minh-chung-giao-dich.pdf", PDF)
    r = api.s.post(f"{api.url}/v1/support-requests", headers=admin, json=form(
        short, "integration_confirmation", attachments=[proof], evidence={"attachment_ids": [proof["attachment_id"]]},
        title=f"Tỉnh {short}- Đề nghị xác nhận tích hợp thanh toán nghĩa vụ tài chính đất đai thành công"))
    assert r.status_code == 201, r.text
    assert _progress(api, agency)["completed_steps"] == 5
    link = api.s.get(f"{api.url}/v1/support-requests/{r.json()['request_id']}/attachments/"
                     f"{proof['attachment_id']}", headers=operator).json()
    assert api.s.get(link["url"], timeout=10).content == PDF
    tags = boto3.client("s3", region_name=REGION).get_object_tagging(
        Bucket=stack.env["DOCUMENTS_BUCKET"], Key=f"support-attachments/{proof['attachment_id']}")["TagSet"]
    assert tags == [{"Key": "lfo-scan", "Value": "accepted"}]  # out of the abandoned-upload expiry rule
    r = api.s.post(f"{api.url}/v1/support-requests/{r.json()['request_id']}/status", headers=operator,
                   json={"status": "done"})
    assert r.status_code == 200, r.text
    view = _progress(api, agency)
    assert view["live"] and view["step"] is None and [s["passed"] for s in view["steps"]] == [True] * 6
    board = api.s.get(f"{api.url}/v1/onboarding/provinces", headers=operator).json()
    assert board["total"] == 34 and agency in board["live"]
    mine = api.s.get(f"{api.url}/v1/onboarding/provinces", headers=admin).json()
    assert [p["agency_code"] for p in mine["provinces"]] == [agency]


# --- refusals --------------------------------------------------------------------------------------------------------

def test_attachments_whose_content_lies_about_their_type_are_refused(api):
    short = "H13"
    admin = auth("province_admin", short)
    lying = upload(api, admin, "bien-ban.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 4000)  # a Windows program
    renamed = upload(api, admin, "anh-chup.png", b"\xff\xd8\xff\xe0" + b"\x00" * 4000)  # a JPEG named .png
    for files, code in (([lying], "ATTACHMENT_CONTENT_UNKNOWN"), ([renamed], "ATTACHMENT_CONTENT_MISMATCH")):
        r = api.s.post(f"{api.url}/v1/support-requests", headers=admin, json=form(short, attachments=files))
        body = assert_problem(r, 422, "VALIDATION_FAILED")
        assert body["errors"][0]["code"] == code and body["errors"][0]["field"] == "attachments.0"
    r = api.s.get(f"{api.url}/v1/support-requests?unit_code=000.00.00.H13", headers=auth())
    assert r.status_code == 200 and r.json()["items"] == []  # nothing stored


def test_province_admins_are_refused_outside_their_province_and_operator_actions(api):
    own, other = "H01", "H15"
    r = api.s.post(f"{api.url}/v1/support-requests", headers=auth("province_admin", own), json=form(own))
    assert r.status_code == 201, r.text
    rid = r.json()["request_id"]
    stranger = auth("province_admin", other)
    assert_problem(api.s.get(f"{api.url}/v1/support-requests/{rid}", headers=stranger), 403, "PROVINCE_FORBIDDEN")
    assert_problem(api.s.post(f"{api.url}/v1/support-requests/{rid}/comments", headers=stranger,
                              json={"text": "?"}), 403, "PROVINCE_FORBIDDEN")
    assert_problem(api.s.get(f"{api.url}/v1/support-requests?unit_code=000.00.00.{own}", headers=stranger), 403,
                   "PROVINCE_FORBIDDEN")
    assert_problem(api.s.post(f"{api.url}/v1/support-requests", headers=stranger,
                              json=form(other, unit_code=f"000.00.00.{own}")), 403, "PROVINCE_FORBIDDEN")
    assert_problem(api.s.get(f"{api.url}/v1/onboarding/provinces/000.00.00.{own}", headers=stranger), 403,
                   "PROVINCE_FORBIDDEN")
    mine = auth("province_admin", own)
    assert_problem(api.s.post(f"{api.url}/v1/support-requests/{rid}/apply", headers=mine), 403, "ROLE_FORBIDDEN")
    assert_problem(api.s.post(f"{api.url}/v1/onboarding/provinces/000.00.00.{own}/override", headers=mine,
                              json={"step": 2, "reason": "Tỉnh tự xác nhận bước này"}), 403, "ROLE_FORBIDDEN")
    assert_problem(api.s.post(f"{api.url}/v1/support-requests/{rid}/status", headers=mine,
                              json={"status": "done"}), 403, "STATUS_TRANSITION_FORBIDDEN")
    assert_problem(api.s.post(f"{api.url}/v1/support-requests", headers=auth(), json=form(own)), 403,
                   "ROLE_FORBIDDEN")  # operators process, they do not file
    listed = api.s.get(f"{api.url}/v1/support-requests", headers=stranger).json()
    assert rid not in [i["request_id"] for i in listed["items"]]
    r = api.s.post(f"{api.url}/v1/support-requests/{rid}/status", headers=mine, json={"status": "cancelled"})
    assert r.status_code == 200 and r.json()["status_label"] == "Hủy yêu cầu"
