"""Keep the Lambda deployment zip lean: drop what the Lambda Python runtime already provides, refuse a zip over the
limit. Used by infra/package.py on the out/deployment.zip that `chalice package` writes.

boto3, botocore and s3transfer come with the python3.11 runtime (and /var/runtime is on its sys.path after the
function's own /var/task); shipping our pinned copies again cost 16.6 MB of the zip. pynamodb and Powertools only need
a botocore (any of the runtime's), and the code calls no API newer than the runtime's SDK (see README, Deploy).
jmespath, dateutil, urllib3 and six stay in the zip: Powertools needs jmespath itself, and the others are small.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

# Top-level distributions left out of the zip, with their dist-info / .data folders.
PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer")

# The deployment zip may not grow past this (the budget; AWS refuses 50 MB for a direct upload).
MAX_ZIP_BYTES = 30 * 1000 * 1000


class BundleError(ValueError):
    """The deployment zip is too large or cannot be read."""


def _left_out(name: str, dropped: tuple[str, ...]) -> bool:
    top = name.split("/", 1)[0]
    for package in dropped:
        if top == package or (top.startswith(package + "-") and top.endswith((".dist-info", ".data"))):
            return True
    return False


def slim(path: Path, dropped: tuple[str, ...] = PROVIDED_BY_RUNTIME) -> tuple[int, int]:
    """Rewrite the zip at `path` without the `dropped` distributions; return (bytes before, bytes after)."""
    before = path.stat().st_size
    tmp = path.with_suffix(".slim.zip")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for info in src.infolist():
            if not _left_out(info.filename, dropped):
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
