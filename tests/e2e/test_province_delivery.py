"""M6/M11/M12 on the running local stack: real HTTP to the API and to the simulated province, real boto3 to moto,
the SQS poller invoking the same consumer Lambda would. The test stage compresses the retry schedule (scale 0): the
17 attempts and the dead-letter move are as in AWS, the waits between them are not."""
from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest

from tests.conftest import assert_problem
from tests.e2e.provinces import next_province

REGION = "ap-southeast-1"


_tokens: dict[tuple[str, str | None], str] = {}


def token(role: str, province: str | None = None) -> str:
    """A real user of the local pool with this role (a province administrator of ``province``, e.g. H60 or 60,
    from the directory), signed in through the API once per module and role."""
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
        time.sleep(0.05)


@pytest.fixture()
def fresh_province(api, stack):
    """A real province of its own (one of the 34, with its own statistics code, name and collecting unit) pointed
    at the simulated province through the registry API."""
    from chalicelib.local import devkeys

    province = next_province()
    short, agency = province.agency_code, f"000.00.00.{province.agency_code}"
    for api_type in ("notice", "payment_result", "receipt_file"):
        r = api.s.put(f"{api.url}/v1/provinces/{agency}/apis/{api_type}", headers=auth(), json={
            "province_code": province.stats_code, "province_name": province.name, "unit_code": agency,
            "session_url": f"{stack.province_url}/p/{short}/session",
            "data_url": f"{stack.province_url}/p/{short}/{api_type}",
            "credentials": {"username": devkeys.LOCAL_PROVINCE_USERNAME, "password": devkeys.LOCAL_PROVINCE_PASSWORD},
            "connect_timeout_s": 1, "read_timeout_s": 1})
        assert r.status_code == 200, r.text
    secrets = boto3.client("secretsmanager", region_name=REGION)

    def stored() -> bool:  # the outbox consumer writes the credentials within seconds
        try:
            return all(json.loads(secrets.get_secret_value(
                SecretId=f"lfo/{stack.stage}/provinces/{agency}/{t}")["SecretString"]).get("version", 0) >= 1
                for t in ("notice", "payment_result", "receipt_file"))
        except secrets.exceptions.ResourceNotFoundException:
            return False

    wait_for(stored, 30, "the province credentials in the secret store")
    r = api.s.put(f"{api.url}/v1/alert-contacts/{agency}/land_tax_payment", headers=auth(),
                  json={"phones": ["0912 345 601"], "emails": [f"canhbao-{short.lower()}@tinh.example.vn"]})
    assert r.status_code == 200, r.text
    return short, agency


def paid_receipt(api, short: str) -> str:
    from chalicelib.local.demo import demo_notice

    dossier = f"000.00.{uuid.uuid4().int % 100:02d}.{short}-260520-{uuid.uuid4().int % 10000:04d}"
    payload = demo_notice(dossier, (1_378_500,))
    assert api.send_notices(payload).status_code == 200
    r = api.pay(dossier, payload["notices"][0]["notice_number"])
    assert r.status_code == 201, r.text
    payment = r.json()
    r = api.bank_callback("BIDV", {"payment_id": payment["payment_id"], "bank_txn_ref": "FT26140123456",
                                   "amount_vnd": payment["amount_vnd"], "currency": "VND", "status": "SUCCESS",
                                   "paid_at": "2026-05-20T10:01:02+07:00"})
    assert r.status_code == 200, r.text
    return "RCP" + payment["payment_id"][3:]


def delivery_state(api, receipt_id: str) -> str:
    return api.s.get(f"{api.url}/v1/receipts/{receipt_id}", headers=api.access(receipt_id),
                     timeout=10).json()["delivery_state"]


def _dlq_count(stack) -> int:
    attrs = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=stack.env["FORWARDING_DLQ_URL"], AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def _sms_to(text_part: str) -> list:
    from moto.sns.models import sns_backends

    return [m for m in sns_backends["123456789012"][REGION].sms_messages.values() if text_part in m[1]]


# --- the happy path and the outage scenarios -------------------------------------------------------------------------

