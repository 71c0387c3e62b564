"""Issue 8 §4 and §6 on DynamoDB (moto, through the wired adapters): records written before personal tax codes were
hashed still read, in the new shape, and the next write stores only that; the citizen's history merges their
signed-in payments (CIT#) with the anonymous ones made with their own ID number (PAYER#<hash>), newest first,
without duplicates, under a composite cursor that refuses tampering."""
from __future__ import annotations

import base64
import json
import uuid
from dataclasses import asdict, replace

import boto3
import pytest

from chalicelib.accounts.ports import AuditEntry, CitizenAccount, OfficerUser
from chalicelib.accounts.services import officers
from chalicelib.core.clock import FixedClock
from tests.fakes_accounts import START, caller

PERSONAL = "035095001234"


@pytest.fixture()
def svc(stack):
    from chalicelib.bootstrap import context

    return context().replace(clock=FixedClock(START))


def raw(stack, pk: str, sk: str) -> dict:
    return boto3.client("dynamodb").get_item(TableName=stack.env["DIRECTORY_TABLE"], ConsistentRead=True,
                                             Key={"pk": {"S": pk}, "sk": {"S": sk}})["Item"]


def test_an_account_written_with_a_clear_personal_tax_code_reads_hashed_and_is_rewritten_so(svc, stack):
    account_id = f"acc-{uuid.uuid4().hex[:10]}"
    legacy = CitizenAccount(account_id=account_id, id_hash=svc.keys.id_hash(PERSONAL), id_last3="234",
                            full_name="Nguyễn Thị Trang", date_of_birth="1995-03-14", sex="female",
                            phone="+84912345678", email=None, must_change_password=False, created_by="off-a",
                            unit_code="000.00.15.H35", created_at=START.isoformat(), scan_key="k")
    doc = {k: v for k, v in asdict(legacy).items()
           if k not in ("rev", "tax_code_hash", "tax_code_last3", "tax_code_sealed")} | {"tax_code": PERSONAL}
    M = svc.accounts.M
    M(f"ACC#{account_id}", "ACCOUNT", kind="account", doc=json.dumps(doc), rev=1,
      gsi1pk="ACCUNIT#000.00.15.H35", gsi1sk=f"{START.isoformat()}#{account_id}").save()
    assert PERSONAL in raw(stack, f"ACC#{account_id}", "ACCOUNT")["doc"]["S"]  # the old shape, as stored before

    read = svc.accounts.get_account(account_id)
    assert (read.tax_code, read.tax_code_hash, read.tax_code_last3) == (None, svc.keys.id_hash(PERSONAL), "234")
    assert svc.sealer.open(read.tax_code_sealed).decode() == PERSONAL and read.tax_code_masked == "*********234"
    assert svc.taxpayers.account(account_id).tax_code == PERSONAL  # the tax authority lookup still gets it

    svc.accounts.update(replace(read, email="trang@example.vn", rev=2), 1)  # any write: the new shape only
    stored = raw(stack, f"ACC#{account_id}", "ACCOUNT")["doc"]["S"]
    assert PERSONAL not in stored and json.loads(stored)["tax_code_hash"] == svc.keys.id_hash(PERSONAL)
    assert svc.accounts.get_account(account_id).tax_code_sealed


def test_a_staff_user_written_with_a_clear_personal_tax_code_is_masked_found_and_rewritten(svc, stack):
    user_id = f"off-{uuid.uuid4().hex[:8]}"
    legacy = OfficerUser(user_id=user_id, full_name="Lê Thị Hoa", phone="+84977000111",
                         id_hash=svc.keys.id_hash("001090007777"), id_last3="777", issuer="portal", status="active",
                         created_at=START.isoformat())
    doc = {k: v for k, v in asdict(legacy).items()
           if k not in ("rev", "valid_after", "kept_session", "tax_code_hash", "tax_code_last3")}
    doc |= {"units": [], "rights": [], "roles": [], "tax_code": PERSONAL}
    svc.directory.M(f"USER#{user_id}", "PROFILE", kind="user", doc=json.dumps(doc), rev=1, gsi1pk="USERS",
                    gsi1sk=user_id).save()
    operator = caller("op", "operator")
    found = officers.search_users(svc, operator, {"id_or_tax_code": PERSONAL, "name": "Lê Thị Hoa"})["items"]
    assert user_id in [u["user_id"] for u in found] and PERSONAL not in json.dumps(found)
    assert [u["tax_code"] for u in found if u["user_id"] == user_id] == ["*********234"]
    user = svc.directory.get_user(user_id)
    assert (user.tax_code, user.tax_code_hash) == (None, svc.keys.id_hash(PERSONAL))
    svc.directory.update_user(replace(user, rev=2), 1, AuditEntry(user_id, START.isoformat(), "op", "LOCK_USER"))
    assert PERSONAL not in raw(stack, f"USER#{user_id}", "PROFILE")["doc"]["S"]


# --- the citizen's history: CIT#<sub> and PAYER#<hash of their ID number> ------------------------------------------

def _payment(svc, payment_id: str, at: str, *, sub: str | None = None, payer: str | None = None):
    from chalicelib.payments.adapters.ledger import payment_item
    from chalicelib.payments.domain.payments import Payment, PaymentState

    p = Payment(payment_id=payment_id, state=PaymentState.PAID, notice_number="TB-1", amount_vnd=1000,
                bank_code="VCB", collecting_unit="000.00.00.H35", payer_name="Nguyễn Thị Trang", items=[],
                created_at=at, expires_at=0, citizen_sub=sub, payer_id_hash=payer)
    payment_item(svc.ledger._item, p, svc.settings.live_index_shards).save()


def test_history_merges_signed_in_and_own_anonymous_payments_newest_first(svc):
    sub, other = f"acc-{uuid.uuid4().hex[:8]}", f"acc-{uuid.uuid4().hex[:8]}"
    mine, old_cmnd = svc.keys.id_hash(PERSONAL + sub[-2:]), svc.keys.id_hash("035095001")
    for i, (who, payer) in enumerate([(sub, None), (None, mine), (sub, None), (None, mine), (None, mine),
                                      (other, None), (None, old_cmnd), (sub, None)]):
        _payment(svc, f"PAYH35{sub}{i}", f"2026-05-20T09:00:0{i}+07:00", sub=who, payer=payer)
    seen, cursor, pages = [], None, 0
    while True:
        items, cursor = svc.history.payments_of(sub, 2, cursor, payer_key=mine)
        seen += [p.payment_id for p in items]
        pages += 1
        if cursor is None:
            break
    assert seen == [f"PAYH35{sub}{i}" for i in (7, 4, 3, 2, 1, 0)] and pages <= 4  # not 5, 6: not theirs
    # without the payer key (taxes' history): the signed-in partition only, as before
    assert [p.payment_id for p in svc.history.payments_of(sub, 10, None)[0]] == [f"PAYH35{sub}{i}" for i in (7, 2, 0)]

    _, cursor = svc.history.payments_of(sub, 2, None, payer_key=mine)
    position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    tampered = json.loads(json.dumps(position).replace(mine, old_cmnd))
    forged = base64.urlsafe_b64encode(json.dumps(tampered).encode()).decode().rstrip("=")
    with pytest.raises(ValueError):
        svc.history.payments_of(sub, 2, forged, payer_key=mine)  # a position in someone else's partition
    with pytest.raises(ValueError):
        svc.history.payments_of(other, 2, cursor, payer_key=mine)
