"""`make bench-web` (part of `make bench`): per page of the site, the bytes transferred before it is usable and the
time to usable in headless Chromium on a slow 4G phone (Lighthouse's profile: 150 ms RTT, 1.6 Mbit/s down, 750 kbit/s
up, CPU 4x slower, through CDP), next to the same measure for a minimal static HTML page of the same content
(the page's built HTML without its stylesheet, fonts, scripts and images, served by the same server): the ratio is
what the site's look and behaviour cost.

"Usable": the page's script has run (`performance.mark("lfo:usable")`, set by lib/dom.js ready(): the lookup
button is enabled, the return and receipt pages start reading); for pages without a script (and the plain pages),
the load event (stylesheet, fonts and images in).
Cold cache every run (a fresh browser context); the median of --runs runs.

    python -m bench.web [--runs 3] [--out bench/web.json]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from web import testing
from web.build import DIST, ensure_built

SLOW_4G = {"offline": False, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8}
CPU_SLOWDOWN = 4


def _baseline(html: str) -> str:
    """The same markup without what the site adds to it: stylesheet, preloads, scripts, images."""
    html = re.sub(r"<link [^>]*>\n?", "", html)
    html = re.sub(r"<script[^>]*></script>\n?", "", html)
    return re.sub(r"<img [^>]*>", "", html)


def _serve(root: Path) -> tuple[ThreadingHTTPServer, str]:
    from chalicelib.local.static_site import StaticSite

    site = StaticSite(root)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, headers, body = site.answer(self.path, self.headers.get("Accept-Encoding", ""))
            self.send_response(status)
            for k, v in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _measure(browser, url: str, scripted: bool) -> tuple[float, int]:
    context = browser.new_context(**testing.PHONE)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", SLOW_4G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    transferred = [0]
    cdp.on("Network.loadingFinished", lambda e: transferred.__setitem__(0, transferred[0] + e["encodedDataLength"]))
    page.goto(url, wait_until="domcontentloaded" if scripted else "load")
    if scripted:
        page.wait_for_function("performance.getEntriesByName('lfo:usable').length > 0", timeout=30_000)
        usable = page.evaluate("performance.getEntriesByName('lfo:usable')[0].startTime")
    else:
        usable = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    bytes_ = transferred[0]
    context.close()
    return usable, bytes_


def run(runs: int = 3) -> dict:
    from playwright.sync_api import sync_playwright

    ensure_built()
    manifest = json.loads((DIST / "manifest.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        base_root = Path(tmp)
        files = {}
        for path in manifest["pages"]:
            target = base_root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_baseline((DIST / path.lstrip("/")).read_text(encoding="utf-8")), encoding="utf-8")
            files[path] = {"type": "text/html; charset=utf-8", "cache": "no-cache"}
        (base_root / "manifest.json").write_text(json.dumps({"files": files}), encoding="utf-8")
        site_server, site = _serve(DIST)
        base_server, base = _serve(base_root)
        try:
            with sync_playwright() as p:
                browser = testing.launch(p)
                results = {path: _page(browser, site, base, path, manifest, runs) for path in sorted(manifest["pages"])}
                browser.close()
        finally:
            site_server.shutdown()
            base_server.shutdown()
    load = [round(x, 1) for x in os.getloadavg()]  # times are only as quiet as the machine was
    return {"profile": {"network": "slow 4G (150 ms RTT, 1.6 Mbit/s down, 750 kbit/s up)", "cpu_slowdown": CPU_SLOWDOWN,
                        "viewport": "360x780", "runs": runs, "cache": "cold", "load_average": load},
            "budget_bytes": manifest["budget_bytes"], "pages": results}


def _page(browser, site: str, base: str, path: str, manifest: dict, runs: int) -> dict:
    scripted = "js/pages/" in " ".join(manifest["pages"][path]["files"])
    ours = [_measure(browser, site + path, scripted) for _ in range(runs)]
    plain = [_measure(browser, base + path, False) for _ in range(runs)]
    ms, size = statistics.median(t for t, _ in ours), statistics.median(b for _, b in ours)
    base_ms, base_size = statistics.median(t for t, _ in plain), statistics.median(b for _, b in plain)
    return {"usable_ms": round(ms), "bytes": int(size), "baseline_usable_ms": round(base_ms),
            "baseline_bytes": int(base_size), "time_ratio": round(ms / base_ms, 2), "bytes_ratio": round(size / base_size, 1),
            "within_budget": size <= manifest["budget_bytes"]}


def main() -> None:
    ap = argparse.ArgumentParser(description="Web page weight and time to usable on slow 4G.")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "web.json")
    args = ap.parse_args()
    results = run(args.runs)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{'page':36} {'usable':>8} {'bytes':>9} | {'plain':>7} {'bytes':>7} | ratio t  ratio B")
    for path, r in results["pages"].items():
        print(f"{path:36} {r['usable_ms']:6} ms {r['bytes'] / 1024:6.1f} KB | {r['baseline_usable_ms']:4} ms "
              f"{r['baseline_bytes'] / 1024:5.1f} KB | {r['time_ratio']:6} {r['bytes_ratio']:7}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
