"""The payment loop as partners and citizens see it: real HTTP to the local stack, real signatures, moto behind."""
from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import assert_problem

ID = "035095001234"


def _pay_ok(api, dossier, number, bank="BIDV"):
    r = api.pay(dossier, number, bank)
    assert r.status_code == 201, r.text
    return r.json()


def _success(payment, **over):
    return {"payment_id": payment["payment_id"], "bank_txn_ref": "FT26140123456",
            "amount_vnd": payment["amount_vnd"], "currency": "VND", "status": "SUCCESS",
            "paid_at": "2026-05-20T10:01:02+07:00", **over}


# --- M1 intake -----------------------------------------------------------------------------------------------------

def test_notice_versions_unchanged_replaced_and_locked(api):
    dossier, number, payload = api.new_notice()
    r = api.send_notices(payload)
    assert r.json() == {"accepted": 0, "unchanged": 1}

    v2 = {**payload, "notices": [{**payload["notices"][0], "version": 2,
                                  "items": payload["notices"][0]["items"][:1],
                                  "total_vnd": payload["notices"][0]["items"][0]["amount_vnd"]}]}
    assert api.send_notices(v2).json() == {"accepted": 1, "unchanged": 0}
    found = api.s.post(f"{api.url}/v1/lookup", json={"dossier_code": dossier, "id_number": ID}).json()
    assert found["notices"][0]["total_vnd"] == 1_378_500 and found["notices"][0]["version"] == 2

    payment = _pay_ok(api, dossier, number)
    assert payment["amount_vnd"] == 1_378_500
    v3 = {**v2, "notices": [{**v2["notices"][0], "version": 3}]}
    assert_problem(api.send_notices(v3), 409, "NOTICE_LOCKED")  # in payment
    assert api.bank_callback("BIDV", _success(payment)).status_code == 200
    assert_problem(api.send_notices(v3), 409, "NOTICE_LOCKED")  # paid
    again = api.s.post(f"{api.url}/v1/lookup", json={"dossier_code": dossier, "id_number": ID}).json()
    assert again["notices"][0]["version"] == 2 and again["notices"][0]["status"] == "paid"


def test_bad_signature_and_stale_or_future_timestamps_are_refused(api):
    from chalicelib.local.demo import demo_notice

    payload = demo_notice("000.00.43.H35-260520-0001")
    wrong = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQQ=="
    assert_problem(api.send_notices(payload, secret=wrong), 401, "INVALID_SIGNATURE")
    assert_problem(api.send_notices(payload, timestamp=int(time.time()) - 301), 401, "INVALID_SIGNATURE")
    # The server reads its clock a moment after ours: one extra second keeps "301 s ahead" from becoming 300 s.
    # The exact 300/301 boundary is pinned with an injected clock in tests/unit/test_webhooks.py.
    assert_problem(api.send_notices(payload, timestamp=int(time.time()) + 302), 401, "INVALID_SIGNATURE")
    r = api.s.post(f"{api.url}/v1/partners/notices", json=payload, timeout=10)  # unsigned
    assert_problem(r, 401, "INVALID_SIGNATURE")
    # Nothing was stored by any refused call.
    r = api.s.post(f"{api.url}/v1/lookup", json={"dossier_code": "000.00.43.H35-260520-0001", "id_number": ID})
    assert_problem(r, 404, "DOSSIER_NOT_FOUND")


def test_tampered_body_with_valid_headers_is_refused(api):
    import json
    import uuid

    from chalicelib.core.webhooks import sign_webhook
    from chalicelib.local.demo import demo_notice
    from chalicelib.local.devkeys import LOCAL_TAX_AUTHORITY_SECRET

    body = json.dumps(demo_notice("000.00.43.H35-260520-0002")).encode()
    headers = sign_webhook(body, LOCAL_TAX_AUTHORITY_SECRET, f"msg_{uuid.uuid4().hex}", int(time.time()))
    tampered = body.replace(b"1378500", b"1378000")
    r = api.s.post(f"{api.url}/v1/partners/notices", data=tampered,
                   headers={**headers, "Content-Type": "application/json"})
    assert_problem(r, 401, "INVALID_SIGNATURE")


