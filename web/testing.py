"""Browser helpers shared by the browser tests (tests/browser), `make screens` and the web benchmark: Debian's
Chromium driven by Playwright, a dossier shaped like the seed's screenshot, the citizen's journey steps, and the
checks every page must pass (axe-core: no serious or critical violation; no console error; nothing blocked by the
Content-Security-Policy).

Playwright's own browser download cannot work here (no network), so Debian's Chromium is launched by path; each
launch gets a fresh temporary profile from Playwright (the --user-data-dir it manages).
"""
from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 360, "height": 780}, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
ID_NUMBER = "035095001234"
BAD_IMPACTS = ("serious", "critical")


def chromium_available() -> bool:
    return Path(CHROMIUM).exists()


def launch(playwright):
    """Headless Debian Chromium (fresh profile per launch)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)


# --- the seed dossier -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Seed:
    dossier_code: str
    id_number: str
    notices: dict[str, int]  # notice number -> total, in the order sent
    paid: str  # the notice already paid through the API (marked "Đã nộp")


def _signed(url: str, body: dict, secret: str) -> requests.Response:
    from chalicelib.core.webhooks import sign_webhook

    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = sign_webhook(raw, secret, f"msg_{uuid.uuid4().hex}", int(time.time()))
    return requests.post(url, data=raw, headers={**headers, "Content-Type": "application/json"}, timeout=20)


def seed_dossier(api_url: str, bank_url: str) -> Seed:
    """A dossier like the seed's screenshot (registration fee 1.378.500 đ, income tax 5.514.000 đ) plus a third
    notice already paid over the public API and the simulated bank."""
    from chalicelib.local.devkeys import LOCAL_TAX_AUTHORITY_SECRET

    n = uuid.uuid4().int
    dossier = f"000.00.{n % 100:02d}.H35-260520-{n // 100 % 10000:04d}"
    numbers = [f"TB-{n % 10**7:07d}-{i}" for i in (1, 2, 3)]
    lines = [("2801", "Lệ phí trước bạ nhà đất", 1_378_500),
             ("1006", "Thuế thu nhập từ chuyển nhượng bất động sản", 5_514_000),
             ("2801", "Lệ phí trước bạ nhà đất", 250_000)]
    notices = [{"notice_number": number, "version": 1, "payer_name": "Nguyễn Thị Trang", "payer_phone": "0912345678",
                "issued_at": "2026-05-20T09:00:00+07:00", "due_date": "2026-06-18",
                "items": [{"sub_item_code": code, "description": text, "amount_vnd": amount}],
                "total_vnd": amount} for number, (code, text, amount) in zip(numbers, lines, strict=True)]
    body = {"dossier_code": dossier, "id_number": ID_NUMBER, "commune_code": "13387", "commune_code_system": "gso",
            "property": {"address": "Thửa đất số 12, tờ bản đồ số 5, phường Phủ Lý, tỉnh Ninh Bình",
                         "parcel_number": "12", "map_sheet_number": "5", "area_m2": 120.5},
            "notices": notices}
    r = _signed(f"{api_url}/v1/partners/notices", body, LOCAL_TAX_AUTHORITY_SECRET)
    assert r.status_code == 200, r.text
    pay = requests.post(f"{api_url}/v1/payments", json={"dossier_code": dossier, "id_number": ID_NUMBER,
                        "notice_number": numbers[2], "bank_code": "BIDV"}, timeout=20)
    assert pay.status_code == 201, pay.text
    payment = pay.json()
    done = requests.post(f"{bank_url}/api/pay", json={"payment_id": payment["payment_id"], "bank_code": "BIDV",
                         "amount_vnd": payment["amount_vnd"], "outcome": "success"}, timeout=20)
    assert done.status_code == 200 and done.json()["callback_status"] == 200, done.text
    return Seed(dossier, ID_NUMBER, {n["notice_number"]: n["total_vnd"] for n in notices}, numbers[2])


# --- page checks ----------------------------------------------------------------------------------------------------

_CSP_LISTENER = """document.addEventListener("securitypolicyviolation", (e) =>
  window.__reportCsp({directive: e.violatedDirective, blocked: e.blockedURI, page: location.href}));"""


@dataclass
class Watch:
    """What went wrong on the site's pages of one browser context: console errors, uncaught exceptions and CSP
    violations. `allow` lists console texts that are expected (an API 4xx a test provokes on purpose)."""

    site: str
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    csp: list[dict] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)  # every URL the context requested (no secret may be in one)

    def expect_failed(self, status: int) -> None:
        """An API answer with this status is provoked on purpose: Chromium's console line for it is not an error."""
        self.allow.append(f"status of {status}")

    def attach(self, context) -> Watch:
        context.expose_binding("__reportCsp", lambda source, v: self.csp.append(v))
        context.on("request", lambda request: self.urls.append(request.url))
        context.add_init_script(_CSP_LISTENER)
        context.on("page", self._page)
        for page in context.pages:
            self._page(page)
        return self

    def _page(self, page) -> None:
        page.on("console", lambda m: self._console(page, m))
        page.on("pageerror", lambda e: self.errors.append(f"{page.url}: {e}") if page.url.startswith(self.site)
                else None)

    def _console(self, page, message) -> None:
        ours = page.url.startswith(self.site)
        if message.type == "error" and ours and not any(a in message.text for a in self.allow):
            self.console.append(f"{page.url}: {message.text}")
        if ours and "Content Security Policy" in message.text:
            self.csp.append({"console": message.text, "page": page.url})

    def assert_clean(self) -> None:
        assert not self.errors, self.errors
        assert not self.console, self.console
        assert not self.csp, self.csp


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.x A/AA and best practices)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"resultTypes": ["violations"],
                                       "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a",
                                                                            "wcag21aa", "wcag22aa", "best-practice"]}})
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in results.response["violations"] if v["impact"] in BAD_IMPACTS]


