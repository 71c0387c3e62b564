"""Receipts under Decree 254/2026 on the running local stack, over HTTP: a paid notice's receipt is EBL01 / 26T..,
its signed XML verifies with xmlsec1 and its PDF with pyHanko against the CA in the local Secrets Manager, the QR's
public verification says it is genuine (and nothing personal), a tampered receipt is refused, the province gets the
payer's ID number and the reference number, and the day's summary table reaches the simulated tax authority after
an outage."""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import datetime, timedelta

import pytest
import requests

from chalicelib.core.clock import VN_TZ, FixedClock

ID_NUMBER = "035095001234"


def _paid(api, bank: str = "BIDV") -> tuple[dict, dict]:
    dossier, number, _ = api.new_notice(amounts=(1_378_500,))
    payment = api.pay(dossier, number, bank).json()
    assert "reference_number=" in payment["redirect_url"]
    r = requests.post(f"{api.bank_url}/api/pay", json={
        "payment_id": payment["payment_id"], "bank_code": bank, "amount_vnd": payment["amount_vnd"],
        "reference_number": payment["reference_number"], "outcome": "success"}, timeout=20)
    assert r.status_code == 200, r.text
    view = api.s.get(f"{api.url}/v1/payments/{payment['payment_id']}", headers=api.access(payment["payment_id"]))
    receipt_id = view.json()["receipt_id"]
    receipt = api.s.get(f"{api.url}/v1/receipts/{receipt_id}", headers=api.access(receipt_id)).json()
    return payment, receipt


def _ca(stack) -> str:
    import boto3

    sm = boto3.client("secretsmanager", endpoint_url=stack.endpoint, region_name="ap-southeast-1")
    return json.loads(sm.get_secret_value(SecretId=stack.env["RECEIPT_SIGNING_SECRET_NAME"])["SecretString"])[
        "ca_cert_pem"]


@pytest.fixture(scope="module")
def paid(stack):
    from tests.conftest import Api

    with requests.Session() as s:
        api = Api(stack, s)
        payment, receipt = _paid(api)
        yield api, payment, receipt


def test_the_receipt_has_the_new_symbols_and_both_payment_identifiers(paid):
    api, payment, receipt = paid
    assert receipt["template_symbol"] == "EBL01" and receipt["series"].startswith(f"{datetime.now(VN_TZ):%y}T")
    assert len(receipt["receipt_number"]) == 8 and receipt["collecting_unit_tax_code"]
    assert receipt["reference_number"] == payment["reference_number"]
    assert receipt["verification_url"].startswith(f"{api.url}/v1/receipt-verifications?kh=")


def test_the_signed_xml_verifies_with_xmlsec1_and_the_pdf_with_pyhanko(stack, paid, tmp_path):
    from chalicelib.receipts.pades import verify_receipt_pdf

    api, _, receipt = paid
    xml = api.s.get(f"{api.url}/v1/receipts/{receipt['receipt_id']}/xml", headers=api.access(receipt["receipt_id"]))
    assert xml.status_code == 200 and xml.headers["Content-Type"] == "application/xml"
    pdf = api.s.get(f"{api.url}/v1/receipts/{receipt['receipt_id']}/pdf", headers=api.access(receipt["receipt_id"]))
    # pyHanko runs its own event loop: not in this thread, where a browser test's loop may be running.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(verify_receipt_pdf, pdf.content, _ca(stack)).result().trusted
    if shutil.which("xmlsec1"):
        (tmp_path / "ca.pem").write_text(_ca(stack))
        (tmp_path / "r.xml").write_bytes(xml.content)
        result = subprocess.run(["xmlsec1", "--verify", "--trusted-pem", str(tmp_path / "ca.pem"), "--id-attr:Id",
                                 "DLBLai", "--id-attr:Id", "Object", str(tmp_path / "r.xml")], capture_output=True,
                                timeout=60)
        assert result.returncode == 0, result.stderr


def test_the_qr_code_opens_a_public_answer_without_personal_data(paid):
    api, payment, receipt = paid
    r = requests.get(receipt["verification_url"], timeout=10)  # anyone: no token, no access secret
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["genuine"] is True and answer["amount_vnd"] == receipt["amount_vnd"]
    for personal in (ID_NUMBER, "0912345678", "912345678", receipt["payer_name"], payment["payment_id"],
                     receipt["bank_txn_ref"], payment["reference_number"]):
        assert personal not in r.text
    wrong = receipt["verification_url"][:-1] + ("2" if not receipt["verification_url"].endswith("2") else "3")
    assert requests.get(wrong, timeout=10).json()["code"] == "RECEIPT_NOT_FOUND"