def test_intake_validation_errors_are_problem_json_with_field_errors(api):
    from chalicelib.local.demo import demo_notice

    payload = demo_notice("000.00.43.H35-260520-0003")
    payload["notices"][0]["total_vnd"] += 1
    payload["notices"][0]["items"][0]["amount_vnd"] = 0
    body = assert_problem(api.send_notices(payload), 422, "VALIDATION_FAILED")
    codes = {e["code"] for e in body["errors"]}
    assert "MUST_BE_POSITIVE" in codes
    tax = demo_notice("000.00.43.H35-260520-0004")
    tax["commune_code_system"] = "tax"
    body = assert_problem(api.send_notices(tax), 422, "COMMUNE_CODE_SYSTEM_UNSUPPORTED")  # declared, not malformed
    assert body["errors"][0]["code"] == "COMMUNE_CODE_SYSTEM_UNSUPPORTED"


def test_body_limits_and_media_types(api):
    big = b"{" + b" " * (300 * 1024) + b"}"
    r = api.s.post(f"{api.url}/v1/lookup", data=big, headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "PAYLOAD_TOO_LARGE")
    r = api.s.post(f"{api.url}/v1/lookup", data=b"{not json", headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "BODY_NOT_JSON")
    r = api.s.post(f"{api.url}/v1/lookup", data=b"a=b", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    r = api.s.post(f"{api.url}/v1/lookup", json=[1, 2])
    assert_problem(r, 400, "BODY_NOT_OBJECT")


# --- M2 lookup -------------------------------------------------------------------------------------------------------

def test_wrong_id_is_indistinguishable_from_unknown_dossier(api):
    dossier, _, _ = api.new_notice()
    wrong = api.s.post(f"{api.url}/v1/lookup", json={"dossier_code": dossier, "id_number": "001099012345"})
    unknown = api.s.post(f"{api.url}/v1/lookup",
                         json={"dossier_code": "000.00.99.H35-260520-9999", "id_number": ID})
    a, b = assert_problem(wrong, 404, "DOSSIER_NOT_FOUND"), assert_problem(unknown, 404, "DOSSIER_NOT_FOUND")
    a.pop("instance", None), b.pop("instance", None)
    assert a == b
    ok = api.s.post(f"{api.url}/v1/lookup", json={"dossier_code": dossier, "id_number": " 035 095 001 234 "})
    assert ok.status_code == 200
    assert isinstance(ok.json()["notices"][0]["total_vnd"], int)


# --- M3 payments ---------------------------------------------------------------------------------------------------

def test_a_dossier_code_takes_five_wrong_guesses_then_waits_known_or_unknown(api):
    dossier, _, _ = api.new_notice()
    unknown = f"000.00.09.H35-260520-{uuid.uuid4().int % 10000:04d}"
    for code in (dossier, unknown):
        for _ in range(5):
            r = api.s.post(f"{api.url}/v1/lookup", json={"dossier_code": code, "id_number": "036095001234"})
            assert_problem(r, 404, "DOSSIER_NOT_FOUND")
        r = api.s.post(f"{api.url}/v1/lookup", json={"dossier_code": code, "id_number": ID})
        assert_problem(r, 429, "LOOKUP_TOO_MANY_ATTEMPTS")
        assert 0 < int(r.headers["Retry-After"]) <= 30


def test_idempotency_key_replays_and_refuses_other_body(api):
    dossier, number, _ = api.new_notice()
    first = api.pay(dossier, number, key="key-123-abc")
    again = api.pay(dossier, number, key="key-123-abc")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = api.pay(dossier, number, bank_code="ICB", key="key-123-abc")
    assert_problem(other, 409, "IDEMPOTENCY_KEY_REUSED")
    assert_problem(api.pay(dossier, number), 409, "PAYMENT_IN_PROGRESS")


def test_two_concurrent_initiations_leave_one_live_payment(api):
    dossier, number, _ = api.new_notice()
    barrier = threading.Barrier(2)

    def go(_):
        import requests

        barrier.wait()
        with requests.Session() as s:
            return s.post(f"{api.url}/v1/payments", json={
                "dossier_code": dossier, "id_number": ID, "notice_number": number, "bank_code": "BIDV"}, timeout=10)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(go, range(2)))
    assert sorted(r.status_code for r in results) == [201, 409]
    assert [r for r in results if r.status_code == 409][0].json()["code"] == "PAYMENT_IN_PROGRESS"


