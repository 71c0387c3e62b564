"""Rules every page of the site keeps: the security headers on every answer, no inline script or style, the
first-load budget, Vietnamese formats independent of the phone's time zone, API problems shown beside their
field, and a clear message where JavaScript is off."""
from __future__ import annotations

import json
import re

import pytest
import requests

from web import testing
from web.build import BUDGET_BYTES, DIST

FAILED_LOAD = "Failed to load resource: the server responded with a status of 4"


@pytest.fixture(scope="module")
def manifest(site):
    return json.loads((DIST / "manifest.json").read_text(encoding="utf-8"))


def test_every_answer_carries_the_security_headers(site, manifest):
    for path in [*manifest["pages"], "/", "/khong-co-trang-nay", "/v1/banks", "/v1/health"]:
        r = requests.get(site + path, timeout=10)
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "'unsafe-inline'" not in csp, path
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp, path
        assert r.headers["Strict-Transport-Security"].startswith("max-age=63072000"), path
        assert r.headers["Referrer-Policy"] == "no-referrer" and r.headers["X-Frame-Options"] == "DENY", path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
    assert requests.get(site + "/khong-co-trang-nay", timeout=10).status_code == 404


def test_pages_have_no_inline_script_or_style(manifest):
    for path in manifest["pages"]:
        text = (DIST / path.lstrip("/")).read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", text, re.I), path
        assert '<html lang="vi">' in text and '<meta charset="utf-8">' in text, path


def test_no_page_is_over_the_first_load_budget(manifest):
    assert manifest["budget_bytes"] == BUDGET_BYTES == 200 * 1024
    for path, page in manifest["pages"].items():
        assert page["transfer_bytes"] <= BUDGET_BYTES, path
    fonts = [f for u, f in manifest["files"].items() if u.endswith(".woff2")]
    assert len(fonts) == 2 and all(f["bytes"] < 25_000 for f in fonts)  # subset: the full fonts are ~135 KB


def test_vietnamese_formats_whatever_the_phone_time_zone(desktop, site, manifest):
    page, _ = desktop  # the context's time zone is America/New_York on purpose
    page.goto(site + "/")
    module = next(u for u in manifest["files"] if "/lib/format." in u)
    got = page.evaluate("""async (url) => { const f = await import(url); return [f.vnd(1378500), f.vnd(1001),
        f.vnd(0), f.groupDigits(16000000000), f.date("2021-06-20"), f.date("2021-05-20T23:30:00+07:00"),
        f.dateTime("2021-05-20T03:01:02Z"), f.dateTime("2021-05-20T17:30:00Z"), f.area(120.5), f.area(1000)]; }""",
                        module)
    assert got == ["1.378.500 đ", "1.001 đ", "0 đ", "16.000.000.000", "20/06/2021", "20/05/2021",
                   "20/05/2021 10:01:02", "21/05/2021 00:30:00", "120,5 m²", "1.000 m²"]


def test_api_problems_are_shown_beside_their_field(desktop, site, seed):
    page, watch = desktop
    watch.allow.append(FAILED_LOAD)  # the 422 and 404 below are provoked on purpose
    expected = requests.post(site + "/v1/lookup", json={"dossier_code": "abc", "id_number": "12"}, timeout=10).json()
    by_field = {e["field"]: e["message"] for e in expected["errors"]}
    testing.open_lookup(page, site)
    page.get_by_label("Mã hồ sơ").fill("abc")
    page.get_by_label("Số CMND/CCCD").fill("12")
    page.get_by_role("button", name="Tra cứu").click()
    for field, message in by_field.items():
        error = page.locator(f"#{field}-error")
        error.wait_for()
        assert error.inner_text() == message
        control = page.locator(f"#{field}")
        assert control.get_attribute("aria-invalid") == "true"
        assert f"{field}-error" in control.get_attribute("aria-describedby")
    assert page.evaluate("document.activeElement.id") == expected["errors"][0]["field"]
    assert testing.axe_violations(page) == []

    page.get_by_label("Mã hồ sơ").fill(seed.dossier_code)
    page.get_by_label("Số CMND/CCCD").fill("001099012345")
    page.get_by_role("button", name="Tra cứu").click()
    alert = page.locator("#tra-cuu [data-form-error]")
    alert.wait_for()
    assert "Không tìm thấy hồ sơ" in alert.inner_text()
    assert page.locator("#dossier_code").get_attribute("aria-invalid") is None  # the old field errors are gone
    assert page.evaluate("document.activeElement.hasAttribute('data-form-error')")
    watch.assert_clean()


def test_without_javascript_every_page_says_what_it_needs(browser, site, manifest):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    for path in manifest["pages"]:
        page.goto(site + path)
        assert page.locator("h1").inner_text(), path
        if "<noscript>" in (DIST / path.lstrip("/")).read_text(encoding="utf-8"):
            assert "JavaScript" in page.locator(".alert--warn:not([hidden])").inner_text(), path
    context.close()


def test_lookup_works_without_javascript(browser, site, seed):
    context = browser.new_context(java_script_enabled=False, **testing.PHONE)
    page = context.new_page()
    page.goto(site + "/thanh-toan-dat-dai.html")
    page.get_by_label("Mã hồ sơ").fill("abc")
    page.get_by_label("Số CMND/CCCD").fill(seed.id_number)
    page.get_by_role("button", name="Tra cứu").click()  # the form posts to POST /v1/lookup/page
    page.wait_for_url(f"{site}/v1/lookup/page")
    error = page.locator("#dossier_code-error")
    assert "Mã hồ sơ" in error.inner_text() and page.locator("#dossier_code").get_attribute("aria-invalid") == "true"
    page.get_by_label("Mã hồ sơ").fill(seed.dossier_code)
    page.get_by_label("Số CMND/CCCD").fill(seed.id_number)
    page.get_by_role("button", name="Tra cứu").click()
    table = page.locator("table.items").inner_text()
    for text in ("Nguyễn Thị Trang", *seed.notices, "1.378.500", "5.514.000", "Tổng tiền", "✓ Đã nộp",
                 "Lệ phí trước bạ nhà đất"):
        assert text in table, text
    assert "120,5 m²" in page.locator("dl.facts").inner_text()
    assert "hạn nộp 18/06/2026" in page.content()
    assert "bật JavaScript" in page.locator(".alert--warn").inner_text()
    context.close()


def test_lookup_page_without_javascript_is_accessible(desktop, site, seed):
    """axe needs script to run, so the same native form post is made from a page whose script does not take it
    (form.submit() fires no submit event)."""
    page, watch = desktop
    watch.allow.append(FAILED_LOAD)  # the 422 below
    for dossier_code in ("abc", seed.dossier_code):
        testing.open_lookup(page, site)
        page.get_by_label("Mã hồ sơ").fill(dossier_code)
        page.get_by_label("Số CMND/CCCD").fill(seed.id_number)
        with page.expect_navigation():
            page.evaluate("document.querySelector('#tra-cuu').submit()")
        assert page.url == f"{site}/v1/lookup/page"
        assert testing.axe_violations(page) == [], dossier_code
    assert "Nguyễn Thị Trang" in page.locator("table.items").inner_text()
    watch.assert_clean()