# --- the citizen's journey ------------------------------------------------------------------------------------------

def open_lookup(page, site: str) -> None:
    page.goto(f"{site}/thanh-toan-dat-dai.html")
    page.get_by_role("button", name="Tra cứu").wait_for()
    page.wait_for_function("document.documentElement.classList.contains('js')")


def look_up(page, seed: Seed) -> None:
    page.get_by_label("Mã hồ sơ").fill(seed.dossier_code)
    page.get_by_label("Số CMND/CCCD").fill(seed.id_number)
    page.get_by_role("button", name="Tra cứu").click()
    page.locator("#ket-qua").wait_for(state="visible")


def choose_notice(page, notice_number: str) -> None:
    page.locator(f"input[name=notice_number][value='{notice_number}']").check()
    page.get_by_role("button", name="Tiếp tục").click()
    page.locator("#ds-ngan-hang input").first.wait_for()


def choose_bank(page, bank_code: str, bank_url: str) -> None:
    page.locator(f"#nh-{bank_code}").check()
    page.get_by_role("button", name="Thanh toán", exact=True).click()
    page.wait_for_url(f"{bank_url}/**")


def sign_in_at_bank(page) -> None:
    """The simulated internet-banking login (banks without single sign-on, or an anonymous citizen)."""
    if "/ib/login" in page.url:
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url("**/pay?**")


def pay_at_bank(page, site: str, outcome: str = "success") -> None:
    """On the simulated bank's pages: sign in when it asks, then pay (or cancel); back on the return page."""
    sign_in_at_bank(page)
    page.get_by_role("button", name="Thanh toán" if outcome == "success" else "Hủy giao dịch").click()
    page.wait_for_url(f"{site}/thanh-toan-dat-dai/ket-qua.html**")


def open_receipt(page) -> None:
    page.get_by_role("link", name="Xem biên lai điện tử").click()
    page.get_by_role("heading", name="Biên lai thu tiền điện tử").wait_for()


# --- signed-in screens ----------------------------------------------------------------------------------------------