def test_signed_in_citizen_needs_a_link_for_single_sign_on_bank(api):
    from chalicelib.local.identities import new_identity

    token = new_identity(api.url, "citizen").access_token
    dossier, number, _ = api.new_notice()
    assert_problem(api.pay(dossier, number, bank_code="VCB", token=token), 403, "BANK_ACCOUNT_NOT_LINKED")
    r = api.pay(dossier, number, bank_code="VCB")  # anonymous: the non-single-sign-on way
    assert r.status_code == 201 and "/ib/login?" in r.json()["redirect_url"]
    assert_problem(api.pay(dossier, number, token="not-a-token"), 401, "TOKEN_INVALID")


def test_cancel_frees_the_notice(api):
    dossier, number, _ = api.new_notice()
    p = _pay_ok(api, dossier, number)
    r = api.s.post(f"{api.url}/v1/payments/{p['payment_id']}/cancel", headers=api.access(p["payment_id"]))
    assert r.status_code == 200 and r.json()["state"] == "CANCELLED", r.text
    assert _pay_ok(api, dossier, number)["state"] == "PENDING_BANK"


# --- M4 bank results + M5 receipts -------------------------------------------------------------------------------

def test_twenty_concurrent_duplicate_callbacks_give_one_receipt(api, stack):
    dossier, number, _ = api.new_notice()
    p = _pay_ok(api, dossier, number)
    body = _success(p)
    barrier = threading.Barrier(20)

    def go(_):
        barrier.wait()
        return api.bank_callback("BIDV", body)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(go, range(20)))
    assert all(r.status_code == 200 for r in results), [r.text for r in results if r.status_code != 200]
    outcomes = sorted(r.json()["result"] for r in results)
    assert outcomes.count("applied") == 1 and outcomes.count("duplicate") == 19

    from chalicelib import bootstrap
    from chalicelib.receipts.domain import receipt_id_for

    payment = bootstrap.context().ledger.get_payment(p["payment_id"])
    assert payment.state.value == "PAID"
    assert [h["state"] for h in payment.history].count("PAID") == 1
    assert payment.receipt_id == receipt_id_for(p["payment_id"])
    receipt = api.s.get(f"{api.url}/v1/receipts/{payment.receipt_id}", headers=api.access(payment.receipt_id)).json()
    assert receipt["amount_vnd"] == p["amount_vnd"]


def test_failed_after_success_changes_nothing(api):
    dossier, number, _ = api.new_notice()
    p = _pay_ok(api, dossier, number)
    assert api.bank_callback("BIDV", _success(p)).json() == {"result": "applied"}
    assert api.bank_callback("BIDV", _success(p)).json() == {"result": "duplicate"}
    assert_problem(api.bank_callback("BIDV", _success(p, status="FAILED")), 409, "PAYMENT_ALREADY_FINAL")
    state = api.s.get(f"{api.url}/v1/payments/{p['payment_id']}", headers=api.access(p["payment_id"])).json()
    assert state["state"] == "PAID" and state["receipt_id"]


