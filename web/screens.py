"""`make screens`: a full-page screenshot of every screen of the site, at a phone's 360x780 and a desktop's 1280x800,
walking the citizen's journey on an in-process local stack (fresh ports, so `make run` may keep going).

    python -m web.screens [--out out/screens]

Writes out/screens/<viewport>/<nn>-<screen>.png and prints the list.

The signed-in screens' walks live beside this file, one module per area under web/shots/ (AREAS below): each has
``JOURNEYS``, a list of ``fn(page, stack, shot)`` run in order in a fresh browser context per viewport, where
``shot(name)`` writes the next numbered screenshot of the page as it is now.
"""
from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from web import testing
from web.build import ensure_built


def _journey(page, site: str, bank_url: str, seed: testing.Seed, shot) -> None:
    page.goto(site + "/")
    shot("trang-chu")
    testing.open_lookup(page, site)
    shot("tra-cuu")
    page.get_by_label("Mã hồ sơ").fill("000.00.43.H35")
    page.get_by_label("Số CMND/CCCD").fill("12")
    page.get_by_role("button", name="Tra cứu").click()
    page.locator("#dossier_code-error").wait_for()
    shot("tra-cuu-loi")
    testing.look_up(page, seed)
    shot("thong-bao")
    testing.choose_notice(page, next(iter(seed.notices)))
    shot("chon-ngan-hang")
    testing.choose_bank(page, "BIDV", bank_url)
    shot("ngan-hang-dang-nhap")
    testing.sign_in_at_bank(page)
    shot("ngan-hang-thanh-toan")
    bank_page = page.url
    page.goto(site + "/thanh-toan-dat-dai/ket-qua.html")  # before paying: the return page waits for the bank
    page.locator("#trang-thai[data-tone=wait]").wait_for()
    shot("ket-qua-dang-cho")
    page.goto(bank_page)
    testing.pay_at_bank(page, site)
    page.get_by_text("Thanh toán thành công").wait_for()
    shot("ket-qua-thanh-cong")
    testing.open_receipt(page)
    shot("bien-lai")


def _failure(page, site: str, bank_url: str, seed: testing.Seed, shot) -> None:
    testing.open_lookup(page, site)
    testing.look_up(page, seed)
    testing.choose_notice(page, list(seed.notices)[1])
    testing.choose_bank(page, "VBA", bank_url)
    testing.pay_at_bank(page, site, outcome="cancel")
    page.locator("#trang-thai[data-tone=bad]").wait_for()
    shot("ket-qua-that-bai")
    page.goto(site + "/khong-co-trang-nay")
    shot("khong-tim-thay")


def _without_script(browser, options: dict, site: str, seed: testing.Seed, shot_in) -> None:
    context = browser.new_context(java_script_enabled=False, **options)
    page = context.new_page()
    page.goto(site + "/thanh-toan-dat-dai.html")
    page.get_by_label("Mã hồ sơ").fill(seed.dossier_code)
    page.get_by_label("Số CMND/CCCD").fill(seed.id_number)
    page.get_by_role("button", name="Tra cứu").click()
    page.locator("table.items").wait_for()
    shot_in(page)("tra-cuu-khong-javascript")
    context.close()


AREAS = ("staff", "account", "officer", "province", "support", "operator")  # web/shots/<area>.py, in the order their screenshots are numbered


def _areas(browser, options: dict, stack, shot_in) -> None:
    for area in AREAS:
        for journey in importlib.import_module(f"web.shots.{area}").JOURNEYS:
            context = browser.new_context(**options)
            page = context.new_page()
            journey(page, stack, shot_in(page))
            context.close()


def take(out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from chalicelib.local import stack as local_stack

    ensure_built()
    stack = local_stack.start(stage="test")
    written: list[Path] = []
    try:
        with sync_playwright() as p:
            browser = testing.launch(p)
            for kind, options in testing.VIEWPORTS.items():
                seed = testing.seed_dossier(stack.api_url, stack.bank_url)
                folder = out / kind
                folder.mkdir(parents=True, exist_ok=True)
                context = browser.new_context(**options)
                page = context.new_page()

                def shot_in(page, folder=folder):
                    def shot(name: str) -> None:
                        page.wait_for_load_state("networkidle")
                        path = folder / f"{len(list(folder.glob('*.png'))) + 1:02d}-{name}.png"
                        page.screenshot(path=str(path), full_page=True)
                        written.append(path)
                    return shot

                for old in folder.glob("*.png"):
                    old.unlink()
                _journey(page, stack.api_url, stack.bank_url, seed, shot_in(page))
                _failure(page, stack.api_url, stack.bank_url, seed, shot_in(page))
                context.close()
                _without_script(browser, options, stack.api_url, seed, shot_in)
                _areas(browser, options, stack, shot_in)
            browser.close()
    finally:
        stack.stop()
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description="Screenshot every screen at phone and desktop sizes.")
    ap.add_argument("--out", type=Path, default=Path("out/screens"))
    args = ap.parse_args()
    for path in take(args.out):
        print(path)


if __name__ == "__main__":
    main()