def test_a_tampered_receipt_is_refused_by_the_verification_api(stack, paid):
    import boto3

    api, _, receipt = paid
    xml = api.s.get(f"{api.url}/v1/receipts/{receipt['receipt_id']}/xml", headers=api.access(receipt["receipt_id"]))
    amount = f"<TgTTBSo>{receipt['amount_vnd']}<".encode()
    tampered = xml.content.replace(amount, f"<TgTTBSo>{receipt['amount_vnd'] - 1}<".encode())
    r = requests.post(f"{api.url}/v1/receipt-verifications", json={"signed_xml": tampered.decode()}, timeout=10)
    assert (r.status_code, r.json()["code"], r.json()["reason"]) == (422, "RECEIPT_NOT_GENUINE", "DIGEST_MISMATCH")
    genuine = requests.post(f"{api.url}/v1/receipt-verifications", json={"signed_xml": xml.text}, timeout=10)
    assert genuine.status_code == 200 and genuine.json()["genuine"] is True
    # Someone with database access changes the stored amount: the stored signature no longer matches.
    ddb = boto3.client("dynamodb", endpoint_url=stack.endpoint, region_name="ap-southeast-1")
    key = {"pk": {"S": f"RCPT#{receipt['receipt_id']}"}, "sk": {"S": "RECEIPT"}}
    item = ddb.get_item(TableName=stack.env["LEDGER_TABLE"], Key=key)["Item"]
    doc = json.loads(item["doc"]["S"])
    ddb.update_item(TableName=stack.env["LEDGER_TABLE"], Key=key, UpdateExpression="SET doc = :d",
                    ExpressionAttributeValues={":d": {"S": json.dumps({**doc, "amount_vnd": 1})}})
    try:
        r = requests.get(receipt["verification_url"], timeout=10)
        assert (r.status_code, r.json()["reason"]) == (422, "DATA_MISMATCH")
    finally:
        ddb.update_item(TableName=stack.env["LEDGER_TABLE"], Key=key, UpdateExpression="SET doc = :d",
                        ExpressionAttributeValues={":d": item["doc"]})


def test_the_province_receives_the_payer_id_number_and_the_reference_number(stack, paid):
    _, payment, receipt = paid
    message_id = f"{receipt['receipt_id']}:payment_result"
    deadline = time.monotonic() + 20
    while (payload := stack.province.payload("H35", message_id)) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert payload is not None
    assert (payload["payer_id_number"], payload["reference_number"]) == (ID_NUMBER, payment["reference_number"])


def test_the_days_table_reaches_the_tax_authority_after_an_outage(stack, paid):
    from chalicelib.bootstrap import context
    from chalicelib.receipts.services.reports import send_due_reports

    _, _, receipt = paid
    day = datetime.fromisoformat(receipt["issued_at"]).astimezone(VN_TZ).date()
    unit = receipt["collecting_unit_code"]
    late = context().replace(clock=FixedClock(datetime.combine(day, datetime.min.time(), VN_TZ)
                                              + timedelta(hours=23, minutes=30)))
    sim = stack.tax_authority
    sim.control("down")
    try:
        assert send_due_reports(late)["failed"] >= 1
    finally:
        sim.control("ok")
    assert late.reports.get_day(unit, day.isoformat()).state.value == "FAILING"
    late.clock.advance(minutes=5)  # past the first retry delay
    send_due_reports(late)
    report = late.reports.get_day(unit, day.isoformat())
    assert report.state.value in ("ACKED", "OPEN"), report  # OPEN: another test's receipt arrived meanwhile
    document = sim.reports[f"{unit}/{day.isoformat()}"]
    stored = {(r["series"], r["number"]) for r in late.reports.rows(unit, day.isoformat())}
    sent = {(r["series"], r["number"]) for r in document["rows"]}
    assert (receipt["series"], receipt["receipt_number"]) in sent and sent <= stored
    if report.state.value == "ACKED":  # closed only when the table sent was the whole day
        assert sent == stored
    assert document["row_count"] == len(document["rows"])
