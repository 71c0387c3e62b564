"""M14 §1, §1b, §3 on the local stack, over HTTP: the schedule's status query, the return page's, the VNPay-style
gateway's signed URLs both ways, and refunds with four eyes that a retry after a timeout refunds once."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.conftest import assert_problem

ID = "035095001234"


def token(role: str) -> str:
    """A fresh user of the local pool with this role, signed in through the API (each call another user)."""
    from chalicelib.local.identities import new_identity

    return new_identity(None, role).access_token


def auth(role: str = "operator") -> dict:
    return {"Authorization": f"Bearer {token(role)}"}


def pay(api, dossier, number, bank="BIDV", **kw) -> dict:
    r = api.pay(dossier, number, bank, **kw)
    assert r.status_code == 201, r.text
    return r.json()


def book_at_bank(api, payment: dict, outcome: str = "success") -> dict:
    """The citizen pays at the bank, and the bank's callback is lost (never sent)."""
    if payment["bank_code"] == "MB":
        fields = dict(parse_qsl(urlsplit(payment["redirect_url"]).query))
    else:
        fields = {"payment_id": payment["payment_id"], "bank_code": payment["bank_code"],
                  "amount_vnd": payment["amount_vnd"]}
    r = api.s.post(f"{api.bank_url}/api/pay", json={**fields, "outcome": outcome, "deliver": False}, timeout=10)
    assert r.status_code == 200 and r.json()["delivered"] is False, r.text
    return r.json()["transaction"]


def age_past_expiry(payment_id: str) -> None:
    """Move the payment's expiry into the past (its index position moves with it, as any save of it does)."""
    from chalicelib import bootstrap

    ledger = bootstrap.context().ledger
    stored = ledger.get_payment(payment_id)
    ledger._payment_item(stored.model_copy(update={"expires_at": int(time.time()) - 1, "rev": stored.rev + 1})).save()


def release_notice(dossier: str, number: str) -> None:
    from chalicelib.aws.tables import models
    from chalicelib.config import get_settings

    dossier_model, _ = models(get_settings())
    dossier_model(dossier).update(actions=[dossier_model.notices[number]["live_payment_expires_at"].set(0)])


def run_schedule() -> dict:
    import app

    event = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "account": "000000000000",
             "time": "1970-01-01T00:00:00Z", "region": "ap-southeast-1", "resources": [], "detail": {}, "id": "t"}
    return app.resolve_stale_payments(event, None)  # what EventBridge invokes


def read(api, payment_id: str, headers: dict | None = None):
    return api.s.get(f"{api.url}/v1/payments/{payment_id}", headers=headers or api.access(payment_id), timeout=10)


def stored_payment(payment_id: str):
    from chalicelib import bootstrap

    return bootstrap.context().ledger.get_payment(payment_id)


@pytest.fixture
def bank(stack):
    yield stack.bank
    stack.bank.set_status_api(True)


# --- §1 the schedule -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("bank_code", ["BIDV", "MB"])
def test_lost_callback_the_schedule_asks_the_bank_and_issues_the_receipt_once(api, bank, bank_code):
    dossier, number, _ = api.new_notice()
    payment = pay(api, dossier, number, bank_code)
    pid = payment["payment_id"]
    txn = book_at_bank(api, payment)
    age_past_expiry(pid)

    assert run_schedule()["looked_at"] >= 1

    view = read(api, pid).json()
    assert view["state"] == "PAID" and view["receipt_id"]
    receipt = api.s.get(f"{api.url}/v1/receipts/{view['receipt_id']}", headers=api.access(pid), timeout=10).json()
    assert receipt["bank_txn_ref"] == txn["bank_txn_ref"]
    assert [h.get("origin") for h in stored_payment(pid).history if h["state"] == "PAID"] == ["status_query"]
    # The lost callback arrives after all: nothing changes, no second receipt.
    late = api.s.post(f"{api.bank_url}/control/deliver", json={"bank_code": bank_code, "payment_id": pid},
                      timeout=20).json()
    assert late["callback_status"] == 200
    assert late["callback_response"] in ({"result": "duplicate"}, {"RspCode": "00", "Message": "Confirm Success"})
    after = stored_payment(pid)
    assert [h["state"] for h in after.history].count("PAID") == 1 and after.receipt_id == view["receipt_id"]
    lookup = api.s.post(f"{api.url}/v1/lookup", json={"dossier_code": dossier, "id_number": ID}).json()
    assert lookup["notices"][0]["status"] == "paid"


