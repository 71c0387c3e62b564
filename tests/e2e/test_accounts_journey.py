"""M7/M8/M9 as clients see them, over HTTP against the local stack and its user pool (moto's cognito-idp): an
operator creates an officer (temporary password by SMS, first staff sign-in answers the new-password challenge) and
gives them a one-stop unit and the right; the officer checks the ID, prints the form, uploads the scan to S3, sends
the OTP and creates the account; the citizen signs in with the SMS password, must change it, signs in again, adds a
tax code, links a Vietcombank account with an OTP and pays straight at the bank; the payment shows in their
history. SMS are read from moto's SNS."""
from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import assert_problem

PROVINCE_UNIT_NAME = "Trung tâm Phục vụ hành chính công tỉnh Hà Nam"


def identity(api_url: str, role: str | None, **options):
    """A fresh user of ``role``, seeded through the use cases and signed in through the API and the pool."""
    from chalicelib.local.identities import new_identity

    return new_identity(api_url, role, **options)


def auth(tok: str) -> dict:
    return {"Authorization": f"Bearer {tok}"}


def sms_to(phone: str, at_least: int = 1, timeout_s: float = 15) -> list[str]:
    """What moto's SNS delivered to this phone (the stack runs in this process), once at least `at_least` texts have
    arrived: the outbox consumer sends them a moment after the request that wrote them."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    deadline = time.monotonic() + timeout_s
    while True:
        got = [msg for to, msg in list(sns_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-1"].sms_messages.values())
               if to == phone]
        if len(got) >= at_least or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def fresh_phone() -> str:
    return f"+8490{uuid.uuid4().int % 10**7:07d}"


def fresh_id() -> str:
    return f"0350950{uuid.uuid4().int % 10**5:05d}"  # Hà Nam, male, born 1995


class Desk:
    """An administrator, a one-stop unit and an officer holding the right, created through the API."""

    def __init__(self, api) -> None:
        self.api, self.s, self.url = api, api.s, api.url
        self.operator = identity(self.url, "operator")
        self.admin = self.operator.headers
        self.unit = f"000.{uuid.uuid4().int % 900 + 100}.{uuid.uuid4().int % 90 + 10:02d}.H35"
        r = self.s.post(f"{self.url}/v1/admin/units", json={"code": self.unit, "name": PROVINCE_UNIT_NAME},
                        headers=self.admin)
        assert r.status_code == 201, r.text
        self.officer_id, self.officer_phone = f"off-{uuid.uuid4().hex[:10]}", fresh_phone()
        r = self.s.post(f"{self.url}/v1/admin/users", headers=self.admin, json={
            "user_id": self.officer_id, "full_name": "Trần Văn Bình", "phone": self.officer_phone,
            "id_number": fresh_id(), "issuer": "portal"})
        assert r.status_code == 201, r.text
        assert self.s.post(f"{self.url}/v1/admin/users/{self.officer_id}/units", json={"unit_code": self.unit},
                           headers=self.admin).status_code == 200
        r = self.s.put(f"{self.url}/v1/admin/users/{self.officer_id}/rights/create_citizen_accounts",
                       headers=self.admin)
        assert r.status_code == 200 and r.json()["rights"] == ["create_citizen_accounts"], r.text
        assert r.json()["roles"] == ["officer"]
        self.officer = auth(self.first_staff_sign_in())

    def first_staff_sign_in(self) -> str:
        """The officer's temporary password from their SMS, the challenge, a new password: the access token."""
        text = sms_to(self.officer_phone)[-1]
        assert f"Tên đăng nhập: {self.officer_id} " in text
        temp = text.split("Mật khẩu tạm thời: ")[1].split(" ")[0]
        r = self.s.post(f"{self.url}/v1/auth/staff/sign-in", json={"username": self.officer_id, "password": temp})
        assert r.status_code == 200 and r.json()["challenge"] == "NEW_PASSWORD_REQUIRED", r.text
        self.officer_password = f"Ca{uuid.uuid4().hex[:8]}!9"
        r = self.s.post(f"{self.url}/v1/auth/staff/new-password", json={
            "username": self.officer_id, "session": r.json()["session"], "new_password": self.officer_password})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def post(self, path: str, body: dict, headers: dict | None = None) -> requests.Response:
        return self.s.post(f"{self.url}{path}", json=body, headers=headers or self.officer, timeout=30)

    def upload_scan(self, content: bytes, name: str = "cccd.pdf") -> str:
        r = self.post("/v1/officers/citizen-accounts/scans", {"unit_code": self.unit, "file_name": name})
        assert r.status_code == 201, r.text
        form = r.json()["upload"]
        up = requests.post(form["url"], data=form["fields"], files={form["file_field"]: (name, content)}, timeout=30)
        assert up.status_code in (200, 201, 204), up.text
        return r.json()["scan_id"]

    def otp_token(self, phone: str, purpose: str, subject: str, headers: dict | None = None) -> str:
        before = len(sms_to(phone, at_least=0))
        r = self.post("/v1/otp", {"phone": phone, "purpose": purpose, "subject": subject}, headers)
        assert r.status_code == 202, r.text
        code = sms_to(phone, at_least=before + 1)[-1][:6]
        r = self.post("/v1/otp/verify", {"phone": phone, "purpose": purpose, "subject": subject, "code": code},
                      headers)
        assert r.status_code == 200, r.text
        return r.json()["verification_token"]

    def citizen(self, id_number: str, phone: str, **over) -> dict:
        return {"id_number": id_number, "full_name": "Nguyễn Văn An", "date_of_birth": "1995-03-14", "sex": "male",
                "phone": phone, "email": "an@example.vn", "unit_code": self.unit, **over}

    def create(self, id_number: str, phone: str, scan: bytes = b"%PDF-1.7\n" + b"0" * 500) -> requests.Response:
        body = self.citizen(id_number, phone, scan_id=self.upload_scan(scan),
                            verification_token=self.otp_token(phone, "account_creation", id_number))
        return self.post("/v1/officers/citizen-accounts", body)