def sign_in_staff(page, site: str, username: str, password: str, then: str | None = None) -> None:
    """Sign a staff user in through the staff sign-in page (the real POST /v1/auth/staff/sign-in); ``then`` is the
    page to come back to (the sign-in page's ?tiep=), else the staff home."""
    from urllib.parse import quote

    page.goto(f"{site}/can-bo/dang-nhap.html" + (f"?tiep={quote(then)}" if then else ""))
    page.get_by_label("Tên đăng nhập", exact=True).fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_url(f"{site}{then or '/can-bo/index.html'}*")


# --- support requests and onboarding (screen 4) ---------------------------------------------------------------------

def support_form(short: str, request_type: str = "other", **over) -> dict:
    """A support-request body as the province's focal officer fills it (POST /v1/support-requests)."""
    return {"request_type": request_type, "service_group": "dvcqg_integration",
            "service": "land_financial_obligations", "requester_name": "Nguyễn Văn Hùng",
            "requester_phone": "0912345678", "feedback_email": f"phanhoi-{short.lower()}@tinh.example.vn",
            "title": f"Tỉnh {short}- hỗ trợ cấu hình URL API thanh toán nghĩa vụ tài chính đất đai",
            "description": "Đề nghị cấu hình các API như sau.", **over}


def simulated_apis(stack, short: str) -> list[dict]:
    """The three API types of a province pointed at the local simulated province (with its dev credentials)."""
    from chalicelib.local import devkeys

    creds = {"username": devkeys.LOCAL_PROVINCE_USERNAME, "password": devkeys.LOCAL_PROVINCE_PASSWORD}
    return [{"api_type": t, "session_url": f"{stack.province_url}/p/{short}/session",
             "data_url": f"{stack.province_url}/p/{short}/{t}", "credentials": creds, "connect_timeout_s": 3,
             "read_timeout_s": 15} for t in ("notice", "payment_result", "receipt_file")]


def file_support_request(api_url: str, headers: dict, body: dict) -> dict:
    r = requests.post(f"{api_url}/v1/support-requests", headers=headers, json=body, timeout=20)
    assert r.status_code == 201, r.text
    return r.json()


def upload_support_attachment(api_url: str, headers: dict, name: str, content: bytes) -> dict:
    """An attachment uploaded the way the API offers it (a presigned S3 POST), as {attachment_id, file_name}."""
    r = requests.post(f"{api_url}/v1/support-requests/attachments", headers=headers, json={"file_name": name},
                      timeout=20)
    assert r.status_code == 201, r.text
    got = r.json()
    up = requests.post(got["upload"]["url"], data=got["upload"]["fields"], files={"file": (name, content)}, timeout=20)
    assert up.status_code in (200, 201, 204), up.text
    return {"attachment_id": got["attachment_id"], "file_name": name}


def configure_simulated_province(stack, province, operator_headers: dict) -> str:
    """Register a province's three APIs (PUT /v1/provinces/{agency}/apis/{type}, an operator) pointed at the
    simulated province, so a self-test can run; returns the agency code."""
    agency = f"000.00.00.{province.agency_code}"
    for api in simulated_apis(stack, province.agency_code):
        body = {k: v for k, v in api.items() if k != "api_type"}
        r = requests.put(f"{stack.api_url}/v1/provinces/{agency}/apis/{api['api_type']}", headers=operator_headers,
                         timeout=20, json={"province_code": province.stats_code, "province_name": province.name,
                                           "unit_code": agency, **body})
        assert r.status_code == 200, r.text
    return agency


# --- operator console (units and users, reconciliation and refunds, reports) ----------------------------------------

def fresh_unit_code(agency_code: str) -> str:
    """A unit code of the province (agency code H..) that no earlier call gave out."""
    n = uuid.uuid4().int
    return f"{n % 900 + 100:03d}.{n // 1000 % 90 + 10:02d}.{n // 100000 % 90 + 10:02d}.{agency_code}"


def fresh_id_number() -> str:
    """A 12-digit ID number (Hà Nội, male, born 1990) unlikely to be taken."""
    return f"0010900{uuid.uuid4().int % 10**5:05d}"