def test_bank_says_failed_the_payment_expires_and_the_notice_is_payable_again(api, bank):
    dossier, number, _ = api.new_notice()
    payment = pay(api, dossier, number)
    book_at_bank(api, payment, outcome="cancel")
    age_past_expiry(payment["payment_id"])

    run_schedule()

    assert read(api, payment["payment_id"]).json()["state"] == "EXPIRED"
    assert stored_payment(payment["payment_id"]).history[-1]["bank_status"] == "FAILED"
    lookup = api.s.post(f"{api.url}/v1/lookup", json={"dossier_code": dossier, "id_number": ID}).json()
    assert lookup["notices"][0]["status"] == "payable"
    assert pay(api, dossier, number)["state"] == "PENDING_BANK"  # paid again, with a new payment


def test_a_silent_bank_leaves_the_payment_for_the_next_run(api, bank):
    dossier, number, _ = api.new_notice()
    payment = pay(api, dossier, number, "VCB")
    age_past_expiry(payment["payment_id"])
    bank.set_status_api(False)

    run_schedule()

    assert stored_payment(payment["payment_id"]).state.value == "PENDING_BANK"


# --- §1 the return page -------------------------------------------------------------------------------------------

def test_the_return_page_sees_the_payment_paid_before_any_callback(api, bank):
    dossier, number, _ = api.new_notice()
    payment = pay(api, dossier, number)
    book_at_bank(api, payment)

    view = read(api, payment["payment_id"]).json()

    assert view["state"] == "PAID" and view["receipt_id"]


def test_the_return_page_asks_the_bank_at_most_once_per_30_seconds(api, bank):
    dossier, number, _ = api.new_notice()
    pid = pay(api, dossier, number)["payment_id"]

    for _ in range(4):
        assert read(api, pid).json()["state"] == "PENDING_BANK"
    with ThreadPoolExecutor(max_workers=6) as pool:
        states = list(pool.map(lambda _: read(api, pid).json()["state"], range(12)))

    assert set(states) == {"PENDING_BANK"}
    assert bank.status_queries[("BIDV", pid)] == 1


def test_a_silent_bank_does_not_make_the_return_page_slow(api, bank):
    dossier, number, _ = api.new_notice()
    pid = pay(api, dossier, number, "ICB")["payment_id"]
    bank.set_status_api(False)

    started = time.monotonic()
    r = read(api, pid)

    assert r.status_code == 200 and r.json()["state"] == "PENDING_BANK"
    assert time.monotonic() - started < 2.0  # the quick client's timeout (0.6 s on the test stage), not the bank's


# --- §1b the VNPay-style gateway both ways ------------------------------------------------------------------------

def test_vnpay_browser_journey_signed_url_out_verified_return_url_back(api, bank):
    dossier, number, _ = api.new_notice()
    payment = pay(api, dossier, number, "MB")
    pid, url = payment["payment_id"], urlsplit(payment["redirect_url"])
    assert url.path == "/paymentv2/vpcpay.html"
    page = api.s.get(payment["redirect_url"], timeout=10)
    assert page.status_code == 200 and "Thanh toán" in page.text  # the simulated gateway verified the signature

    confirm = api.s.post(f"{api.bank_url}/pay/confirm", data=dict(parse_qsl(url.query)), allow_redirects=False,
                         timeout=20)
    assert confirm.status_code == 303
    back = urlsplit(confirm.headers["Location"])
    assert back.netloc == "dichvucong.gov.vn"  # the citizen's result page, with the gateway's signed result
    query = dict(parse_qsl(back.query))

    r = api.s.get(f"{api.url}/v1/payments/{pid}/vnpay-return", params=query, headers=api.access(pid), timeout=10)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["gateway_result"], r.json()["gateway_response_code"]) == (
        "PAID", "SUCCESS", "00")  # PAID by the IPN the gateway sent, not by the browser


