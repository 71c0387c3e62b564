"""The account adapters against AWS stand-ins over HTTP: DynamoDB (moto) for the OTP store, send counters, accounts,
links, the sign-in guard and their transactions; S3 (moto) for the presigned upload, its encryption and the
size/content checks; moto's cognito-idp for the user pool; the simulated bank for the internet-banking lookup. The use
cases run with the real adapters and an injected clock."""
from __future__ import annotations

import threading
import uuid

import boto3
import pytest
import requests

from chalicelib.accounts.ports import BankLink
from chalicelib.accounts.services import citizen_accounts as accounts
from chalicelib.core.clock import FixedClock
from chalicelib.core.errors import AppError
from chalicelib.core.ports import AlreadyExistsError
from chalicelib.otp import services as otp_cases
from chalicelib.otp.domain import OtpPurpose
from chalicelib.otp.ports import TokenRejectedError
from tests.fakes import FakeSms
from tests.fakes_accounts import START, caller

PDF = b"%PDF-1.7\n" + b"0" * 1000


class Codes:
    def __init__(self, *codes):
        self.codes = list(codes)

    def __call__(self):
        return self.codes.pop(0)


@pytest.fixture()
def svc(stack):
    """The wired account services (DynamoDB, S3, the user pool, bank adapter), with a fixed clock, known codes and
    a fake SMS inbox; a fresh phone per test so send counters never collide."""
    from chalicelib.bootstrap import context as account_services

    return account_services().replace(clock=FixedClock(START), sms=FakeSms(),
                                      new_code=Codes("482913", "719305", "264871", "903517", "551842", "377064"))


def fresh_phone() -> str:
    return f"+8490{uuid.uuid4().int % 10**7:07d}"


def refused(fn, *args) -> AppError:
    with pytest.raises(AppError) as exc:
        fn(*args)
    return exc.value


def table_items(stack):
    ddb = boto3.client("dynamodb")
    items, kwargs = [], {"TableName": stack.env["DIRECTORY_TABLE"]}
    while True:
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --- OTP on DynamoDB ---------------------------------------------------------------------------------------------

def test_otp_expiry_resend_reuse_and_attempts_on_dynamodb(svc, stack):
    phone, subject, P = fresh_phone(), "035095001234", OtpPurpose.ACCOUNT_CREATION
    otp_cases.issue_otp(svc, phone, P, subject)
    svc.clock.advance(seconds=119)
    assert otp_cases.verify_otp(svc, phone, P, subject, "482913")["verification_token"]
    assert refused(otp_cases.verify_otp, svc, phone, P, subject, "482913").code == "OTP_USED"
    svc.clock.advance(seconds=60)
    otp_cases.issue_otp(svc, phone, P, subject)  # 719305
    assert refused(otp_cases.verify_otp, svc, phone, P, subject, "482913").code == "OTP_INVALID"
    svc.clock.advance(seconds=121)
    assert refused(otp_cases.verify_otp, svc, phone, P, subject, "719305").code == "OTP_EXPIRED"
    otp_cases.issue_otp(svc, phone, P, subject)  # 264871: failures so far survive the resend
    for _ in range(2):
        refused(otp_cases.verify_otp, svc, phone, P, subject, "000000")
    assert refused(otp_cases.verify_otp, svc, phone, P, subject, "264871").code == "OTP_LOCKED"
    stored = " ".join(str(item) for item in table_items(stack))
    for clear in ("482913", "719305", "264871", phone, phone[3:]):
        assert clear not in stored


def test_concurrent_guesses_on_dynamodb_are_capped_at_five(svc):
    phone, subject, P = fresh_phone(), "035095001234", OtpPurpose.ACCOUNT_CREATION
    otp_cases.issue_otp(svc, phone, P, subject)
    outcomes, lock = [], threading.Lock()

    def guess(code):
        try:
            otp_cases.verify_otp(svc, phone, P, subject, code)
            outcome = "ok"
        except AppError as err:
            outcome = err.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=guess, args=(f"{n:06d}",)) for n in range(12)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert outcomes.count("OTP_INVALID") == 4 and outcomes.count("OTP_LOCKED") == 8
    assert svc.otp.get(svc.keys.otp_key(phone, P.value, subject)).attempts == 5


def test_send_counters_on_dynamodb_map_to_the_right_limit(svc):
    svc.new_code = None  # random codes: this test never verifies
    phone = fresh_phone()
    for i in range(5):
        otp_cases.issue_otp(svc, phone, OtpPurpose.ACCOUNT_CREATION, f"00109000{5670 + i}")
    err = refused(otp_cases.issue_otp, svc, phone, OtpPurpose.ACCOUNT_CREATION, "001090005699")
    assert (err.code, err.status) == ("OTP_HOURLY_LIMIT", 429) and int(err.headers["Retry-After"]) <= 3600
    other = fresh_phone()
    for hour in range(10):
        svc.clock.advance(hours=1)
        otp_cases.issue_otp(svc, other, OtpPurpose.ACCOUNT_CREATION, f"00109000{5600 + hour}")
    svc.clock.advance(minutes=1)  # still the same day (09:00 + 10 h 1 min)
    assert refused(otp_cases.issue_otp, svc, other, OtpPurpose.ACCOUNT_CREATION, "001090005699").code == \
        "OTP_DAILY_LIMIT"


