"""Issue 8 §6: a signed-in citizen's history includes the payments they made through the anonymous lookup with their
own ID number. An anonymous payment is filed under the accounts' keyed hash of the lookup's ID number (gsi1
``PAYER#<hash>``, never the number), a signed-in one under the account (``CIT#<sub>``) and never both; the history
reads both partitions newest first under one composite cursor."""
from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest

from chalicelib.accounts.services import citizen_accounts as accounts
from chalicelib.accounts.services import citizens
from chalicelib.payments.adapters.history import _decode_positions, _merge_newest_first
from chalicelib.payments.adapters.ledger import history_partition
from chalicelib.payments.domain.payments import Payment, PaymentState
from chalicelib.payments.services.intake import ingest_notices
from chalicelib.payments.services.payment_requests import initiate_payment
from tests.fakes import ID_NUMBER, make_services, payment_body, sample_batch
from tests.fakes_accounts import (
    CITIZEN_ID,
    ONE_STOP_UNIT,
    account_body,
    caller_for,
    first_sign_in,
    make_account_services,
    officer,
    seed_officer,
    seed_units,
)


@pytest.fixture
def pay_svc():
    svc = make_services()
    ingest_notices(svc, sample_batch())
    return svc


def test_an_anonymous_payment_is_filed_under_the_hash_of_the_payers_id_number(pay_svc):
    answer = initiate_payment(pay_svc, payment_body(), None, None)[1]
    stored = pay_svc.ledger.get_payment(answer["payment_id"])
    assert stored.payer_id_hash == pay_svc.keys.id_hash(ID_NUMBER)  # the account's hash, not the dossier's
    assert history_partition(stored) == f"PAYER#{pay_svc.keys.id_hash(ID_NUMBER)}"
    assert ID_NUMBER not in stored.model_dump_json()


def test_a_signed_in_payment_is_filed_under_the_account_only():
    p = Payment(payment_id="PAYH35X", state=PaymentState.PAID, notice_number="TB", amount_vnd=1, bank_code="VCB",
                collecting_unit="u", payer_name="n", items=[], created_at="2026", expires_at=0, citizen_sub="acc-1",
                payer_id_hash="h")
    assert history_partition(p) == "CIT#acc-1"
    assert history_partition(p.model_copy(update={"citizen_sub": None, "payer_id_hash": None})) is None


def test_the_history_asks_for_the_accounts_own_id_hash_and_shows_those_payments():
    svc = make_account_services()
    seed_units(svc)
    seed_officer(svc, "off-a", units=(ONE_STOP_UNIT,))
    svc.clock.advance(seconds=61)
    account_id = accounts.create_account(svc, officer("off-a"), account_body(svc, "off-a"))["account_id"]
    me = caller_for(svc, first_sign_in(svc)["access_token"])

    def payment(i: int, **who) -> Payment:
        return Payment(payment_id=f"PAYH35{i:026d}", state=PaymentState.PAID, notice_number=f"TB-{i}",
                       amount_vnd=1000, bank_code="VCB", collecting_unit="u", payer_name="n", items=[],
                       created_at=f"2026-05-20T09:0{i}:00+07:00", expires_at=0, **who)

    mine = svc.keys.id_hash(CITIZEN_ID)
    svc.history.payments[account_id] = [payment(1, citizen_sub=account_id), payment(3, citizen_sub=account_id)]
    svc.history.by_payer[mine] = [payment(2, payer_id_hash=mine)]
    svc.history.by_payer[svc.keys.id_hash("035095001")] = [payment(4)]  # a 9-digit old number: another person's
    answer = citizens.transactions(svc, me, "10", None)
    assert [p["notice_number"] for p in answer["items"]] == ["TB-3", "TB-2", "TB-1"]
    assert svc.history.asked[-1] == (account_id, mine)


def _item(partition: str, at: str, n: int):
    return SimpleNamespace(pk=f"PAY#{n}", sk="PAYMENT", gsi1pk=partition, gsi1sk=at, kind="payment")


def test_the_merge_keeps_each_partitions_order_and_takes_the_newest():
    cit = [_item("CIT#a", "05", 1), _item("CIT#a", "05", 2), _item("CIT#a", "01", 3)]
    payer = [_item("PAYER#h", "06", 4), _item("PAYER#h", "02", 5)]
    taken = _merge_newest_first([cit, payer], 4)
    assert [(side, i.pk) for side, i in taken] == [(1, "PAY#4"), (0, "PAY#1"), (0, "PAY#2"), (1, "PAY#5")]


def _cursor(doc) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def test_a_composite_cursor_is_refused_when_tampered():
    parts = ["CIT#a", "PAYER#h"]
    key = {"pk": {"S": "PAY#1"}, "sk": {"S": "PAYMENT"}, "gsi1pk": {"S": "PAYER#h"}, "gsi1sk": {"S": "05"}}
    assert _decode_positions(_cursor({"v": 2, "positions": [None, key]}), parts) == [None, key]
    for bad in ({"v": 2, "positions": [None, {**key, "gsi1pk": {"S": "PAYER#someone-else"}}]},
                {"v": 2, "positions": [key, None]},  # a PAYER# position offered as the CIT# one
                {"v": 2, "positions": [None, None]}, {"v": 2, "positions": [{}]}, {"v": 1, "positions": [{}, {}]},
                key):
        with pytest.raises(ValueError):
            _decode_positions(_cursor(bad), parts)
    with pytest.raises(ValueError):
        _decode_positions("%%%not-base64", parts)
