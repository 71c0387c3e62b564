"""Keep the Lambda deployment zip lean: leave out what the Lambda Python runtime already provides and what no code
path of ours imports, refuse a zip over the limit. Used by infra/package.py on the out/deployment.zip that `chalice
package` writes.

* boto3, botocore and s3transfer come with the python3.11 runtime (/var/runtime is on its sys.path after the
  function's own /var/task): shipping our pinned copies again cost 16.6 MB of the zip. pynamodb and Powertools need
  a botocore, any of the runtime's, and the code calls no API newer than the runtime's SDK (README, Deploy).
  jmespath, dateutil, urllib3 and six stay: Powertools needs jmespath itself, and the others are small.
* Pillow (1.5 MB) and lxml's objectify, html and isoschematron (2 MB): fpdf2 and pyHanko import Pillow only to embed
  raster images (the receipt's QR code is drawn as rectangles), signxml and pyHanko use lxml.etree only.
  tests/unit/test_bundle.py runs every PDF, signing and XML test with these modules blocked, so a code path that
  starts needing one fails there, not in AWS.
* Build-only files (C sources and headers, Cython and stub files, lxml's include folder: 1.3 MB).
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer")
UNUSED_MODULES = ("PIL", "lxml.objectify", "lxml.html", "lxml.isoschematron")
UNUSED_DISTRIBUTIONS = ("pillow",)  # their dist-info folders (Pillow's module is PIL)
BUILD_ONLY_SUFFIXES = (".c", ".h", ".pyx", ".pxd", ".pxi", ".pyi")
BUILD_ONLY_DIRS = ("lxml/includes/",)

# The deployment zip may not grow past this (the budget; AWS refuses 50 MB for a direct upload).
MAX_ZIP_BYTES = 30 * 1000 * 1000


class BundleError(ValueError):
    """The deployment zip is too large or cannot be read."""


def _left_out(name: str) -> bool:
    top = name.split("/", 1)[0]
    for dist in PROVIDED_BY_RUNTIME + UNUSED_DISTRIBUTIONS:
        if top == dist or (top.lower().startswith(dist + "-") and top.endswith((".dist-info", ".data"))):
            return True
    for module in UNUSED_MODULES:
        path = module.replace(".", "/")
        if name == path or name.startswith((path + "/", path + ".")):
            return True
    return name.endswith(BUILD_ONLY_SUFFIXES) or name.startswith(BUILD_ONLY_DIRS)


def slim(path: Path) -> tuple[int, int]:
    """Rewrite the zip at `path` without what is left out (see the module docstring); return (bytes before, after)."""
    before = path.stat().st_size
    tmp = path.with_suffix(".slim.zip")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            if not _left_out(info.filename):
                dst.writestr(info, src.read(info), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    os.replace(tmp, path)
    return before, path.stat().st_size


def check_size(path: Path, limit: int | None = None) -> int:
    """The zip's size in bytes; BundleError when it is over `limit` (MAX_ZIP_BYTES), naming the largest parts."""
    limit = MAX_ZIP_BYTES if limit is None else limit
    size = path.stat().st_size
    if size > limit:
        raise BundleError(f"{path} is {size / 1e6:.1f} MB, over the {limit / 1e6:.0f} MB limit; largest: "
                          + ", ".join(f"{top} {mb:.1f} MB" for top, mb in largest(path)[:5]))
    return size


def largest(path: Path) -> list[tuple[str, float]]:
    """(top-level entry, compressed MB) of the zip, largest first."""
    sizes: dict[str, int] = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            top = info.filename.split("/", 1)[0]
            sizes[top] = sizes.get(top, 0) + info.compress_size
    return sorted(((top, size / 1e6) for top, size in sizes.items()), key=lambda item: -item[1])
