"""Upload the built site (web/dist) to the site bucket of infra/web.json, each file with the content type and
Cache-Control the build recorded in manifest.json: hashed assets first, then the HTML that names them, so a visitor
never gets a page whose assets are not there yet. Old assets are left in place (pages cached before the deploy
still name them); then invalidate the HTML paths on CloudFront if the distribution caches them (no-cache: it
revalidates anyway).

    python -m web.publish --bucket <SiteBucketName output> [--dist web/dist]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from web.build import DIST


def publish(s3, bucket: str, dist: Path = DIST) -> list[str]:
    """Put every file of the manifest; returns the keys in upload order."""
    manifest = json.loads((dist / "manifest.json").read_text(encoding="utf-8"))
    files = manifest["files"]
    order = sorted(files, key=lambda url: (files[url]["type"].startswith("text/html"), url))
    keys = []
    for url in [*order, "/manifest.json"]:
        entry = files.get(url, {"type": "application/json", "cache": "no-cache"})
        key = url.lstrip("/")
        s3.put_object(Bucket=bucket, Key=key, Body=(dist / key).read_bytes(), ContentType=entry["type"],
                      CacheControl=entry["cache"])
        keys.append(key)
    return keys


def main() -> None:
    import boto3

    ap = argparse.ArgumentParser(description="Upload web/dist to the site bucket.")
    ap.add_argument("--bucket", required=True)
    ap.add_argument("--dist", type=Path, default=DIST)
    args = ap.parse_args()
    keys = publish(boto3.client("s3"), args.bucket, args.dist)
    print(f"uploaded {len(keys)} files to s3://{args.bucket}")


if __name__ == "__main__":
    main()