def ensure_unit(code: str, name: str) -> None:
    """A unit of the directory, as an administrator creates it (in the stack's process)."""
    from chalicelib.local.identities import ensure_unit as ensure

    ensure(code, name)


def _notice(api_url: str, amount: int, province: str = "H35") -> tuple[str, str]:
    """A fresh dossier of ``province`` (agency code H..) with one notice of ``amount``: (dossier, notice number)."""
    from chalicelib.local.demo import demo_notice
    from chalicelib.local.devkeys import LOCAL_TAX_AUTHORITY_SECRET

    dossier = f"000.00.{uuid.uuid4().int % 100:02d}.{province}-260520-{uuid.uuid4().int % 10000:04d}"
    payload = demo_notice(dossier, (amount,))
    r = _signed(f"{api_url}/v1/partners/notices", payload, LOCAL_TAX_AUTHORITY_SECRET)
    assert r.status_code == 200, r.text
    return dossier, payload["notices"][0]["notice_number"]


def _pay(api_url: str, dossier: str, number: str, bank: str) -> dict:
    r = requests.post(f"{api_url}/v1/payments", json={"dossier_code": dossier, "id_number": "035095001234",
                      "notice_number": number, "bank_code": bank}, timeout=20)
    assert r.status_code == 201, r.text
    return r.json()


def bank_paid(api_url: str, bank: str, payment: dict, paid_at: str, ref: str | None = None) -> str:
    """The bank's signed success callback for a payment (paid at ``paid_at``); returns its bank reference."""
    from chalicelib.local.devkeys import LOCAL_BANK_SECRETS

    ref = ref or f"FT{uuid.uuid4().int % 10**12:012d}"
    r = _signed(f"{api_url}/v1/partners/banks/{bank}/callbacks", {
        "payment_id": payment["payment_id"], "bank_txn_ref": ref, "amount_vnd": payment["amount_vnd"],
        "currency": "VND", "status": "SUCCESS", "paid_at": paid_at}, LOCAL_BANK_SECRETS[bank])
    assert r.status_code == 200, r.text
    return ref


def paid_in_province(api_url: str, province: str, on, payments) -> list[dict]:
    """Payments of ``province`` (agency code) paid on the day ``on`` (a date): ``payments`` [(bank, amount)]."""
    from datetime import datetime, timedelta, timezone

    made = []
    for i, (bank, amount) in enumerate(payments):
        dossier, number = _notice(api_url, amount, province)
        payment = _pay(api_url, dossier, number, bank)
        at = datetime(on.year, on.month, on.day, 9 + i, tzinfo=timezone(timedelta(hours=7))).isoformat()
        bank_paid(api_url, bank, payment, at)
        made.append(payment)
    return made