def test_amount_mismatch_is_refused_recorded_and_alerted(api, stack):
    import json

    import boto3

    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    q = sqs.create_queue(QueueName=f"alerts-probe-{int(time.time() * 1000)}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=stack.env["ALERTS_TOPIC_ARN"], Protocol="sqs", Endpoint=arn)

    dossier, number, _ = api.new_notice()
    p = _pay_ok(api, dossier, number)
    assert_problem(api.bank_callback("BIDV", _success(p, amount_vnd=p["amount_vnd"] - 1)), 422, "AMOUNT_MISMATCH")
    assert_problem(api.bank_callback("BIDV", _success(p, currency="USD")), 422, "AMOUNT_MISMATCH")
    state = api.s.get(f"{api.url}/v1/payments/{p['payment_id']}", headers=api.access(p["payment_id"])).json()
    assert state["state"] == "PENDING_BANK" and "receipt_id" not in state
    found = api.s.post(f"{api.url}/v1/lookup", json={"dossier_code": dossier, "id_number": ID}).json()
    assert found["notices"][0]["status"] == "in_payment"

    from chalicelib import bootstrap

    anomalies = bootstrap.context().ledger.list_anomalies(p["payment_id"])
    assert [a["kind"] for a in anomalies] == ["AMOUNT_MISMATCH", "AMOUNT_MISMATCH"]
    messages = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=5).get("Messages", [])
    kinds = [json.loads(json.loads(m["Body"])["Message"])["kind"] for m in messages]
    assert "AMOUNT_MISMATCH" in kinds


def test_unknown_payment_and_unknown_bank(api):
    fake = {"payment_id": "PAYH3501AAAAAAAAAAAAAAAAAAAAAAAAAA", "bank_txn_ref": "FT1", "amount_vnd": 1,
            "currency": "VND", "status": "SUCCESS"}
    assert_problem(api.bank_callback("BIDV", fake), 404, "PAYMENT_NOT_FOUND")
    r = api.s.post(f"{api.url}/v1/partners/banks/NOPE/callbacks", json=fake)
    assert_problem(r, 404, "BANK_UNKNOWN")


def test_vnpay_ipn_success_duplicate_bad_signature_and_amount(api):
    from chalicelib.local.devkeys import LOCAL_VNPAY_HASH_SECRET
    from chalicelib.payments.adapters.vnpay import build_ipn_params

    dossier, number, _ = api.new_notice()
    p = _pay_ok(api, dossier, number, bank="MB")
    url = f"{api.url}/v1/partners/banks/vnpay/ipn"
    bad_amount = build_ipn_params(payment_id=p["payment_id"], amount_vnd=p["amount_vnd"] + 1000,
                                  hash_secret=LOCAL_VNPAY_HASH_SECRET, bank_txn_ref="14000001")
    assert api.s.get(url, params=bad_amount).json()["RspCode"] == "04"
    tampered = {**bad_amount, "vnp_Amount": str(p["amount_vnd"] * 100)}
    assert api.s.get(url, params=tampered).json()["RspCode"] == "97"
    good = build_ipn_params(payment_id=p["payment_id"], amount_vnd=p["amount_vnd"],
                            hash_secret=LOCAL_VNPAY_HASH_SECRET, bank_txn_ref="14000001")
    assert api.s.get(url, params=good).json() == {"RspCode": "00", "Message": "Confirm Success"}
    # The same IPN again (the gateway did not get our answer): the same answer, applied once (deduplicated by its
    # transaction number): one PAID in the history, one receipt.
    assert api.s.get(url, params=good).json() == {"RspCode": "00", "Message": "Confirm Success"}
    from chalicelib import bootstrap

    stored = bootstrap.context().ledger.get_payment(p["payment_id"])
    assert [h["state"] for h in stored.history].count("PAID") == 1 and stored.bank_txn_ref == "14000001"
    failed_after = build_ipn_params(payment_id=p["payment_id"], amount_vnd=p["amount_vnd"], response_code="24",
                                    hash_secret=LOCAL_VNPAY_HASH_SECRET, bank_txn_ref="14000001")
    assert api.s.get(url, params=failed_after).json()["RspCode"] == "02"  # another result for a final payment
    missing = build_ipn_params(payment_id="PAYH3501BBBBBBBBBBBBBBBBBBBBBBBBBB", amount_vnd=1000,
                               hash_secret=LOCAL_VNPAY_HASH_SECRET)
    assert api.s.get(url, params=missing).json()["RspCode"] == "01"


