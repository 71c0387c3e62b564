"""Browser tests: Debian's Chromium (headless, through Playwright) against the in-process local stack, which serves
the built site (web/dist, built here if stale) and the API on one origin, as CloudFront does in AWS.

Without /usr/bin/chromium these tests are skipped, unless REQUIRE_BROWSER=1 (what `make test` and so CI set, after
installing it), where a missing browser fails them."""
from __future__ import annotations

import os

import pytest

from web import testing


def pytest_configure(config):
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)  # as long as the contexts' own default (a loaded 2-core CI machine)


def pytest_collection_modifyitems(config, items):
    if testing.chromium_available():
        return
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"REQUIRE_BROWSER=1 but no Chromium at {testing.CHROMIUM} (apt-get install chromium)")
    skip = pytest.mark.skip(reason=f"no Chromium at {testing.CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "tests/browser/" in item.nodeid.replace(os.sep, "/"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def site(stack):
    """The site's origin (the local API port), with web/dist built from the current sources."""
    from web.build import ensure_built

    ensure_built()
    return stack.api_url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = testing.launch(p)
        yield b
        b.close()


@pytest.fixture()
def seed(stack):
    return testing.seed_dossier(stack.api_url, stack.bank_url)


def _context(browser, site, kind):
    context = browser.new_context(**testing.VIEWPORTS[kind], accept_downloads=True, locale="vi-VN",
                                  timezone_id="America/New_York")  # far from Vietnam: times must still read GMT+7
    context.set_default_timeout(15_000)
    return context, testing.Watch(site).attach(context)


@pytest.fixture(params=["phone", "desktop"])
def viewport(request):
    return request.param


@pytest.fixture()
def browsing(browser, site, viewport):
    """(page, watch) in a fresh context at the test's viewport; the watch must end clean unless the test says."""
    context, watch = _context(browser, site, viewport)
    page = context.new_page()
    yield page, watch
    context.close()


@pytest.fixture()
def desktop(browser, site):
    context, watch = _context(browser, site, "desktop")
    page = context.new_page()
    yield page, watch
    context.close()
