"""Build the portal's static site: web/src -> web/dist, what `make run` serves and what is uploaded to S3 in AWS.

Steps, all with what `make install` put in the virtualenv (no npm):
1. fonts: Be Vietnam Pro (OFL, the `fontpkg-be-vietnam-pro` package) subset with fontTools to the Latin and
   Vietnamese characters the pages use, as WOFF2 (about 14 KB a weight instead of 135 KB);
2. assets: every file under src/assets gets a content hash in its name (site.1a2b3c4d.css), CSS url()s and JS
   import specifiers are rewritten to the hashed names, so assets can be cached for a year and HTML never;
3. pages: each src/pages/**/*.html is put into src/layout.html (title, breadcrumb, scripts), its script gets
   <link rel=modulepreload> for the whole import graph (no request waterfall on a slow phone);
4. manifest.json: every file with its content type, cache policy, bytes and gzip bytes, and per page the files its
   first load fetches and their transfer size; a page over the budget fails the build.

    python -m web.build [--out DIR] [--force]   # build unless web/dist was built from these very sources
    ensure_built()                              # the same, from tests and scripts
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import gzip
import hashlib
import html
import io
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

WEB = Path(__file__).resolve().parent
SRC = WEB / "src"
DIST = WEB / "dist"
BUDGET_BYTES = 200 * 1024  # transfer before first use, per page (the limit)
HTML_CACHE = "no-cache"  # revalidate every time: a new deploy is seen at once
ASSET_CACHE = "public, max-age=31536000, immutable"  # names change with content

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".json": "application/json", ".svg": "image/svg+xml", ".woff2": "font/woff2", ".png": "image/png",
    ".ico": "image/x-icon", ".txt": "text/plain; charset=utf-8",
}
COMPRESSIBLE = (".html", ".css", ".js", ".json", ".svg", ".txt")
# For the pages the API renders itself (the lookup without JavaScript, chalicelib/payments/routes/lookup_page.py),
# which cannot know the hashed names.
STABLE_NAMES = ("site.css", "img/emblem.svg")

# Characters the fonts keep: ASCII, Latin-1 letters, the Vietnamese letters (precomposed and combining tone marks),
# the đồng sign and the punctuation the pages use. Anything else falls back to the system font.
FONT_WEIGHTS = {"400": "Regular", "600": "SemiBold"}
FONT_CODEPOINTS = sorted({
    *range(0x20, 0x7F), *range(0xA0, 0x100), 0x102, 0x103, 0x110, 0x111, 0x128, 0x129, 0x168, 0x169, 0x1A0, 0x1A1,
    0x1AF, 0x1B0, *range(0x1EA0, 0x1EFA), 0x300, 0x301, 0x303, 0x309, 0x323, 0x20AB, 0x2013, 0x2014, 0x2018, 0x2019,
    0x201C, 0x201D, 0x2026, 0x2022, 0x203A, 0x2192,
})

_FRONT = re.compile(r"\A<!--page (\{.*?\}) -->\n", re.S)
_ASSET_REF = re.compile(r"\{\{asset:([^}]+)\}\}")
_PARTIAL = re.compile(r"\{\{partial:([a-z0-9-]+)\}\}")
_CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")
_JS_IMPORT = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'])(\.{1,2}/[^"']+)\2""")
_HTML_REF = re.compile(r"""(?:src|href)="(/assets/[^"]+)\"""")


class BuildError(Exception):
    """The sources cannot be built as they are (unknown asset, import cycle, page over budget...)."""


@dataclass
class _Build:
    out: Path
    urls: dict[str, str] = field(default_factory=dict)  # src/assets-relative path -> served URL
    js_deps: dict[str, list[str]] = field(default_factory=dict)  # js path -> the js paths it imports
    files: dict[str, dict] = field(default_factory=dict)  # served URL -> manifest entry

    def emit(self, url: str, data: bytes, cache: str | None = None) -> None:
        target = self.out / url.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        suffix = Path(url).suffix
        self.files[url] = {
            "type": CONTENT_TYPES.get(suffix, "application/octet-stream"),
            "cache": cache or (HTML_CACHE if suffix in (".html", ".json") else ASSET_CACHE),
            "bytes": len(data),
            "gzip": len(gzip.compress(data, 9, mtime=0)) if suffix in COMPRESSIBLE else len(data),
        }

    def emit_hashed(self, rel: str, data: bytes) -> str:
        path = Path(rel)
        digest = hashlib.sha256(data).hexdigest()[:10]
        url = f"/assets/{path.parent.as_posix() + '/' if path.parent.as_posix() != '.' else ''}" \
              f"{path.stem}.{digest}{path.suffix}"
        self.emit(url, data)
        self.urls[rel] = url
        return url


