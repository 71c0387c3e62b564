"""Reminders on the running local stack: the intake stores a notice's reminders (phone sealed), the scheduled job run
with a controlled clock sends the 7-day reminder through the outbox and SNS, the citizen's "TC" through the SMS
gateway's signed webhook stops the next one at once."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta

from chalicelib.core.clock import VN_TZ, FixedClock
from tests.e2e.test_accounts_journey import sms_to


def _inbound(api, phone: str, text: str):
    from chalicelib.core.webhooks import sign_webhook
    from chalicelib.local.devkeys import LOCAL_SMS_GATEWAY_SECRET

    body = json.dumps({"phone": phone, "text": text}).encode()
    headers = sign_webhook(body, LOCAL_SMS_GATEWAY_SECRET, f"msg_{uuid.uuid4().hex}", int(time.time()))
    return api.s.post(f"{api.url}/v1/partners/sms/inbound", data=body,
                      headers={**headers, "Content-Type": "application/json"}, timeout=10)


def test_reminders_go_at_their_time_and_stop_at_once_on_opt_out(stack, api):
    import boto3

    from chalicelib.bootstrap import context
    from chalicelib.reminders.services import send_due_reminders

    phone = f"+8490{uuid.uuid4().int % 10**7:07d}"
    from datetime import date

    dossier, number, payload = api.new_notice(phone="0" + phone[3:])
    due = date.fromisoformat(payload["notices"][0]["due_date"])
    raw = json.dumps(boto3.client("dynamodb", endpoint_url=stack.endpoint, region_name="ap-southeast-1").get_item(
        TableName=stack.env["LEDGER_TABLE"], Key={"pk": {"S": f"RMD#{dossier}#{number}"}, "sk": {"S": "REMINDER"}}))
    assert phone[3:] not in raw and '"kind": {"S": "reminder"}' in raw  # stored, phone sealed

    seven = context().replace(clock=FixedClock(datetime.combine(due - timedelta(days=7), datetime.min.time(),
                                                                VN_TZ) + timedelta(hours=8)))
    before = len(sms_to(phone, at_least=1))  # the notice SMS
    assert send_due_reminders(seven)["sent"] >= 1
    texts = sms_to(phone, at_least=before + 1)
    assert number in texts[-1] and f"{due:%d/%m}" in texts[-1]

    assert _inbound(api, "0" + phone[3:], "TC").json() == {"action": "opted_out"}
    one = context().replace(clock=FixedClock(datetime.combine(due - timedelta(days=1), datetime.min.time(), VN_TZ)
                                             + timedelta(hours=8)))
    assert send_due_reminders(one)["sent"] >= 1  # written...
    time.sleep(1.5)
    assert len(sms_to(phone, at_least=0)) == before + 1  # ...but not sent: the phone opted out


def test_an_inbound_sms_without_the_gateways_signature_is_refused(api):
    r = api.s.post(f"{api.url}/v1/partners/sms/inbound", json={"phone": "0912345678", "text": "TC"}, timeout=10)
    assert r.status_code == 401 and r.json()["code"] == "INVALID_SIGNATURE"