def test_a_return_url_with_a_bad_signature_is_refused_and_changes_nothing(api, bank):
    from chalicelib.local.devkeys import LOCAL_VNPAY_HASH_SECRET
    from chalicelib.payments.adapters.vnpay import build_ipn_params

    dossier, number, _ = api.new_notice()
    pid = pay(api, dossier, number, "MB")["payment_id"]
    before = stored_payment(pid)
    signed = build_ipn_params(payment_id=pid, amount_vnd=before.amount_vnd, hash_secret=LOCAL_VNPAY_HASH_SECRET,
                              bank_txn_ref="14099999")
    forged = {**signed, "vnp_ResponseCode": "00", "vnp_Amount": "100"}
    url = f"{api.url}/v1/payments/{pid}/vnpay-return"

    assert_problem(api.s.get(url, params=forged, headers=api.access(pid)), 400, "RETURN_SIGNATURE_INVALID")
    assert_problem(api.s.get(url, params={k: v for k, v in signed.items() if k != "vnp_SecureHash"},
                             headers=api.access(pid)), 400, "RETURN_SIGNATURE_INVALID")
    other = build_ipn_params(payment_id="PAYH3501AAAAAAAAAAAAAAAAAAAAAAAAAA", amount_vnd=1000,
                             hash_secret=LOCAL_VNPAY_HASH_SECRET)
    assert_problem(api.s.get(url, params=other, headers=api.access(pid)), 400, "RETURN_INVALID")
    assert stored_payment(pid) == before  # nothing changed, not even by a status query

    ok = api.s.get(url, params=signed, headers=api.access(pid))  # genuine, but only ever shown: never applied
    assert ok.status_code == 200 and ok.json()["gateway_result"] == "SUCCESS" and ok.json()["state"] != "PAID"


# --- §3 refunds ----------------------------------------------------------------------------------------------------

def _double_payment(api, bank_code: str, citizen_token: str) -> tuple[dict, str]:
    """Payment A is paid at the bank after it expired, once payment B has paid the notice: A's money is to refund."""
    dossier, number, _ = api.new_notice()
    a = pay(api, dossier, number, bank_code, token=citizen_token)
    txn = book_at_bank(api, a)
    age_past_expiry(a["payment_id"])
    release_notice(dossier, number)
    b = pay(api, dossier, number, "BIDV")
    assert api.bank_callback("BIDV", {"payment_id": b["payment_id"], "bank_txn_ref": "FT26140777777",
                                      "amount_vnd": b["amount_vnd"], "currency": "VND", "status": "SUCCESS",
                                      "paid_at": "2026-05-20T10:01:02+07:00"}).status_code == 200
    api.s.post(f"{api.bank_url}/control/deliver", json={"bank_code": bank_code, "payment_id": a["payment_id"]},
               timeout=20)
    stored = stored_payment(a["payment_id"])
    assert stored.refund_required is True and stored.receipt_id is None, stored
    return a, txn["bank_txn_ref"]