def test_a_receipt_reaches_its_province_once_and_the_receipt_says_delivered(api, stack, fresh_province):
    short, agency = fresh_province
    receipt_id = paid_receipt(api, short)
    wait_for(lambda: delivery_state(api, receipt_id) == "DELIVERED", what="DELIVERED")
    got = stack.province.received(short)
    assert got["by_message_id"][f"{receipt_id}:payment_result"] == 1
    assert got["by_message_id"][f"{receipt_id}:receipt_file"] == 1
    assert got["types"] == {"notice": 1, "payment_result": 1, "receipt_file": 1}
    file = stack.province.payload(short, f"{receipt_id}:receipt_file")
    import base64

    assert base64.b64decode(file["content_base64"]).startswith(b"%PDF")
    stats = api.s.get(f"{api.url}/v1/provinces/{agency}/deliveries", headers=auth("province_admin", short)).json()
    assert stats["delivered"] == 2 and stats["pending"] == stats["failing"] == stats["dead"] == 0  # notice + receipt


def test_province_down_for_the_whole_window_dead_letters_alerts_once_loses_nothing_and_is_redriven(
        api, stack, fresh_province):
    short, agency = fresh_province
    sqs, sns = boto3.client("sqs", region_name=REGION), boto3.client("sns", region_name=REGION)
    inbox = sqs.create_queue(QueueName=f"email-probe-{short}")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=stack.env["ALERT_EMAILS_TOPIC_ARN"], Protocol="sqs", Endpoint=inbox_arn,
                  Attributes={"FilterPolicy": json.dumps({"recipient": [f"canhbao-{short.lower()}@tinh.example.vn"]}),
                              "RawMessageDelivery": "true"})
    dlq_before = _dlq_count(stack)
    stack.province.control(short, mode="500")
    receipts = [paid_receipt(api, short) for _ in range(4)]
    wait_for(lambda: all(delivery_state(api, r) == "DEAD" for r in receipts), 60, "DEAD")
    wait_for(lambda: _dlq_count(stack) - dlq_before == 8, 30, "4 receipts + 4 notices in the DLQ")
    assert stack.province.received(short)["unique"] == 0

    from chalicelib.bootstrap import context as province_services

    alerts = province_services().registry.list_alerts(agency)
    assert [a["kind"] for a in alerts] == ["DELIVERY_DEAD"]  # one burst for the whole outage
    assert alerts[0]["sms"] == 1 and alerts[0]["emails"] == 1
    from chalicelib.core.admin_units import province_of

    sms = _sms_to(province_of(short).name)
    assert len(sms) == 1 and sms[0][0] == "+84912345601" and "không gửi được về địa phương" in sms[0][1]
    emails = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert len(emails) == 1 and "Kính gửi" in emails[0]["Body"]
    stats = api.s.get(f"{api.url}/v1/provinces/{agency}/deliveries", headers=auth()).json()
    assert stats["dead"] == 8 and stats["failing_since"]  # 4 receipts + their 4 notices

    assert_problem(api.s.post(f"{api.url}/v1/provinces/{agency}/deliveries/redrive",
                              headers=auth("province_admin", short)), 403, "ROLE_FORBIDDEN")
    stack.province.control(short, mode="ok")
    r = api.s.post(f"{api.url}/v1/provinces/{agency}/deliveries/redrive", headers=auth())
    assert r.status_code == 200, r.text
    assert r.json()["redriven"] == 8 and r.json()["dead_letters_removed"] == 8
    wait_for(lambda: all(delivery_state(api, x) == "DELIVERED" for x in receipts), 30, "DELIVERED after re-drive")
    wait_for(lambda: stack.province.received(short)["unique"] == 12, 30, "12 unique messages")
    assert _dlq_count(stack) == dlq_before


def test_province_down_then_back_every_receipt_delivered_exactly_once_in_effect(api, stack, fresh_province):
    short, _ = fresh_province
    stack.province.control(short, mode="500", times=12)
    receipts = [paid_receipt(api, short) for _ in range(5)]
    wait_for(lambda: all(delivery_state(api, r) == "DELIVERED" for r in receipts), 60, "DELIVERED")
    got = stack.province.received(short)
    expected = {f"{r}:{t}" for r in receipts for t in ("payment_result", "receipt_file")}
    assert expected <= set(got["by_message_id"]) and got["unique"] == 15  # + the 5 notices
    assert got["data_calls"] > got["total"]  # the 500s happened, and were retried


