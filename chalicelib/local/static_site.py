"""The portal's static site on the local stack, on the API's own origin as CloudFront serves it in AWS.

GET/HEAD of any path outside /v1/ and /openapi.json answers a file of the built site (web/dist, only files its
manifest.json lists, so no path can reach outside it), gzip-compressed when the browser accepts it (CloudFront
compresses too), with the content type and cache policy the build recorded. Every answer of the local API port, site
and API alike, carries the headers of infra/web.json's SiteSecurityHeaders policy, read from that very file, so the
browser tests check the policy production ships.

    site = StaticSite(Path("web/dist"), {LOCAL_DEMO_USERS_PATH: demo_users_json()})  # the local stack's own
    status, headers, body = site.answer("/thanh-toan-dat-dai.html", accept_encoding="gzip")
"""
from __future__ import annotations

import gzip
import json
import threading
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
WEB_FRAGMENT = ROOT / "infra" / "web.json"
DEFAULT_SITE = ROOT / "web" / "dist"
API_PATHS = ("/v1/", "/openapi.json")
LOCAL_DEMO_USERS_PATH = "/local/demo-users.json"  # the staff sign-in page's demo roles; local stages only
_COMPRESSIBLE = ("text/", "application/json", "image/svg+xml")
_NOT_BUILT = "<!DOCTYPE html><html lang=\"vi\"><meta charset=\"utf-8\"><title>Chưa dựng trang</title>" \
             "<p>Trang web chưa được dựng: chạy <code>make web</code> (hoặc <code>make run</code>).</p></html>"


@cache
def security_headers(fragment: Path = WEB_FRAGMENT, upload_origin: str = "") -> dict[str, str]:
    """The response headers of SiteSecurityHeaders (infra/web.json), as CloudFront adds them.

    The Content-Security-Policy is an Fn::Sub whose one variable, UploadOrigin, is the documents bucket's endpoint
    (where browsers POST their uploads); locally it is ``upload_origin`` (the moto server), and nothing when empty."""
    policy = json.loads(fragment.read_text(encoding="utf-8"))["Resources"]["SiteSecurityHeaders"]
    config = policy["Properties"]["ResponseHeadersPolicyConfig"]
    sec = config["SecurityHeadersConfig"]
    hsts = sec["StrictTransportSecurity"]
    headers = {
        "Content-Security-Policy": content_security_policy(sec["ContentSecurityPolicy"]["ContentSecurityPolicy"],
                                                           upload_origin),
        "Strict-Transport-Security": f"max-age={hsts['AccessControlMaxAgeSec']}"
        + ("; includeSubDomains" if hsts.get("IncludeSubdomains") else "") + ("; preload" if hsts.get("Preload") else ""),
        "X-Frame-Options": sec["FrameOptions"]["FrameOption"],
        "Referrer-Policy": sec["ReferrerPolicy"]["ReferrerPolicy"],
    }
    if "ContentTypeOptions" in sec:
        headers["X-Content-Type-Options"] = "nosniff"
    for item in config.get("CustomHeadersConfig", {}).get("Items", []):
        headers[item["Header"]] = item["Value"]
    return headers


def content_security_policy(value: str | dict, upload_origin: str = "") -> str:
    """The policy text of the template's value: a plain string, or ``{"Fn::Sub": [text, {"UploadOrigin": ...}]}``
    with UploadOrigin replaced by ``upload_origin`` (the one variable it may have)."""
    if isinstance(value, str):
        return value
    text, variables = value["Fn::Sub"]
    if set(variables) != {"UploadOrigin"} or text.count("${") != 1:
        raise ValueError("the Content-Security-Policy may use one Fn::Sub variable, UploadOrigin")
    return text.replace("${UploadOrigin}", upload_origin).replace(" ;", ";")


def demo_users_json() -> bytes:
    """The seeded demo users and their password (chalicelib.local.devkeys, documented there), for the staff
    sign-in page's "local sign-in" buttons. Only the local stack serves it: the site bucket never holds it."""
    from chalicelib.local.devkeys import LOCAL_DEMO_PASSWORD, LOCAL_DEMO_USERS

    users = [{"role": role, "username": name, "password": LOCAL_DEMO_PASSWORD} for role, name in LOCAL_DEMO_USERS.items()]
    return json.dumps({"stage": "local", "users": users}).encode()


def is_site_path(raw_path: str) -> bool:
    path = urlsplit(raw_path).path
    return not any(path == p or path.startswith(p) for p in API_PATHS)


class StaticSite:
    """The built site's files by URL path; the manifest is re-read when a rebuild replaces it."""

    def __init__(self, root: Path = DEFAULT_SITE, local_files: dict[str, bytes] | None = None) -> None:
        self.root = root
        self.local_files = dict(local_files or {})  # JSON only the local stack answers (never published)
        self._lock = threading.Lock()
        self._manifest: dict | None = None
        self._stamp: float | None = None
        self._gzipped: dict[str, bytes] = {}

    def _files(self) -> dict | None:
        path = self.root / "manifest.json"
        try:
            stamp = path.stat().st_mtime
        except FileNotFoundError:
            return None
        with self._lock:
            if stamp != self._stamp:
                self._manifest, self._stamp, self._gzipped = json.loads(path.read_text("utf-8"))["files"], stamp, {}
            return self._manifest

    def answer(self, raw_path: str, accept_encoding: str = "") -> tuple[int, dict[str, str], bytes]:
        """(status, headers, body) for a GET of `raw_path` (HEAD: the same without sending the body)."""
        files = self._files()
        if files is None:
            return 503, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}, _NOT_BUILT.encode()
        path = unquote(urlsplit(raw_path).path)
        path = "/index.html" if path == "/" else path
        if path in self.local_files:
            return 200, {"Content-Type": "application/json", "Cache-Control": "no-store"}, self.local_files[path]
        status = 200
        if path not in files:
            status, path = 404, "/404.html"
        entry = files[path]
        body = (self.root / path.lstrip("/")).read_bytes()
        headers = {"Content-Type": entry["type"], "Cache-Control": entry["cache"], "Vary": "Accept-Encoding"}
        if status == 404:
            headers["Cache-Control"] = "no-store"
        if "gzip" in accept_encoding.lower() and entry["type"].startswith(_COMPRESSIBLE):
            with self._lock:
                if path not in self._gzipped:
                    self._gzipped[path] = gzip.compress(body, 6, mtime=0)
                body = self._gzipped[path]
            headers["Content-Encoding"] = "gzip"
        return status, headers, body