@pytest.fixture()
def desk(api):
    return Desk(api)


class Raw(logging.Handler):
    """Every log record of our code, before masking, with its extra fields."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(f"{record.getMessage()} {vars(record)!r}")


def test_officer_creates_an_account_and_the_citizen_links_a_bank_and_pays(desk, api):
    raw = Raw()
    logging.getLogger("chalicelib").addHandler(raw)
    try:
        _journey(desk, api, raw)
    finally:
        logging.getLogger("chalicelib").removeHandler(raw)


def _journey(desk: Desk, api, raw: Raw) -> None:
    id_number, phone = fresh_id(), fresh_phone()
    r = desk.post("/v1/officers/citizen-accounts/search", {"id_number": id_number})
    assert r.status_code == 200 and r.json()["exists"] is False

    form = desk.post("/v1/officers/citizen-accounts/request-form", desk.citizen(id_number, phone))
    assert form.status_code == 200 and form.headers["Content-Type"] == "application/pdf"
    assert form.content.startswith(b"%PDF-")

    created = desk.create(id_number, phone)
    assert created.status_code == 201, created.text
    account_id = created.json()["account_id"]
    codes_sent = [m[:6] for m in sms_to(phone, at_least=2)[:-1]]  # the creation OTP, then the password
    temp = sms_to(phone, at_least=2)[-1].split("Mật khẩu tạm thời: ")[1].split(" ")[0]

    assert desk.post("/v1/officers/citizen-accounts/search", {"id_number": id_number}).json()["exists"] is True
    listed = desk.post("/v1/officers/citizen-accounts/query", {"id_number": id_number}).json()["items"]
    assert [a["account_id"] for a in listed] == [account_id]

    # First sign-in with the SMS password: a challenge, no token; the new password; then an ordinary sign-in.
    s, url = api.s, api.url
    first = s.post(f"{url}/v1/auth/sign-in", json={"id_number": id_number, "password": temp})
    assert first.status_code == 200 and first.json()["must_change_password"] is True, first.text
    assert "access_token" not in first.json() and first.json()["challenge"] == "NEW_PASSWORD_REQUIRED"
    weak = s.post(f"{url}/v1/auth/new-password", json={"id_number": id_number, "session": first.json()["session"],
                                                        "new_password": "password123"})
    assert_problem(weak, 422, "PASSWORD_TOO_COMMON")  # a rule beyond the schema: its own (declared) code
    assert weak.json()["errors"][0]["code"] == "PASSWORD_TOO_COMMON"
    r = s.post(f"{url}/v1/auth/new-password", json={"id_number": id_number, "session": first.json()["session"],
                                                     "new_password": "Ng5v8nAn!x2026"})
    assert r.status_code == 200 and r.json()["must_change_password"] is False, r.text
    assert_problem(s.post(f"{url}/v1/auth/sign-in", json={"id_number": id_number, "password": temp}), 401,
                   "SIGN_IN_FAILED")
    r = s.post(f"{url}/v1/auth/sign-in", json={"id_number": id_number, "password": "Ng5v8nAn!x2026"})
    assert r.status_code == 200 and r.json()["must_change_password"] is False, r.text
    citizen_token = r.json()["access_token"]
    me = auth(citizen_token)
    assert s.get(f"{url}/v1/citizens/me", headers=me).json()["account_id"] == account_id
    dossier, number, _ = api.new_notice()

    # Tax code, then link Vietcombank: condition 1 first, then the others, then the OTP.
    username = f"an{uuid.uuid4().hex[:8]}"
    link_body = {"bank_code": "VCB", "banking_username": username}
    assert_problem(s.post(f"{url}/v1/citizens/me/bank-links", json=link_body, headers=me), 422, "TAX_CODE_REQUIRED")
    assert s.patch(f"{url}/v1/citizens/me", json={"tax_code": id_number}, headers=me).json()["tax_code"] == id_number
    assert_problem(s.post(f"{url}/v1/citizens/me/bank-links", json=link_body, headers=me), 422,
                   "BANK_ACCOUNT_NOT_FOUND")
    ib = {"bank_code": "VCB", "username": username, "holder_name": "NGUYEN VAN AN", "id_number": id_number,
          "otp_phone": phone.replace("+84", "0"), "account_number": "0011001234567"}
    assert requests.post(f"{api.bank_url}/api/ib/accounts", json=ib, timeout=5).status_code == 201

    assert_problem(api.pay(dossier, number, "VCB", token=citizen_token), 403, "BANK_ACCOUNT_NOT_LINKED")
    started = s.post(f"{url}/v1/citizens/me/bank-links", json=link_body, headers=me)
    assert started.status_code == 202, started.text
    otp = started.json()["otp"]
    code = sms_to(phone, at_least=3)[-1][:6]
    codes_sent.append(code)
    verified = s.post(f"{url}/v1/otp/verify", headers=me, json={"phone": phone, "purpose": "bank_link",
                                                                "subject": otp["subject"], "code": code})
    assert verified.status_code == 200, verified.text
    confirm = {**link_body, "verification_token": verified.json()["verification_token"]}
    linked = s.post(f"{url}/v1/citizens/me/bank-links/confirm", json=confirm, headers=me)
    assert linked.status_code == 201 and linked.json()["account_number_masked"].endswith("4567"), linked.text
    assert_problem(s.post(f"{url}/v1/citizens/me/bank-links", json=link_body, headers=me), 409, "BANK_LINK_EXISTS")

    # Linked: straight to the bank's payment page; pay; the history shows it with its receipt.
    paid = api.pay(dossier, number, "VCB", token=citizen_token)
    assert paid.status_code == 201, paid.text
    payment = paid.json()
    assert "/pay?" in payment["redirect_url"] and "/ib/login" not in payment["redirect_url"]
    r = requests.post(f"{api.bank_url}/api/pay", json={"payment_id": payment["payment_id"], "bank_code": "VCB",
                                                        "amount_vnd": payment["amount_vnd"], "outcome": "success"})
    assert r.json()["callback_status"] == 200, r.text
    history = s.get(f"{url}/v1/citizens/me/transactions?limit=5", headers=me).json()
    assert [(t["payment_id"], t["state"]) for t in history["items"]] == [(payment["payment_id"], "PAID")]
    receipt = history["items"][0]["receipt_id"]
    # The citizen who paid reads the receipt signed in (no access secret needed); without a token it is closed.
    assert s.get(f"{url}{history['items'][0]['receipt_url']}", headers=me).json()["receipt_id"] == receipt
    assert s.get(f"{url}{history['items'][0]['receipt_url']}").status_code == 401

    # Unlink: the single-sign-on bank refuses again.
    assert s.delete(f"{url}/v1/citizens/me/bank-links", headers=me).status_code == 204
    other_dossier, other_number, _ = api.new_notice()
    assert_problem(api.pay(other_dossier, other_number, "VCB", token=citizen_token), 403, "BANK_ACCOUNT_NOT_LINKED")

    logged = "\n".join(raw.lines)
    assert "otp issued" in logged and "citizen account created" in logged
    for secret in (*codes_sent, temp, "Ng5v8nAn!x2026", id_number, phone, phone[3:], citizen_token):
        assert secret not in logged, secret


def test_duplicate_and_concurrent_creation_give_one_account(desk):
    id_number = fresh_id()
    phones = [fresh_phone(), fresh_phone()]
    bodies = [desk.citizen(id_number, p, scan_id=desk.upload_scan(b"%PDF-1.4\n" + b"1" * 100),
                           verification_token=desk.otp_token(p, "account_creation", id_number)) for p in phones]
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda b: desk.post("/v1/officers/citizen-accounts", b), bodies))
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    assert_problem(next(a for a in answers if a.status_code == 409), 409, "ACCOUNT_ALREADY_EXISTS")
    third = desk.create(id_number, fresh_phone())
    assert_problem(third, 409, "ACCOUNT_ALREADY_EXISTS")


def test_scan_checked_by_content_and_size(desk):
    r = desk.create(fresh_id(), fresh_phone(), scan=b"\x89PNG\r\n\x1a\n" + b"0" * 100)
    assert_problem(r, 422, "SCAN_CONTENT_INVALID")
    big = b"%PDF-1.7\n" + b"0" * (5 * 1024 * 1024 + 1 - 9)
    assert len(big) == 5 * 1024 * 1024 + 1
    assert_problem(desk.create(fresh_id(), fresh_phone(), scan=big), 413, "SCAN_TOO_LARGE")


def test_otp_limits_over_http_answer_429_with_retry_after(desk):
    phone, id_number = fresh_phone(), fresh_id()
    body = {"phone": phone, "purpose": "account_creation", "subject": id_number}
    assert desk.post("/v1/otp", body).status_code == 202
    r = desk.post("/v1/otp", body)
    problem = assert_problem(r, 429, "OTP_RESEND_TOO_SOON")
    assert 0 < int(r.headers["Retry-After"]) <= 60 and "thử lại sau" in problem["detail"]
    wrong = {**body, "code": "000000" if sms_to(phone)[-1][:6] != "000000" else "111111"}
    for _ in range(4):
        assert_problem(desk.post("/v1/otp/verify", wrong), 422, "OTP_INVALID")
    r = desk.post("/v1/otp/verify", wrong)
    assert_problem(r, 429, "OTP_LOCKED")
    assert int(r.headers["Retry-After"]) > 0
    right = {**body, "code": sms_to(phone)[-1][:6]}
    assert_problem(desk.post("/v1/otp/verify", right), 429, "OTP_LOCKED")


def test_vietnam_post_account_cannot_get_the_right_and_unit_rule_uses_nfd(api):
    import unicodedata

    operator = identity(api.url, "operator")
    admin = operator.headers
    unit = f"000.{uuid.uuid4().int % 900 + 100}.{uuid.uuid4().int % 90 + 10:02d}.H35"
    name = unicodedata.normalize("NFD", "BỘ PHẬN MỘT CỬA UBND XÃ KIM BẢNG")
    assert api.s.post(f"{api.url}/v1/admin/units", json={"code": unit, "name": name}, headers=admin).json()[
        "one_stop"] is True
    for issuer, expected in (("vnpost", (403, "VNPOST_ACCOUNT_NOT_ELIGIBLE")), ("portal", (200, None))):
        user = f"u-{uuid.uuid4().hex[:8]}"
        api.s.post(f"{api.url}/v1/admin/users", headers=admin, json={
            "user_id": user, "full_name": "Lê Văn Công", "phone": fresh_phone(), "id_number": fresh_id(),
            "issuer": issuer})
        api.s.post(f"{api.url}/v1/admin/users/{user}/units", json={"unit_code": unit}, headers=admin)
        r = api.s.put(f"{api.url}/v1/admin/users/{user}/rights/create_citizen_accounts", headers=admin)
        if expected[1]:
            assert_problem(r, *expected)
        else:
            assert r.status_code == 200, r.text
            audit = api.s.get(f"{api.url}/v1/admin/users/{user}/audit", headers=admin).json()["items"]
            assert audit[-1]["action"] == "GRANT_RIGHT" and audit[-1]["actor"] == operator.subject


def test_history_pages_with_a_cursor_that_cannot_reach_another_citizen(api):
    import base64
    import json

    citizen = identity(api.url, "citizen")
    me = citizen.headers
    paid = []
    for _ in range(3):
        dossier, number, _ = api.new_notice()
        r = api.pay(dossier, number, "BIDV", token=citizen.access_token)  # not single-sign-on: no link needed
        assert r.status_code == 201, r.text
        paid.append(r.json()["payment_id"])
    first = api.s.get(f"{api.url}/v1/citizens/me/transactions?limit=2", headers=me).json()
    second = api.s.get(f"{api.url}/v1/citizens/me/transactions", params={"limit": 2, "cursor": first["next_cursor"]},
                       headers=me).json()
    got = [t["payment_id"] for t in first["items"] + second["items"]]
    assert sorted(got) == sorted(paid) and len(set(got)) == 3 and second["next_cursor"] is None
    assert all(t["state"] == "PENDING_BANK" for t in first["items"])
    # Someone else's cursor (or a forged one) is refused, never followed into their partition.
    other = identity(api.url, "citizen").headers
    # (An opaque cursor's content is a rule beyond the schema: its own declared code.)
    r = api.s.get(f"{api.url}/v1/citizens/me/transactions", params={"cursor": first["next_cursor"]}, headers=other)
    assert_problem(r, 422, "CURSOR_INVALID")
    forged = base64.urlsafe_b64encode(json.dumps({"pk": {"S": "x"}}).encode()).decode()
    r = api.s.get(f"{api.url}/v1/citizens/me/transactions", params={"cursor": forged}, headers=me)
    assert_problem(r, 422, "CURSOR_INVALID")