def settled_run(stack, plants: list[str], bank: str = "VCB") -> dict:
    """A settlement day of its own (far in the future, so no other test's run shares it): one payment per planted
    discrepancy kind (``amount_mismatch``, ``duplicate_at_bank``, ...) plus one that matches, paid and called back,
    the bank's file with the plants delivered into the documents bucket as the bank does; the finished run (RunView
    fields) once the S3 event's job is done."""
    import random
    from datetime import date, datetime, timedelta, timezone

    import boto3

    from chalicelib.local.identities import new_identity

    day = date(2060, 1, 1) + timedelta(days=random.randrange(0, 5000))
    vn = timezone(timedelta(hours=7))
    kinds = ["matched", *plants]
    payments = {}
    for i, kind in enumerate(kinds):
        dossier, number = _notice(stack.api_url, 1_000_000 + 1000 * (i + 1))
        payment = _pay(stack.api_url, dossier, number, bank)
        at = datetime(day.year, day.month, day.day, 9 + i, tzinfo=vn).isoformat()
        ref = f"FT{uuid.uuid4().int % 10**12:012d}"
        booked = requests.post(f"{stack.bank_url}/control/transactions", json={
            "bank_code": bank, "payment_id": payment["payment_id"], "amount_vnd": payment["amount_vnd"],
            "status": "SUCCESS", "paid_at": at, "bank_txn_ref": ref}, timeout=20)
        assert booked.status_code == 201, booked.text
        bank_paid(stack.api_url, bank, payment, at, ref)
        payments[kind] = {**payment, "bank_txn_ref": ref}
    plant = [{"kind": k, "payment_id": payments[k]["payment_id"]} for k in plants]
    r = requests.post(f"{stack.bank_url}/control/settlement", json={"bank": bank, "date": day.isoformat(),
                      "plant": plant}, timeout=20)
    assert r.status_code == 200, r.text
    content = requests.get(f"{stack.bank_url}{r.json()['url']}", timeout=20).content
    boto3.client("s3").put_object(Bucket=stack.env["DOCUMENTS_BUCKET"], Key=f"settlements/{bank}/{r.json()['name']}",
                                  Body=content)
    headers = new_identity(stack.api_url, "operator").headers
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = requests.get(f"{stack.api_url}/v1/reconciliation/runs", headers=headers, timeout=20, params={
            "bank_code": bank, "date_from": day.isoformat(), "date_to": day.isoformat()}).json()["items"]
        done = [run for run in got if run["status"] in ("COMPLETED", "REFUSED")]
        if done:
            return {**done[0], "payments": payments, "day": day}
        time.sleep(0.2)
    raise AssertionError(f"no finished {bank} run for {day}")


def double_payment(stack, bank: str = "ICB") -> tuple[dict, str]:
    """A payment whose money the bank took after it expired, once another payment had paid the notice: the portal
    marks it refund_required (what a refund may be requested for). Returns (payment, its bank transaction ref)."""
    from chalicelib import bootstrap
    from chalicelib.aws.tables import models
    from chalicelib.config import get_settings

    dossier, number = _notice(stack.api_url, 1_378_500)
    first = _pay(stack.api_url, dossier, number, bank)
    r = requests.post(f"{stack.bank_url}/api/pay", json={"payment_id": first["payment_id"], "bank_code": bank,
                      "amount_vnd": first["amount_vnd"], "outcome": "success", "deliver": False}, timeout=20)
    assert r.status_code == 200, r.text
    ref = r.json()["transaction"]["bank_txn_ref"]
    ledger = bootstrap.context().ledger
    stored = ledger.get_payment(first["payment_id"])
    ledger._payment_item(stored.model_copy(update={"expires_at": int(time.time()) - 1, "rev": stored.rev + 1})).save()
    dossier_model, _ = models(get_settings())
    dossier_model(dossier).update(actions=[dossier_model.notices[number]["live_payment_expires_at"].set(0)])
    second = _pay(stack.api_url, dossier, number, "BIDV")
    bank_paid(stack.api_url, "BIDV", second, "2026-05-20T10:01:02+07:00")
    requests.post(f"{stack.bank_url}/control/deliver", json={"bank_code": bank, "payment_id": first["payment_id"]},
                  timeout=20)
    assert ledger.get_payment(first["payment_id"]).refund_required is True
    return first, ref


# --- province console (API registry, deliveries, alert contacts) -----------------------------------------------------

def configure_province(api_url: str, province_url: str, province, headers: dict, types=("notice", "payment_result",
                       "receipt_file")) -> str:
    """Point a province's APIs at the simulated province over the public API (an operator's ``headers``) and wait
    until the credentials are in the secret store (the configured check stops answering 409). Its agency code."""
    from chalicelib.local import devkeys

    short, agency = province.agency_code, f"000.00.00.{province.agency_code}"
    for api_type in types:
        r = requests.put(f"{api_url}/v1/provinces/{agency}/apis/{api_type}", headers=headers, timeout=20, json={
            "province_code": province.stats_code, "province_name": province.name, "unit_code": agency,
            "session_url": f"{province_url}/p/{short}/session", "data_url": f"{province_url}/p/{short}/{api_type}",
            "credentials": {"username": devkeys.LOCAL_PROVINCE_USERNAME, "password": devkeys.LOCAL_PROVINCE_PASSWORD},
            "connect_timeout_s": 1, "read_timeout_s": 1})
        assert r.status_code == 200, r.text
    wait_for_credentials(api_url, agency, types[-1], headers)
    return agency