@pytest.mark.parametrize("bank_code", ["ICB", "MB"])
def test_a_refund_needs_a_second_operator_and_a_retry_after_a_timeout_refunds_once(api, bank, bank_code):
    citizen = token("citizen")
    a, ref = _double_payment(api, bank_code, citizen)
    alice, bob = auth(), auth()  # two different operators
    refunds = f"{api.url}/v1/operator/refunds"
    body = {"payment_id": a["payment_id"], "bank_txn_ref": ref, "amount_vnd": a["amount_vnd"],
            "reason": "Thu trùng sau khi giao dịch hết hạn"}

    too_much = api.s.post(refunds, json={**body, "amount_vnd": a["amount_vnd"] + 1}, headers=alice)
    assert assert_problem(too_much, 422, "REFUND_AMOUNT_EXCEEDS_TAKEN")["refundable_vnd"] == a["amount_vnd"]
    assert_problem(api.s.post(refunds, json=body, headers=auth("citizen")), 403, "ROLE_FORBIDDEN")
    r = api.s.post(refunds, json=body, headers=alice)
    assert r.status_code == 201 and r.json()["state"] == "REFUND_REQUESTED", r.text
    refund_id = r.json()["refund_id"]
    listed = api.s.get(refunds, params={"payment_id": a["payment_id"]}, headers=bob).json()["items"]
    assert [x["refund_id"] for x in listed] == [refund_id]

    assert_problem(api.s.post(f"{refunds}/{refund_id}/approve", json={}, headers=alice), 403, "REFUND_SELF_APPROVAL")

    bank.set_status_api(False, process=True)  # the bank refunds, its answer never arrives
    waiting = api.s.post(f"{refunds}/{refund_id}/approve", json={"note": "Đã kiểm tra"}, headers=bob)
    assert waiting.status_code == 200 and waiting.json()["state"] == "REFUND_APPROVED", waiting.text
    assert waiting.json()["last_result"].startswith("UNREACHABLE")
    bank.set_status_api(True)
    time.sleep(2.1)  # the send lease (2 s on the test stage)

    done = api.s.post(f"{refunds}/{refund_id}/send", headers=bob)
    assert done.status_code == 200 and done.json()["state"] == "REFUNDED", done.text
    assert done.json()["attempts"] == 2 and done.json()["decided_by"] != done.json()["requested_by"]
    assert [e["action"] for e in done.json()["audit"]] == [
        "REFUND_REQUESTED", "REFUND_APPROVED", "SENT_TO_BANK", "BANK_NO_ANSWER", "SENT_TO_BANK", "REFUNDED"]
    assert bank.transaction(bank_code, a["payment_id"]).refunded_vnd == a["amount_vnd"]  # once, not twice
    # The Standard Webhooks bank answered the repeated refund id with its first answer; the VNPay-style gateway
    # refused it as a duplicate request (94), and its status said the transaction was refunded.
    assert done.json()["last_result"] == {"ICB": "REFUNDED", "MB": "DUPLICATE_REQUEST_ALREADY_REFUNDED"}[bank_code]
    assert_problem(api.s.post(f"{refunds}/{refund_id}/send", headers=bob), 409, "REFUND_NOT_SENDABLE")

    history = api.s.get(f"{api.url}/v1/citizens/me/transactions", headers={"Authorization": f"Bearer {citizen}"})
    (item,) = [i for i in history.json()["items"] if i["payment_id"] == a["payment_id"]]
    assert item["refunds"][0]["state"] == "REFUNDED" and item["refunds"][0]["amount_vnd"] == a["amount_vnd"]
    assert "requested_by" not in item["refunds"][0]  # the citizen sees the refund, not the operators


def test_a_refund_request_for_a_payment_paid_once_is_refused(api, bank):
    dossier, number, _ = api.new_notice()
    p = pay(api, dossier, number)
    api.bank_callback("BIDV", {"payment_id": p["payment_id"], "bank_txn_ref": "FT26140555555",
                               "amount_vnd": p["amount_vnd"], "currency": "VND", "status": "SUCCESS"})
    r = api.s.post(f"{api.url}/v1/operator/refunds", headers=auth(), json={
        "payment_id": p["payment_id"], "bank_txn_ref": "FT26140555555", "amount_vnd": 1000, "reason": "Thử nghiệm"})
    assert_problem(r, 409, "REFUND_NOT_REQUIRED")
    assert_problem(api.s.get(f"{api.url}/v1/operator/refunds/RFD01AAAAAAAAAAAAAAAAAAAAAAAA", headers=auth()),
                   404, "REFUND_NOT_FOUND")