def test_late_success_for_expired_payment_is_accepted(api, stack):
    """The bank took the money after our expiry: with the notice still unpaid, it is receipted."""
    from chalicelib import bootstrap

    dossier, number, _ = api.new_notice()
    p = _pay_ok(api, dossier, number)
    ledger = bootstrap.context().ledger
    stored = ledger.get_payment(p["payment_id"])
    expired = stored.model_copy(update={"expires_at": int(time.time()) - 1, "rev": stored.rev + 1})
    ledger._payment_item(expired).save()  # age the payment past its expiry
    payment_url, access = f"{api.url}/v1/payments/{p['payment_id']}", api.access(p["payment_id"])
    assert api.s.get(payment_url, headers=access).json()["state"] == "EXPIRED"
    assert api.bank_callback("BIDV", _success(p)).json() == {"result": "applied"}
    assert api.s.get(payment_url, headers=access).json()["state"] == "PAID"


def test_double_payment_is_recorded_for_refund(api):
    """Payment A expires, B is paid, then A's success arrives: A needs a refund, no second receipt."""
    from chalicelib import bootstrap

    dossier, number, _ = api.new_notice()
    a = _pay_ok(api, dossier, number)
    ledger = bootstrap.context().ledger
    stored = ledger.get_payment(a["payment_id"])
    ledger._payment_item(stored.model_copy(update={"expires_at": int(time.time()) - 1,
                                                   "rev": stored.rev + 1})).save()
    from chalicelib.aws.tables import models
    from chalicelib.config import get_settings

    dossier_model, _ = models(get_settings())
    dossier_model(dossier).update(actions=[dossier_model.notices[number]["live_payment_expires_at"].set(0)])
    b = _pay_ok(api, dossier, number)
    assert api.bank_callback("BIDV", _success(b)).json() == {"result": "applied"}
    assert api.bank_callback("BIDV", _success(a, bank_txn_ref="FT26140999999")).json() == {"result": "applied"}
    a_state = api.s.get(f"{api.url}/v1/payments/{a['payment_id']}", headers=api.access(a["payment_id"])).json()
    assert a_state["state"] == "PAID" and a_state.get("refund_required") is True and "receipt_id" not in a_state
    assert [x["kind"] for x in ledger.list_anomalies(a["payment_id"])] == ["DOUBLE_PAYMENT"]


def test_crash_after_the_receipt_transaction_loses_nothing(api, stack):
    """The Lambda dies right after the paying transaction, before answering the bank: the bank's retry is a
    duplicate, and the receipt still reaches the province once, because its forwarding intent was part of the
    transaction (no sweeper involved)."""
    from chalicelib import bootstrap
    from chalicelib.payments.services.bank_results import BankResult, Outcome, apply_bank_result

    dossier, number, _ = api.new_notice()
    p = _pay_ok(api, dossier, number)
    svc = bootstrap.context()

    class Crash(Exception):
        pass

    class CrashAfterCommit:
        def __getattr__(self, name):
            return getattr(svc.ledger, name)

        def record_paid(self, *args, **kwargs):
            svc.ledger.record_paid(*args, **kwargs)
            raise Crash()

    result = BankResult("BIDV", p["payment_id"], "FT26140123456", p["amount_vnd"], "VND", True)
    with pytest.raises(Crash):
        apply_bank_result(svc.replace(ledger=CrashAfterCommit()), result)

    assert apply_bank_result(svc, result) == Outcome.DUPLICATE
    payment = svc.ledger.get_payment(p["payment_id"])
    assert payment.state.value == "PAID"
    assert svc.ledger.get_receipt(payment.receipt_id).amount_vnd == p["amount_vnd"]
    deadline = time.monotonic() + 20
    while svc.ledger.get_receipt(payment.receipt_id).delivery_state != "DELIVERED" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert svc.ledger.get_receipt(payment.receipt_id).delivery_state == "DELIVERED"
    assert stack.province.received("H35")["by_message_id"][f"{payment.receipt_id}:payment_result"] == 1