def build(out: Path = DIST, src: Path = SRC) -> dict:
    """Build the site into `out` (emptied first); return the manifest (also written as out/manifest.json)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    b = _Build(out)
    _fonts(b)
    assets = src / "assets"
    for path in sorted(p for p in assets.rglob("*") if p.is_file() and p.suffix not in (".css", ".js")):
        b.emit_hashed(path.relative_to(assets).as_posix(), path.read_bytes())
    for path in sorted(assets.rglob("*.css")):
        _css(b, assets, path)
    for path in sorted(assets.rglob("*.js")):
        _js(b, assets, path.relative_to(assets).as_posix(), ())
    for rel in STABLE_NAMES:  # also under their plain names, revalidated on every use
        b.emit(f"/assets/{rel}", (out / b.urls[rel].lstrip("/")).read_bytes(), cache=HTML_CACHE)
    layout = (src / "layout.html").read_text(encoding="utf-8")
    pages = {}
    for path in sorted((src / "pages").rglob("*.html")):
        url = "/" + path.relative_to(src / "pages").as_posix()
        b.emit(url, _page(b, layout, path, src, url).encode("utf-8"))
        pages[url] = url
    manifest = {"budget_bytes": BUDGET_BYTES, "files": b.files, "pages": {u: _first_load(b, u) for u in pages}}
    over = {u: p["transfer_bytes"] for u, p in manifest["pages"].items() if p["transfer_bytes"] > BUDGET_BYTES}
    if over:
        raise BuildError(f"pages over the {BUDGET_BYTES} B first-load budget: {over}")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    return manifest


def _fonts(b: _Build) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    for weight, style in FONT_WEIGHTS.items():
        font = TTFont(_font_dir() / f"BeVietnamPro-{style}.ttf")
        options = subset.Options()
        options.flavor = "woff2"
        options.layout_features = ["kern", "liga", "ccmp", "locl", "mark", "mkmk"]
        options.name_IDs = [0, 1, 2, 13, 14]  # copyright and licence stay with the font (OFL)
        options.hinting = False  # modern phones render unhinted outlines well; hints are a third of the bytes
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=FONT_CODEPOINTS)
        subsetter.subset(font)
        data = io.BytesIO()
        font.flavor = "woff2"
        font.save(data)
        b.emit_hashed(f"fonts/bvp-{weight}.woff2", data.getvalue())


def _font_dir() -> Path:
    import fontpkg_be_vietnam_pro

    return Path(fontpkg_be_vietnam_pro.__file__).resolve().parent / "files"


def _css(b: _Build, assets: Path, path: Path) -> None:
    text = path.read_text(encoding="utf-8")

    def swap(match: re.Match) -> str:
        rel = (path.parent.relative_to(assets) / match.group(1)).as_posix()
        if rel not in b.urls:
            raise BuildError(f"{path.name}: unknown asset {match.group(1)}")
        return f'url("{b.urls[rel]}")'

    text = _CSS_URL.sub(swap, text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r"\s*\n\s*", "\n", text).strip() + "\n"
    b.emit_hashed(path.relative_to(assets).as_posix(), text.encode("utf-8"))


def _js(b: _Build, assets: Path, rel: str, stack: tuple[str, ...]) -> str:
    """Emit a module after the modules it imports (their hashed names go into its text); return its URL."""
    if rel in b.urls:
        return b.urls[rel]
    if rel in stack:
        raise BuildError(f"import cycle: {' -> '.join((*stack, rel))}")
    source = (assets / rel).read_text(encoding="utf-8")
    deps: list[str] = []

    def swap(match: re.Match) -> str:
        dep = os.path.normpath(os.path.join(os.path.dirname(rel), match.group(3))).replace(os.sep, "/")
        if not (assets / dep).is_file():
            raise BuildError(f"{rel}: cannot import {match.group(3)}")
        deps.append(dep)
        return f"{match.group(1)}{match.group(2)}{_js(b, assets, dep, (*stack, rel))}{match.group(2)}"

    text = _JS_IMPORT.sub(swap, source)
    b.js_deps[rel] = deps
    return b.emit_hashed(rel, text.encode("utf-8"))


def _graph(b: _Build, rel: str) -> list[str]:
    seen: list[str] = []

    def walk(node: str) -> None:
        for dep in b.js_deps.get(node, []):
            if dep not in seen:
                seen.append(dep)
                walk(dep)

    walk(rel)
    return seen


def _page(b: _Build, layout: str, path: Path, src: Path, url: str) -> str:
    raw = path.read_text(encoding="utf-8")
    front = _FRONT.match(raw)
    if not front:
        raise BuildError(f"{path}: the first line must be <!--page {{...}} -->")
    meta = json.loads(front.group(1))
    script = meta.get("script")
    scripts = ""
    if script:
        rel = f"js/{script}"
        if rel not in b.urls:
            raise BuildError(f"{path.name}: unknown script {script}")
        preload = "".join(f'<link rel="modulepreload" href="{b.urls[d]}">\n' for d in _graph(b, rel))
        scripts = f'{preload}<script type="module" src="{b.urls[rel]}"></script>'
    values = {"title": html.escape(meta["title"]), "description": html.escape(meta.get("description", "")),
              "breadcrumb": _breadcrumb(meta.get("breadcrumb")), "scripts": scripts,
              "main": _partials(src, raw[front.end():].strip(), url, path.name)}
    text = re.sub(r"\{\{(title|description|breadcrumb|scripts|main)\}\}", lambda m: values[m.group(1)], layout)

    def asset(match: re.Match) -> str:
        if match.group(1) not in b.urls:
            raise BuildError(f"{path.name}: unknown asset {match.group(1)}")
        return b.urls[match.group(1)]

    text = _ASSET_REF.sub(asset, text)
    return re.sub(r"\n\s+", "\n", text)


def _partials(src: Path, main: str, url: str, name: str) -> str:
    """{{partial:<name>}} -> src/partials/<name>.html (a block several pages share: a section menu, a chooser), with
    aria-current="page" on its link to the page itself."""
    def insert(match: re.Match) -> str:
        part = src / "partials" / f"{match.group(1)}.html"
        if not part.is_file():
            raise BuildError(f"{name}: unknown partial {match.group(1)}")
        text = part.read_text(encoding="utf-8").strip()
        return text.replace(f'href="{url}"', f'href="{url}" aria-current="page"')

    return _PARTIAL.sub(insert, main)


def _breadcrumb(trail: list | None) -> str:
    if not trail:
        return ""
    items = []
    for label, href in trail:
        label = html.escape(label)
        items.append(f'<li><a href="{html.escape(href)}">{label}</a></li>' if href
                     else f'<li aria-current="page">{label}</li>')
    return f'<nav class="crumbs" aria-label="Đường dẫn"><ol class="wrap">{"".join(items)}</ol></nav>'


def _first_load(b: _Build, page_url: str) -> dict:
    """The files a first visit fetches before the page can be used (the HTML and everything it references), and
    their transfer size: compressed text (CloudFront and the local server compress), fonts and images as they are."""
    text = (b.out / page_url.lstrip("/")).read_text(encoding="utf-8")
    urls = [page_url, *dict.fromkeys(_HTML_REF.findall(text))]
    return {"files": urls, "transfer_bytes": sum(b.files[u]["gzip"] for u in urls)}


def _stamp(src: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted([*src.rglob("*"), Path(__file__)]):
        if path.is_file():
            digest.update(path.relative_to(WEB).as_posix().encode() + b"\0" + path.read_bytes())
    digest.update(str(_font_dir()).encode())
    return digest.hexdigest()


def ensure_built(out: Path = DIST, src: Path = SRC, force: bool = False) -> Path:
    """Build `out` unless it was built from these very sources; safe when several processes ask at once (a lock,
    and the new build replaces the old one only when complete)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = _stamp(src)
        marker = out / ".stamp"
        if not force and marker.exists() and marker.read_text() == stamp:
            return out
        staging = out.with_name(f"{out.name}.tmp")
        build(staging, src)
        (staging / ".stamp").write_text(stamp)
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(out)
        staging.rename(out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description="Build the static site (web/src -> web/dist).")
    ap.add_argument("--out", type=Path, default=DIST)
    ap.add_argument("--force", action="store_true", help="build even when the sources are unchanged")
    args = ap.parse_args()
    ensure_built(args.out, force=args.force)
    manifest = json.loads((args.out / "manifest.json").read_text(encoding="utf-8"))
    for url, page in sorted(manifest["pages"].items()):
        print(f"{url:45} {page['transfer_bytes'] / 1024:6.1f} KB first load ({len(page['files'])} files)")
    print(f"budget {BUDGET_BYTES / 1024:.0f} KB per page; wrote {args.out}")


if __name__ == "__main__":
    main()