def test_token_expiry_mid_stream_costs_one_refresh_per_api(api, stack, fresh_province):
    short, _ = fresh_province
    first = paid_receipt(api, short)
    wait_for(lambda: delivery_state(api, first) == "DELIVERED")
    before = stack.province.received(short)
    stack.province.control(short, expire_tokens=True)
    second = paid_receipt(api, short)
    wait_for(lambda: delivery_state(api, second) == "DELIVERED")
    after = stack.province.received(short)
    assert after["session_calls"] - before["session_calls"] == 3  # notice, payment result, receipt file
    assert after["data_calls"] - before["data_calls"] == 6  # each refused once with 401, then accepted


def test_a_slow_province_beyond_the_timeout_is_retried(api, stack, fresh_province):
    short, _ = fresh_province
    first = paid_receipt(api, short)  # tokens in the cache, notice delivered
    wait_for(lambda: delivery_state(api, first) == "DELIVERED")
    stack.province.control(short, mode="timeout", times=1, delay_s=1.5)  # read timeout is 1 s
    receipt_id = paid_receipt(api, short)
    wait_for(lambda: delivery_state(api, receipt_id) == "DELIVERED", 30)
    # The timed-out call still reaches the province, late: it is counted on the wire, not applied twice.
    late = wait_for(lambda: [m for m, n in stack.province.received(short)["by_message_id"].items() if n == 2], 10,
                    "the late copy")
    got = stack.province.received(short)
    assert len(late) == 1 and max(got["by_message_id"].values()) == 2
    assert f"{receipt_id}:payment_result" in got["by_message_id"]


def test_a_queue_down_when_the_receipt_is_committed_delays_it_and_the_outbox_sweep_sends_it_once(
        api, stack, fresh_province, monkeypatch):
    """The receipt's forwarding intent is written with the payment: the bank gets its answer whatever SQS does, the
    stream consumer's failed send leaves the intent PENDING, and the scheduled outbox sweep sends it, once."""
    from datetime import timedelta

    import app as app_module
    from chalicelib.bootstrap import context
    from chalicelib.core.clock import FixedClock
    from chalicelib.outbox.services import sweep

    short, _ = fresh_province
    forwarding = context().forwarding

    def queue_down(*receipt):
        raise RuntimeError("SQS is unavailable")

    monkeypatch.setattr(forwarding, "enqueue_receipt_doc", queue_down)
    from chalicelib.local.demo import demo_notice

    dossier = f"000.00.01.{short}-260520-{uuid.uuid4().int % 10000:04d}"
    payload = demo_notice(dossier, (2_000_000,))
    api.send_notices(payload)
    payment = api.pay(dossier, payload["notices"][0]["notice_number"]).json()
    r = api.bank_callback("BIDV", {"payment_id": payment["payment_id"], "bank_txn_ref": "FT1", "amount_vnd": 2_000_000,
                                   "currency": "VND", "status": "SUCCESS"})
    assert r.json() == {"result": "applied"}  # the bank's answer no longer waits on the queue
    receipt_id = "RCP" + payment["payment_id"][3:]
    wait_for(lambda: _outbox_states(stack, "forward_receipt", receipt_id) == ["PENDING:1"], 10, "a failed send")
    monkeypatch.undo()
    assert delivery_state(api, receipt_id) == "PENDING"
    assert f"{receipt_id}:payment_result" not in stack.province.received(short)["by_message_id"]

    # The scheduled entry point leaves it alone until its retry delay has passed ...
    assert app_module.sweep_outbox(_SCHEDULED, None)["sent"] == 0
    # ... and then sends it, once.
    later = context().replace(clock=FixedClock(context().clock.now() + timedelta(minutes=2)))
    assert sweep(later)["sent"] >= 1
    wait_for(lambda: delivery_state(api, receipt_id) == "DELIVERED", 30)
    assert stack.province.received(short)["by_message_id"][f"{receipt_id}:payment_result"] == 1
    assert _outbox_states(stack, "forward_receipt", receipt_id) == ["SENT:1"]


