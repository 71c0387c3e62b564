"""The simulated bank's behaviours the stale-payment and refund paths rely on: an open payment page closes at its
expiry (the status says FAILED), answers that get lost after the bank acted (a refund retried with the same id is
refunded once), and a callback sent late."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest

from chalicelib.local.bank_sim import SimulatedBank
from chalicelib.reconciliation.ports import BankStatusKind, RefundKind, StatusQuery
from tests.unit.test_bank_sim_reconciliation import (
    BANK_SECRETS,
    NOW,
    VNPAY_SECRET,
    _closed_port,
    call,
    paid_mb,
    post_json,
    query,
    refund_order,
    signed_pay_fields,
    vnpay_client,
    webhook_client,
)

QUICK = (0.5, 0.3)


@pytest.fixture
def bank():
    secrets = {"banks": BANK_SECRETS, "vnpay_hash_secret": VNPAY_SECRET}
    with SimulatedBank(f"http://127.0.0.1:{_closed_port()}", secrets, clock=lambda: NOW) as simulated:
        yield simulated


def test_an_open_vnpay_page_left_past_its_expiry_is_failed_at_the_gateway(bank):
    call(bank, "GET", "/paymentv2/vpcpay.html?" + urlencode(signed_pay_fields()))
    client = vnpay_client(bank)
    assert client.query_status(query()).kind is BankStatusKind.PENDING
    bank._clock = lambda: NOW + timedelta(minutes=16)
    closed = client.query_status(query())
    assert (closed.kind, closed.detail) == (BankStatusKind.FAILED, "00/02")


def test_a_refund_whose_answer_is_lost_is_refunded_once_whatever_the_retries(bank):
    post_json(bank, "/api/pay", {"payment_id": "PAYVCB1", "bank_code": "VCB", "amount_vnd": 1_000_000,
                                 "outcome": "success", "deliver": False})
    order = refund_order("RFD-LOST-1", 1_000_000, full=True, bank_code="VCB", payment_id="PAYVCB1")
    assert post_json(bank, "/control/status-api", {"answer": False, "process": True}) == (
        200, {"answering": False, "processing": True})
    assert webhook_client(bank, timeout=QUICK).refund(order).kind is RefundKind.NO_ANSWER
    assert bank.transaction("VCB", "PAYVCB1").refunded_vnd == 1_000_000  # it happened, the answer was lost
    post_json(bank, "/control/status-api", {"answer": True})
    again = webhook_client(bank).refund(order)
    assert again.kind is RefundKind.REFUNDED and len(bank.refunds("VCB")) == 1
    assert bank.transaction("VCB", "PAYVCB1").refunded_vnd == 1_000_000


def test_a_vnpay_refund_whose_answer_is_lost_is_a_duplicate_then_and_the_status_shows_it_refunded(bank):
    paid_mb(bank)
    order = refund_order("RFD-LOST-2", 1_378_500, full=True)
    post_json(bank, "/control/status-api", {"answer": False, "process": True})
    assert vnpay_client(bank, timeout=QUICK).refund(order).kind is RefundKind.NO_ANSWER
    post_json(bank, "/control/status-api", {"answer": True})
    client = vnpay_client(bank)
    assert client.refund(order).kind is RefundKind.DUPLICATE  # 94: the same request id, never a second refund
    status = client.query_status(StatusQuery("PAYH35MB1", "MB", 1_378_500, NOW))
    assert status.refunded is True and bank.transaction("MB", "PAYH35MB1").refunded_vnd == 1_378_500


def test_a_callback_can_be_sent_late(bank):
    post_json(bank, "/api/pay", {"payment_id": "PAYVCB2", "bank_code": "VCB", "amount_vnd": 5_000,
                                 "outcome": "success", "deliver": False})
    status, answer = post_json(bank, "/control/deliver", {"bank_code": "VCB", "payment_id": "PAYVCB2"})
    assert (status, answer["error"]) == (502, "CALLBACK_FAILED")  # nothing listens at this fixture's API address
    status, answer = post_json(bank, "/control/deliver", {"bank_code": "VCB", "payment_id": "NOPE"})
    assert status == 400 and answer["error"] == "INVALID_REQUEST"