def test_receipt_pdf_has_correct_vietnamese_text(api):
    import io
    import unicodedata

    from pypdf import PdfReader

    dossier, number, _ = api.new_notice(amounts=(1_001, 2_000))
    p = _pay_ok(api, dossier, number)
    api.bank_callback("BIDV", _success(p))
    receipt_id = api.s.get(f"{api.url}/v1/payments/{p['payment_id']}",
                           headers=api.access(p["payment_id"])).json()["receipt_id"]
    data = api.s.get(f"{api.url}/v1/receipts/{receipt_id}", headers=api.access(receipt_id)).json()
    assert data["amount_in_words"] == "Ba nghìn không trăm linh một đồng"
    r = api.s.get(f"{api.url}/v1/receipts/{receipt_id}/pdf", headers=api.access(receipt_id))
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    text = unicodedata.normalize("NFC", "".join(pg.extract_text() for pg in PdfReader(io.BytesIO(r.content)).pages))
    for expected in ("Nguyễn Thị Trang", "Ba nghìn không trăm linh một đồng", "Lệ phí trước bạ nhà đất",
                     data["receipt_number"], "3.001"):
        assert expected in text, expected
    assert_problem(api.s.get(f"{api.url}/v1/receipts/RCPNOPE", headers=api.access(receipt_id)), 404,
                   "RECEIPT_NOT_FOUND")
    # Without the secret the receipt and its payment are closed; with a wrong one they do not exist.
    assert_problem(api.s.get(f"{api.url}/v1/receipts/{receipt_id}"), 401, "CLIENT_SECRET_REQUIRED")
    assert_problem(api.s.get(f"{api.url}/v1/receipts/{receipt_id}/pdf", headers={"X-Client-Secret": "0" * 40}),
                   404, "RECEIPT_NOT_FOUND")
    assert_problem(api.s.get(f"{api.url}/v1/payments/{p['payment_id']}"), 401, "CLIENT_SECRET_REQUIRED")


def test_a_replayed_bank_callback_is_answered_as_the_first_time_and_applies_nothing(api):
    dossier, number, _ = api.new_notice()
    p = _pay_ok(api, dossier, number)
    message_id = f"msg_{uuid.uuid4().hex}"
    assert api.bank_callback("BIDV", _success(p), message_id=message_id).json() == {"result": "applied"}
    # Processed again, the same result would be answered `duplicate`: the replay is answered from the first answer.
    assert api.bank_callback("BIDV", _success(p), message_id=message_id).json() == {"result": "applied"}
    assert api.bank_callback("BIDV", _success(p)).json() == {"result": "duplicate"}  # a new message is processed


def test_a_replayed_notice_batch_is_answered_as_the_first_time(api):
    from chalicelib.local.demo import demo_notice

    dossier = f"000.00.{uuid.uuid4().int % 100:02d}.H35-260520-{uuid.uuid4().int % 10000:04d}"
    payload = demo_notice(dossier, (1_000_000,))
    message_id = f"msg_{uuid.uuid4().hex}"
    first = api.send_notices(payload, message_id=message_id)
    assert first.status_code == 200 and first.json() == {"accepted": 1, "unchanged": 0}
    assert api.send_notices(payload, message_id=message_id).json() == {"accepted": 1, "unchanged": 0}
    assert api.send_notices(payload).json() == {"accepted": 0, "unchanged": 1}


def test_a_province_partner_may_send_the_notices_of_its_own_province_only(api):
    from chalicelib.local.demo import demo_notice
    from chalicelib.local.devkeys import LOCAL_PROVINCE_PARTNER_SECRET

    def dossier(province: str) -> str:
        return f"000.00.{uuid.uuid4().int % 100:02d}.{province}-260520-{uuid.uuid4().int % 10000:04d}"

    other = dossier("H35")
    assert_problem(api.send_notices(demo_notice(other, (1_000_000,)), secret=LOCAL_PROVINCE_PARTNER_SECRET),
                   403, "PARTNER_PROVINCE_FORBIDDEN")
    lookup = api.s.post(f"{api.url}/v1/lookup", json={"dossier_code": other, "id_number": "035095001234"})
    assert_problem(lookup, 404, "DOSSIER_NOT_FOUND")  # nothing stored
    own = api.send_notices(demo_notice(dossier("H49"), (1_000_000,)), secret=LOCAL_PROVINCE_PARTNER_SECRET)
    assert own.status_code == 200 and own.json()["accepted"] == 1