# --- accounts and links on DynamoDB, scans on S3 -----------------------------------------------------------------

@pytest.fixture()
def officer_svc(svc):
    from chalicelib.accounts.services import officers

    unit = f"000.00.{uuid.uuid4().int % 90 + 10}.H35"
    admin = caller("op", "operator")
    try:
        officers.create_unit(svc, admin, {"code": unit, "name": "Bộ phận một cửa UBND phường Lam Hạ"})
    except AppError:
        pass
    officer_id = f"off-{uuid.uuid4().hex[:8]}"
    officers.register_user(svc, admin, {"user_id": officer_id, "full_name": "Đỗ Văn Cường",
                                        "phone": fresh_phone(), "id_number": "001090005678", "issuer": "portal"})
    officers.assign_unit(svc, admin, officer_id, {"unit_code": unit})
    officers.grant_right(svc, admin, officer_id, "create_citizen_accounts")
    return svc, caller(officer_id, "officer"), unit


def upload(svc, who, unit, content: bytes, name="cccd.pdf") -> str:
    answer = accounts.scan_upload(svc, who, {"unit_code": unit, "file_name": name})
    form = answer["upload"]
    r = requests.post(form["url"], data=form["fields"], files={"file": (name, content)}, timeout=30)
    assert r.status_code in (200, 201, 204), r.text
    return answer["scan_id"]


def new_citizen_id() -> str:
    return f"0350950{uuid.uuid4().int % 10**5:05d}"


def token_for(svc, phone, id_number) -> str:
    svc.new_code = lambda: "135790"
    otp_cases.issue_otp(svc, phone, OtpPurpose.ACCOUNT_CREATION, id_number)
    return otp_cases.verify_otp(svc, phone, OtpPurpose.ACCOUNT_CREATION, id_number, "135790")["verification_token"]


def body(svc, who, unit, id_number, phone, scan_id=None):
    return {"id_number": id_number, "full_name": "Nguyễn Văn An", "date_of_birth": "1995-03-14", "sex": "male",
            "phone": phone, "unit_code": unit, "scan_id": scan_id or upload(svc, who, unit, PDF),
            "verification_token": token_for(svc, phone, id_number)}


def test_scan_is_stored_encrypted_under_a_key_without_the_id_number(officer_svc, stack):
    svc, who, unit = officer_svc
    id_number, phone = new_citizen_id(), fresh_phone()
    created = accounts.create_account(svc, who, body(svc, who, unit, id_number, phone))
    stored = svc.accounts.get_account(created["account_id"])
    assert id_number not in stored.scan_key and stored.scan_key.startswith("citizen-scans/")
    head = boto3.client("s3").head_object(Bucket=stack.env["DOCUMENTS_BUCKET"], Key=stored.scan_key)
    assert head["ServerSideEncryption"] in ("AES256", "aws:kms")
    assert head["Metadata"]["officer"] == who.subject and head["ContentType"] == "application/pdf"
    everything = " ".join(str(i) for i in table_items(stack))
    assert id_number not in everything and "password_hash" not in everything  # the pool alone holds passwords
    assert svc.users.groups_of(stored.id_hash) == ["citizen"] and svc.users.sub_of(stored.id_hash) == stored.sub


def test_five_mb_plus_one_byte_refused_and_deleted_fake_pdf_refused(officer_svc, stack):
    svc, who, unit = officer_svc
    too_big = upload(svc, who, unit, PDF + b"0" * (5 * 1024 * 1024 + 1 - len(PDF)))
    err = refused(accounts.create_account, svc, who, body(svc, who, unit, new_citizen_id(), fresh_phone(), too_big))
    assert (err.code, err.status) == ("SCAN_TOO_LARGE", 413)
    s3 = boto3.client("s3")
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket=stack.env["DOCUMENTS_BUCKET"], Key=f"citizen-scans/{too_big}")
    fake = upload(svc, who, unit, b"GIF89a not a pdf at all")
    svc.clock.advance(seconds=61)
    err = refused(accounts.create_account, svc, who, body(svc, who, unit, new_citizen_id(), fresh_phone(), fake))
    assert err.code == "SCAN_CONTENT_INVALID"


