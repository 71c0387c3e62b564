"""Odd input over HTTP gets a clear 4xx problem, never a 500, and personal answers are never cached (issue 8 §6)."""
from __future__ import annotations

import json

import pytest

from tests.conftest import assert_problem
from tests.e2e.test_province_delivery import auth


def _post(api, path: str, raw: bytes, headers: dict | None = None):
    return api.s.post(f"{api.url}{path}", data=raw, headers={"Content-Type": "application/json", **(headers or {})},
                      timeout=10)


@pytest.mark.parametrize("raw", [
    b"[" * 50_000 + b"]" * 50_000,  # deeper than the JSON parser recurses
    b'{"dossier_code": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}",  # parses, but 41 levels deep
])
def test_deeply_nested_json_is_a_400_not_a_server_error(api, raw):
    assert_problem(_post(api, "/v1/lookup", raw), 400, "BODY_TOO_DEEP")


def test_repeated_keys_are_refused_before_anything_reads_the_body(api):
    raw = b'{"dossier_code": "000.00.43.H35-260520-0001", "id_number": "035095001234", "id_number": "001095001234"}'
    assert_problem(_post(api, "/v1/lookup", raw), 400, "BODY_DUPLICATE_KEY")


@pytest.mark.parametrize("unit", ["0", "H35", "000.00.00", "000.00.00.H35.1"])
def test_removing_a_malformed_unit_code_is_a_422_naming_the_field(api, unit):
    r = api.s.delete(f"{api.url}/v1/admin/users/some-user/units/{unit}", headers=auth("operator"), timeout=10)
    assert r.status_code == 422, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json()["code"] == "VALIDATION_FAILED"


def test_payment_receipt_and_pdf_answers_are_never_cached(api):
    dossier, number, _ = api.new_notice()
    created = api.pay(dossier, number)
    assert created.status_code == 201
    pid = created.json()["payment_id"]
    assert created.headers["Cache-Control"] == "no-store"
    got = api.s.get(f"{api.url}/v1/payments/{pid}", headers=api.access(pid), timeout=10)
    assert got.status_code == 200 and got.headers["Cache-Control"] == "no-store"
    body = {"payment_id": pid, "bank_txn_ref": f"FT{pid[-8:]}", "amount_vnd": created.json()["amount_vnd"],
            "currency": "VND", "status": "SUCCESS"}
    assert api.bank_callback("BIDV", body).json() == {"result": "applied"}
    receipt_id = api.s.get(f"{api.url}/v1/payments/{pid}", headers=api.access(pid), timeout=10).json()["receipt_id"]
    for path in (f"/v1/receipts/{receipt_id}", f"/v1/receipts/{receipt_id}/pdf"):
        r = api.s.get(f"{api.url}{path}", headers=api.access(receipt_id), timeout=20)
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store", path
    missing = api.s.get(f"{api.url}/v1/payments/{pid[:-4]}ZZZZ", headers=api.access(pid), timeout=10)
    assert missing.headers["Cache-Control"] == "no-store"  # refusals too: a 404 must not be cached either
    assert json.loads(missing.text)["code"]