def wait_for_credentials(api_url: str, agency: str, api_type: str, headers: dict, timeout_s: float = 30) -> None:
    """The outbox writes new credentials within seconds: until then the configured API check answers 409."""
    deadline = time.monotonic() + timeout_s
    while True:
        r = requests.post(f"{api_url}/v1/provinces/{agency}/apis/{api_type}/check", headers=headers,
                          json={"body": {"message_id": "KIEMTRA:cho"}}, timeout=20)
        if r.status_code != 409:
            return
        assert time.monotonic() < deadline, "the province credentials never reached the secret store"
        time.sleep(0.2)


def paid_receipt(api_url: str, bank_url: str, short: str, amount_vnd: int = 1_378_500) -> str:
    """A notice of the province ``short`` (H60) paid at the simulated bank: its receipt id."""
    from chalicelib.local.demo import demo_notice
    from chalicelib.local.devkeys import LOCAL_TAX_AUTHORITY_SECRET

    n = uuid.uuid4().int
    dossier = f"000.00.{n % 100:02d}.{short}-260520-{n // 100 % 10000:04d}"
    payload = demo_notice(dossier, (amount_vnd,))
    assert _signed(f"{api_url}/v1/partners/notices", payload, LOCAL_TAX_AUTHORITY_SECRET).status_code == 200
    pay = requests.post(f"{api_url}/v1/payments", timeout=20, json={
        "dossier_code": dossier, "id_number": payload["id_number"],
        "notice_number": payload["notices"][0]["notice_number"], "bank_code": "BIDV"})
    assert pay.status_code == 201, pay.text
    payment = pay.json()
    done = requests.post(f"{bank_url}/api/pay", json={"payment_id": payment["payment_id"], "bank_code": "BIDV",
                         "amount_vnd": payment["amount_vnd"], "outcome": "success"}, timeout=20)
    assert done.status_code == 200 and done.json()["callback_status"] == 200, done.text
    return "RCP" + payment["payment_id"][3:]


def wait_for_deliveries(api_url: str, agency: str, headers: dict, state: str, count: int, timeout_s: float = 60) -> dict:
    """Poll GET .../deliveries until ``count`` deliveries are in ``state`` (pending, delivered, failing, dead)."""
    deadline = time.monotonic() + timeout_s
    while True:
        stats = requests.get(f"{api_url}/v1/provinces/{agency}/deliveries", headers=headers, timeout=20).json()
        if stats.get(state, 0) >= count:
            return stats
        assert time.monotonic() < deadline, f"waited for {count} {state}, got {stats}"
        time.sleep(0.2)


# --- one-stop officer desk (screen 3) -------------------------------------------------------------------------------

SCAN_PDF = b"%PDF-1.7\n% hai mat CCCD\n" + b"0" * 2048


def fresh_citizen_id() -> str:
    """A 12-digit CCCD of a man born in 1995 in Hà Nam (digits 4-6 agree with 14/03/1995, male)."""
    return f"0350950{uuid.uuid4().int % 10**5:05d}"


def fresh_mobile() -> str:
    return f"090{uuid.uuid4().int % 10**7:07d}"