def test_concurrent_creation_of_one_id_number_on_dynamodb_gives_one_account(officer_svc):
    svc, who, unit = officer_svc
    id_number = new_citizen_id()
    bodies = [body(svc, who, unit, id_number, fresh_phone()) for _ in range(6)]
    results, lock, gate = [], threading.Lock(), threading.Barrier(6)

    def create(b):
        gate.wait()
        try:
            out = accounts.create_account(svc, who, b)["account_id"]
        except AppError as err:
            out = err.code
        with lock:
            results.append(out)

    threads = [threading.Thread(target=create, args=(b,)) for b in bodies]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert results.count("ACCOUNT_ALREADY_EXISTS") == 5, results
    account_id = svc.accounts.account_id_for(svc.keys.id_hash(id_number))
    assert account_id in results
    login = svc.accounts.login(svc.keys.id_hash(id_number))  # the one pool user is the recorded one
    assert login.account_id == account_id and login.sub == svc.users.sub_of(svc.keys.id_hash(id_number))


def test_parallel_wrong_passwords_on_dynamodb_pass_the_guard_one_at_a_time(officer_svc):
    from chalicelib.accounts.ports import Caller
    from chalicelib.accounts.services import sign_in

    svc, who, unit = officer_svc
    id_number = new_citizen_id()
    accounts.create_account(svc, who, body(svc, who, unit, id_number, fresh_phone()))
    results, lock, gate = [], threading.Lock(), threading.Barrier(12)

    def guess(_):
        gate.wait()
        try:
            sign_in.sign_in(svc, Caller(None, client="198.51.100.77"), {"id_number": id_number,
                                                                        "password": "SaiMatKhau1"})
        except AppError as err:
            with lock:
                results.append(err.code)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    free = svc.settings.sign_in.free_failures
    assert results.count("SIGN_IN_FAILED") == free and results.count("SIGN_IN_DELAYED") == 12 - free, results
    state = svc.guard.state(sign_in.guard_key(svc, svc.keys.id_hash(id_number), staff=False))
    assert state.failures == free and state.blocked_until == int(START.timestamp()) + 30


def test_token_consumed_in_the_creating_transaction(officer_svc):
    svc, who, unit = officer_svc
    id_number, phone = new_citizen_id(), fresh_phone()
    b = body(svc, who, unit, id_number, phone)
    accounts.create_account(svc, who, b)
    again = {**b, "id_number": new_citizen_id(), "scan_id": upload(svc, who, unit, PDF)}
    assert refused(accounts.create_account, svc, who, again).code == "VERIFICATION_TOKEN_INVALID"


def test_link_store_transactions(svc):
    from chalicelib.otp.ports import TokenClaim

    account_id = f"acc-{uuid.uuid4().hex}"
    phone = fresh_phone()
    svc.new_code = lambda: "246802"
    otp_cases.issue_otp(svc, phone, OtpPurpose.BANK_LINK, f"{account_id}:VCB:u")
    token = otp_cases.verify_otp(svc, phone, OtpPurpose.BANK_LINK, f"{account_id}:VCB:u", "246802")[
        "verification_token"]
    claim = otp_cases.token_claim(svc, phone, OtpPurpose.BANK_LINK, f"{account_id}:VCB:u", token)
    wrong = TokenClaim(claim.otp_key, "0" * 64, claim.now)
    link = BankLink(account_id, "VCB", "***u", "****4567", "NGUYEN VAN AN", "2026-05-20T09:00:00+07:00")
    with pytest.raises(TokenRejectedError):
        svc.links.create_link(link, wrong)
    assert svc.links.get_link(account_id) is None
    svc.links.create_link(link, claim)
    with pytest.raises(AlreadyExistsError):
        svc.links.create_link(link, claim)
    assert svc.links.get_link(account_id) == link
    assert svc.links.is_linked(account_id, "VCB") and not svc.links.is_linked(account_id, "BIDV")
    assert svc.links.delete_link(account_id) and not svc.links.delete_link(account_id)
    assert not svc.links.is_linked(account_id, "VCB")


# --- the bank adapter against the simulated bank ------------------------------------------------------------------

def test_internet_banking_lookup_through_the_simulated_bank(stack):
    from chalicelib.accounts.adapters.ibanking import HttpInternetBanking
    from chalicelib.local.devkeys import LOCAL_BANK_SECRETS

    username = f"user{uuid.uuid4().hex[:8]}"
    r = requests.post(f"{stack.bank_url}/api/ib/accounts", json={
        "bank_code": "VCB", "username": username, "holder_name": "NGUYEN VAN AN", "id_number": "035095001234",
        "otp_phone": "0912345678", "account_number": "0011001234567"}, timeout=5)
    assert r.status_code == 201
    bank = HttpInternetBanking(lambda code: stack.bank_url, lambda code: [LOCAL_BANK_SECRETS[code]])
    found = bank.lookup("VCB", username.upper())
    assert (found.id_number, found.otp_phone) == ("035095001234", "0912345678")
    assert bank.lookup("VCB", "nobody-here") is None
    forged = HttpInternetBanking(lambda code: stack.bank_url,
                                 lambda code: ["whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQQ=="])
    assert refused(forged.lookup, "VCB", username).code == "BANK_UNAVAILABLE"
    down = HttpInternetBanking(lambda code: "http://127.0.0.1:9", lambda code: [], timeout_s=1)
    assert refused(down.lookup, "VCB", username).status == 502
