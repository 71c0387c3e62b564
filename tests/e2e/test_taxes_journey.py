"""M13 on the running local stack, over HTTP, with the simulated tax authority: a signed-in citizen with a tax code
sees personal tax (sub-items, no amounts) and registration fees (with amounts), pays all personal tax at once and one
registration fee, through the simulated bank; the tax authority is told, the debts are gone from the next lookup,
the payments are in the tax history; the tax authority down or answering unsigned is a clear 503 with nothing
written."""
from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.conftest import assert_problem
from tests.e2e.test_accounts_journey import fresh_phone


def _new_citizen(stack):
    """A citizen account signed in through the user pool, with a phone and no tax code yet; and the taxpayer known
    to the simulated tax authority by the citizen's ID number (an individual's tax code)."""
    from chalicelib.local.identities import new_identity
    from chalicelib.local.tax_authority_sim import demo_taxpayer

    person = new_identity(stack.api_url, "citizen", phone=fresh_phone())
    answer = demo_taxpayer(tax_code=person.login, unit="000.00.00.H49", seed=f"{uuid.uuid4().int % 10**6:06d}")
    stack.tax_authority.add_taxpayer(answer)
    return person, answer


@pytest.fixture(scope="module")
def citizen(stack):
    """A citizen (see _new_citizen) who has entered their tax code in their profile. Each test process (xdist
    worker) has its own: the tests below never depend on another test having run first."""
    from tests.conftest import Api

    with requests.Session() as s:
        api = Api(stack, s)
        person, answer = _new_citizen(stack)
        r = api.s.patch(f"{api.url}/v1/citizens/me", json={"tax_code": person.login}, headers=person.headers)
        assert r.status_code == 200, r.text
        yield api, person.headers, person.login, answer


def _taxes(api, me) -> requests.Response:
    return api.s.get(f"{api.url}/v1/citizens/me/taxes", headers=me, timeout=20)


def _pay_at_bank(api, payment: dict) -> None:
    r = requests.post(f"{api.bank_url}/api/pay", json={
        "payment_id": payment["payment_id"], "bank_code": payment["bank_code"], "amount_vnd": payment["amount_vnd"],
        "reference_number": payment["reference_number"], "outcome": "success"}, timeout=20)
    assert r.status_code == 200, r.text
    if r.json()["callback_status"] != 200:  # a loaded machine timed the callback out: the bank sends it again
        r = requests.post(f"{api.bank_url}/control/deliver", json={
            "bank_code": payment["bank_code"], "payment_id": payment["payment_id"]}, timeout=30)
    assert r.status_code == 200 and r.json()["callback_status"] == 200, r.text


def _told(stack, tax_payment_id: str, timeout_s: float = 15) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if tax_payment_id in stack.tax_authority.paid:
            return True
        time.sleep(0.1)
    return False


def test_a_tax_code_is_needed_first(api, stack):
    person, _ = _new_citizen(stack)
    me = person.headers
    assert_problem(_taxes(api, me), 422, "TAX_CODE_REQUIRED")
    assert api.s.patch(f"{api.url}/v1/citizens/me", json={"tax_code": person.login}, headers=me).status_code == 200
    assert _taxes(api, me).status_code == 200


def test_tax_information_shows_personal_tax_without_amounts_and_fees_with(citizen):
    api, me, id_number, answer = citizen
    r = _taxes(api, me)
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["taxpayer"]["tax_code"] == id_number and id_number not in info["taxpayer"]["id_number_masked"]
    assert "amount_vnd" not in str(info["personal_tax"])
    assert [f["amount_vnd"] for f in info["registration_fees"]] == [54_000_000, 1_650_000]
    assert info["can_pay"] is True


def test_all_personal_tax_at_once_then_one_registration_fee(stack, citizen):
    api, me, _, answer = citizen
    r = api.s.post(f"{api.url}/v1/citizens/me/taxes/payments", headers={**me, "Idempotency-Key": uuid.uuid4().hex},
                   json={"kind": "personal_tax", "bank_code": "BIDV", "return_url": "https://dichvucong.gov.vn/k"})
    assert r.status_code == 201, r.text
    personal = r.json()
    assert personal["amount_vnd"] == 3_700_000 and personal["tax_payment_id"] == answer["personal_tax"]["payment_id"]
    _pay_at_bank(api, personal)
    assert _told(stack, answer["personal_tax"]["payment_id"])  # the tax authority heard of it (outbox, signed)
    assert _taxes(api, me).json()["personal_tax"] is None

    decision = answer["registration_fees"][1]["decision_number"]
    r = api.s.post(f"{api.url}/v1/citizens/me/taxes/payments", headers=me,
                   json={"kind": "registration_fee", "decision_number": decision, "bank_code": "BIDV"})
    assert r.status_code == 201 and r.json()["amount_vnd"] == 1_650_000, r.text
    _pay_at_bank(api, r.json())
    assert _told(stack, answer["registration_fees"][1]["payment_id"])
    left = _taxes(api, me).json()["registration_fees"]
    assert [f["decision_number"] for f in left] == [answer["registration_fees"][0]["decision_number"]]

    history = api.s.get(f"{api.url}/v1/citizens/me/taxes/transactions", headers=me).json()["items"]
    assert {(i["kind"], i["state"]) for i in history} == {("personal_tax", "PAID"), ("registration_fee", "PAID")}
    everything = api.s.get(f"{api.url}/v1/citizens/me/transactions", headers=me)
    assert everything.status_code == 200 and {i["kind"] for i in everything.json()["items"]} == {
        "personal_tax", "registration_fee"}  # the general history has them too
    receipt = api.s.get(f"{api.url}{history[0]['receipt_url']}", headers=me).json()
    assert receipt["template_symbol"] == "EBL01" and receipt["payment_kind"] in ("personal_tax", "registration_fee")
    assert receipt["delivery_state"] == "NONE"


def test_the_tax_authority_down_is_a_503_and_nothing_is_half_written(stack, citizen):
    api, me, _, answer = citizen
    before = api.s.get(f"{api.url}/v1/citizens/me/taxes/transactions", headers=me).json()["items"]
    body = {"kind": "registration_fee", "decision_number": answer["registration_fees"][0]["decision_number"],
            "bank_code": "BIDV"}
    for mode, delay in (("down", None), ("timeout", 2.5), ("bad_signature", None)):
        stack.tax_authority.control(mode, delay_s=delay)
        try:
            assert_problem(_taxes(api, me), 503, "TAX_AUTHORITY_UNAVAILABLE")
            r = api.s.post(f"{api.url}/v1/citizens/me/taxes/payments", headers=me, json=body, timeout=30)
            assert_problem(r, 503, "TAX_AUTHORITY_UNAVAILABLE")
        finally:
            stack.tax_authority.control("ok")
    after = api.s.get(f"{api.url}/v1/citizens/me/taxes/transactions", headers=me).json()["items"]
    assert after == before
    r = api.s.post(f"{api.url}/v1/citizens/me/taxes/payments", headers=me, json=body)  # and it works again
    assert r.status_code == 201, r.text


def test_the_simulated_tax_authority_refuses_unsigned_requests(stack):
    r = requests.post(f"{stack.tax_authority_url}/v1/taxpayers/lookup", json={"tax_code": "035095001234"},
                      timeout=10)
    assert r.status_code == 401 and r.json()["code"] == "INVALID_SIGNATURE"