_SCHEDULED = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012",
              "time": "2026-05-20T03:00:00Z", "region": REGION, "resources": [], "detail": {}, "id": "1"}


def _outbox_states(stack, kind: str, ref: str) -> list[str]:
    """state:attempts of the outbox intents of `kind` about `ref` (what operators see of them)."""
    items = boto3.client("dynamodb").scan(
        TableName=stack.env["LEDGER_TABLE"], FilterExpression="intent_kind = :k AND #ref = :r",
        ExpressionAttributeNames={"#ref": "ref"}, ExpressionAttributeValues={":k": {"S": kind}, ":r": {"S": ref}})["Items"]
    return [f"{i['state']['S']}:{i.get('attempts', {}).get('N', '0')}" for i in items]


# --- registry, contacts and API check over HTTP ------------------------------------------------------------------------

def test_registry_api_roles_scope_audit_and_no_credentials_out(api, stack, fresh_province):
    short, agency = fresh_province
    from chalicelib.local import devkeys

    r = api.s.get(f"{api.url}/v1/provinces/{agency}/apis", headers=auth("province_admin", short))
    assert r.status_code == 200 and len(r.json()["apis"]) == 3
    assert devkeys.LOCAL_PROVINCE_PASSWORD not in r.text and all(a["has_credentials"] for a in r.json()["apis"])
    assert_problem(api.s.get(f"{api.url}/v1/provinces/{agency}/apis", headers=auth("province_admin", "22")),
                   403, "PROVINCE_FORBIDDEN")
    assert_problem(api.s.get(f"{api.url}/v1/provinces/{agency}/apis", headers=auth("citizen")), 403, "ROLE_FORBIDDEN")
    assert_problem(api.s.get(f"{api.url}/v1/provinces/{agency}/apis"), 401, "TOKEN_MISSING")
    r = api.s.post(f"{api.url}/v1/provinces/{agency}/apis/notice/disable", headers=auth("province_admin", short))
    assert r.status_code == 200 and r.json()["active"] is False
    trail = api.s.get(f"{api.url}/v1/provinces/{agency}/audit", headers=auth()).json()["records"]
    assert trail[0]["action"] == "api_disabled" and trail[0]["by"].startswith("province-admin-")
    assert devkeys.LOCAL_PROVINCE_PASSWORD not in json.dumps(trail)
    bad = api.s.put(f"{api.url}/v1/provinces/{agency}/apis/notice", headers=auth(), json={
        "province_code": "6", "province_name": "x", "unit_code": "bad", "session_url": "gopher://x",
        "data_url": "http://169.254.169.254/latest"})
    body = assert_problem(bad, 422, "VALIDATION_FAILED")
    assert {"province_code", "province_name", "unit_code"} <= {e["field"] for e in body["errors"]}


def test_alert_contacts_over_http(api, fresh_province):
    _, agency = fresh_province
    url = f"{api.url}/v1/alert-contacts/{agency}/land_tax_payment"
    r = api.s.put(url, headers=auth(), json={"phones": ["+84 912 345 602", "0912345603"], "emails": ["A@Tinh.VN"]})
    assert r.status_code == 200 and r.json()["phones"] == ["+84912345602", "+84912345603"]
    assert api.s.get(url, headers=auth()).json()["emails"] == ["A@tinh.vn"]
    assert any(c["unit_code"] == agency for c in api.s.get(f"{api.url}/v1/alert-contacts", headers=auth()).json()["contacts"])
    assert_problem(api.s.put(url, headers=auth(), json={"phones": ["12345"]}), 422, "VALIDATION_FAILED")
    assert api.s.delete(url, headers=auth()).status_code == 204
    assert_problem(api.s.get(url, headers=auth()), 404, "ALERT_CONTACTS_NOT_FOUND")