def sms_to(phone: str, at_least: int = 1, timeout_s: float = 15) -> list[str]:
    """The texts moto's SNS delivered to this phone (0912345678 or +84912345678; the stack runs in this process),
    once at least ``at_least`` have arrived (the outbox consumer sends them a moment after the request)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    e164 = "+84" + phone[1:] if phone.startswith("0") else phone
    deadline = time.monotonic() + timeout_s
    while True:
        got = [m for to, m in list(sns_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-1"].sms_messages.values()) if to == e164]
        if len(got) >= at_least or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def newest_otp(phone: str, at_least: int = 1) -> str:
    """The 6-digit code of the newest OTP text to this phone (what the citizen reads out to the officer)."""
    texts = sms_to(phone, at_least)
    assert len(texts) >= at_least, f"{len(texts)} texts to {phone}, expected {at_least}"
    return texts[-1][:6]


def desk_search(page, id_number: str) -> None:
    page.get_by_label("Số CMND/CCCD").fill(id_number)
    page.get_by_role("button", name="Tra cứu", exact=True).click()


def desk_fill_citizen(page, phone: str, full_name: str = "Nguyễn Văn An", dob: str = "14/03/1995",
                      sex: str = "Nam", email: str = "") -> None:
    page.get_by_label("Họ và tên *").fill(full_name)
    page.get_by_label("Ngày sinh *").fill(dob)
    page.get_by_label(sex, exact=True).check()
    page.get_by_label("Số điện thoại *").fill(phone)
    page.get_by_label("Thư điện tử").fill(email)


def desk_upload_scan(page, content: bytes = SCAN_PDF, name: str = "CCCD.pdf") -> None:
    page.get_by_label("Tệp bản quét hai mặt CMND/CCCD *").set_input_files(
        {"name": name, "mimeType": "application/pdf", "buffer": content})
    page.get_by_role("button", name="Tải tệp lên").click()


def desk_until_otp(page, id_number: str, phone: str) -> None:
    """Steps 1-5 of the desk: search, the citizen's data, the request form, the scan, send the OTP."""
    desk_search(page, id_number)
    page.get_by_role("heading", name="Bước 2. Thông tin công dân").wait_for()
    desk_fill_citizen(page, phone)
    page.get_by_role("button", name="Lập phiếu đề nghị").click()
    page.get_by_role("button", name="Công dân đã kiểm tra phiếu, tiếp tục").click()
    desk_upload_scan(page)
    page.get_by_role("button", name="Gửi mã OTP", exact=True).click()
    page.get_by_role("heading", name="Bước 6. Nhập mã OTP công dân đọc").wait_for()


def seed_unit_accounts(unit: str, created_by: str, count: int, name: str = "Trần Thị Hoa") -> None:
    """``count`` citizen accounts recorded as created by ``created_by`` in ``unit`` (the accounts list's data),
    through the accounts store with a real OTP claim each, as chalicelib.local.identities.seed_citizen does; no
    user-pool user (the list does not read the pool)."""
    from chalicelib.accounts.ports import CitizenAccount
    from chalicelib.bootstrap import context
    from chalicelib.otp import services as otp_cases
    from chalicelib.otp.domain import OtpPurpose

    ctx = context()
    fixed = ctx.replace(new_code=lambda: "246810")
    for i in range(count):
        number, phone = fresh_citizen_id(), "+84" + fresh_mobile()[1:]
        otp_cases.issue_otp(fixed, phone, OtpPurpose.ACCOUNT_CREATION, number)
        token = otp_cases.verify_otp(fixed, phone, OtpPurpose.ACCOUNT_CREATION, number, "246810")["verification_token"]
        claim = otp_cases.token_claim(ctx, phone, OtpPurpose.ACCOUNT_CREATION, number, token)
        ctx.accounts.create(CitizenAccount(
            account_id=ctx.new_id(), id_hash=ctx.keys.id_hash(number), id_last3=number[-3:], full_name=f"{name} {i + 1}",
            date_of_birth="1995-03-14", sex="male", phone=phone, email=None, must_change_password=True,
            created_by=created_by, unit_code=unit, created_at=ctx.clock.now().isoformat(), scan_key="", sub=""), claim)


# --- citizen account (screen 2) -------------------------------------------------------------------------------------

def otp_code(phone: str, before: int) -> str:
    """The 6-digit code of the first text after the `before` this phone had (an OTP SMS starts with its code)."""
    texts = sms_to(phone, at_least=before + 1)
    assert len(texts) > before, f"no new SMS to {phone} (had {before})"
    return texts[before][:6]


