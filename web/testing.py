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


# --- citizen account (screen 2) -------------------------------------------------------------------------------------

def sms_to(phone: str, at_least: int = 1, timeout_s: float = 15) -> list[str]:
    """The texts moto's SNS delivered to this phone (E.164), once at least `at_least` have arrived: the outbox
    consumer sends them a moment after the request that wrote them (the stack runs in this process)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    deadline = time.monotonic() + timeout_s
    while True:
        got = [msg for to, msg in list(sns_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-1"].sms_messages.values())
               if to == phone]
        if len(got) >= at_least or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


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