def test_api_check_shows_the_answer_does_not_follow_redirects_and_refuses_metadata(api, stack, fresh_province):
    short, agency = fresh_province
    r = api.s.post(f"{api.url}/v1/provinces/{agency}/apis/payment_result/check", headers=auth("province_admin", short),
                   json={"body": {"message_id": f"check-{uuid.uuid4().hex}"}})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["session"]["token_received"] and result["data"]["status"] == 200
    assert "Đã tiếp nhận" in result["data"]["body"] and result["data"]["latency_ms"] >= 0

    hits = stack.province.canary_hits
    r = api.s.post(f"{api.url}/v1/api-checks", headers=auth(), json={
        "url": f"{stack.province_url}/redirect?to={stack.province_url}/canary", "api_type": "notice", "body": {}})
    assert r.status_code == 200 and r.json()["status"] == 302 and r.json()["redirect_not_followed"] is True
    assert stack.province.canary_hits == hits
    for url in ("http://169.254.169.254/latest/meta-data/", "http://2130706433/", "http://10.0.0.1/"):
        r = api.s.post(f"{api.url}/v1/api-checks", headers=auth(), json={"url": url, "api_type": "notice", "body": {}})
        assert r.status_code == 422 and r.json()["code"].startswith("URL_"), r.text
    trail = api.s.get(f"{api.url}/v1/provinces/ADHOC/audit", headers=auth())
    assert trail.status_code == 422  # not a province code: ad-hoc checks are audited under ADHOC, read via the table
    from chalicelib.bootstrap import context as province_services

    actions = [a["action"] for a in province_services().registry.list_audit("ADHOC")]
    assert actions[:3] == ["api_check_refused"] * 3 and "api_check" in actions


def test_deliveries_of_one_state_are_listed_newest_first_in_pages_scoped_to_the_province(api, stack, fresh_province):
    short, agency = fresh_province
    stack.province.control(short, mode="500")
    receipts = [paid_receipt(api, short) for _ in range(2)]
    wait_for(lambda: all(delivery_state(api, r) == "DEAD" for r in receipts), 60, "DEAD")
    url = f"{api.url}/v1/provinces/{agency}/deliveries"
    admin = auth("province_admin", short)
    first = api.s.get(url, params={"state": "dead", "kind": "receipt", "limit": 1}, headers=admin).json()
    assert first["dead"] == 4 and first["state"] == "dead" and len(first["items"]) == 1  # 2 receipts + 2 notices
    item = first["items"][0]
    assert item["kind"] == "receipt" and item["state"] == "DEAD" and item["attempts"] >= 2 and item["last_error"]
    assert item["amount_vnd"] == 1_378_500 and f".{short}-" in item["dossier_code"]
    assert "payer_name" not in item and "doc" not in item
    second = api.s.get(url, params={"state": "dead", "kind": "receipt", "limit": 1, "cursor": first["next_cursor"]},
                       headers=admin).json()
    assert {first["items"][0]["subject_id"], second["items"][0]["subject_id"]} == set(receipts)
    assert "next_cursor" not in second or api.s.get(url, params={
        "state": "dead", "kind": "receipt", "cursor": second["next_cursor"]}, headers=admin).json()["items"] == []
    notices = api.s.get(url, params={"state": "dead", "kind": "notice"}, headers=admin).json()["items"]
    assert len(notices) == 2 and all(n["kind"] == "notice" and n["notice_number"] for n in notices)
    plain = api.s.get(url, headers=admin).json()
    assert "items" not in plain and "state" not in plain
    # A cursor is a position in this listing only: another state's or garbage is refused.
    assert_problem(api.s.get(url, params={"state": "pending", "cursor": first["next_cursor"]}, headers=admin),
                   422, "CURSOR_INVALID")
    assert_problem(api.s.get(url, params={"state": "dead", "cursor": "bm9wZQ"}, headers=admin), 422, "CURSOR_INVALID")
    assert_problem(api.s.get(url, params={"state": "lost"}, headers=admin), 422, "VALIDATION_FAILED")
    assert_problem(api.s.get(url, params={"state": "dead"}, headers=auth("province_admin", "H35")), 403,
                   "PROVINCE_FORBIDDEN")