def fresh_phone() -> str:
    return f"+8491{uuid.uuid4().int % 10**7:07d}"


def sign_in_citizen(page, site: str, login: str, password: str, then: str | None = None) -> None:
    """Sign a citizen in through the account sign-in page (the real POST /v1/auth/sign-in); ``then`` is the page to
    come back to (?tiep=), else the account home."""
    from urllib.parse import quote

    page.goto(f"{site}/tai-khoan/dang-nhap.html" + (f"?tiep={quote(then)}" if then else ""))
    page.get_by_label("Số định danh cá nhân (CCCD)").fill(login)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_url(f"{site}{then or '/tai-khoan/index.html'}*")


def temporary_password(login: str, password: str) -> None:
    """Make a seeded citizen's password a temporary one (as the desk's SMS password is): the next sign-in answers
    the new-password challenge."""
    from chalicelib.bootstrap import context

    ctx = context()
    ctx.users.admin_set_password(ctx.keys.id_hash(login), password, permanent=False)


def add_bank_account(bank_url: str, username: str, id_number: str, phone: str, bank_code: str = "VCB") -> None:
    """An internet-banking account at the simulated bank (what the link's conditions 2-4 are checked against)."""
    r = requests.post(f"{bank_url}/api/ib/accounts", json={
        "bank_code": bank_code, "username": username, "holder_name": "NGUYEN THI TRANG", "id_number": id_number,
        "otp_phone": phone.replace("+84", "0"), "account_number": "0011001234567"}, timeout=10)
    assert r.status_code == 201, r.text


def seed_history(api_url: str, bank_url: str, headers: dict, count: int, paid: int = 1) -> list[dict]:
    """`count` payments made by the signed-in citizen of ``headers`` (POST /v1/payments with the Bearer, at BIDV: no
    link needed), one notice each of a fresh dossier; the first `paid` paid at the simulated bank. Oldest first."""
    from chalicelib.local.devkeys import LOCAL_TAX_AUTHORITY_SECRET

    n = uuid.uuid4().int
    dossier = f"000.00.{n % 100:02d}.H35-260521-{n // 100 % 10000:04d}"
    numbers = [f"TB-{n % 10**6:06d}-{i:02d}" for i in range(count)]
    notices = [{"notice_number": number, "version": 1, "payer_name": "Nguyễn Thị Trang", "payer_phone": "0912345678",
                "issued_at": "2026-05-21T09:00:00+07:00", "due_date": "2026-06-19",
                "items": [{"sub_item_code": "2801", "description": "Lệ phí trước bạ nhà đất",
                           "amount_vnd": 100_000 + i * 1_000}], "total_vnd": 100_000 + i * 1_000}
               for i, number in enumerate(numbers)]
    body = {"dossier_code": dossier, "id_number": ID_NUMBER, "commune_code": "13387", "commune_code_system": "gso",
            "property": {"address": "Thửa đất số 7, tờ bản đồ số 3, phường Phủ Lý, tỉnh Ninh Bình",
                         "parcel_number": "7", "map_sheet_number": "3", "area_m2": 80}, "notices": notices}
    r = _signed(f"{api_url}/v1/partners/notices", body, LOCAL_TAX_AUTHORITY_SECRET)
    assert r.status_code == 200, r.text
    payments = []
    for i, number in enumerate(numbers):
        pay = requests.post(f"{api_url}/v1/payments", headers=headers, timeout=20, json={
            "dossier_code": dossier, "id_number": ID_NUMBER, "notice_number": number, "bank_code": "BIDV"})
        assert pay.status_code == 201, pay.text
        payment = {**pay.json(), "notice_number": number}
        if i < paid:
            done = requests.post(f"{bank_url}/api/pay", timeout=20, json={
                "payment_id": payment["payment_id"], "bank_code": "BIDV", "amount_vnd": payment["amount_vnd"],
                "outcome": "success"})
            assert done.status_code == 200 and done.json()["callback_status"] == 200, done.text
        payments.append(payment)
    return payments
