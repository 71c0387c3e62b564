"""S3: the self-test evidence (report PDF and JSON) under ``selftest-evidence/`` of the documents bucket,
encrypted (SSE-S3 on top of the bucket default), handed out as presigned GETs that expire."""
from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.selftest.domain import EVIDENCE_PREFIX


@cache
def _s3(region: str, endpoint_url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client("s3", region_name=region, endpoint_url=endpoint_url or None,
                                          config=Config(signature_version="s3v4", retries={"mode": "standard"}))


class S3Evidence:
    def __init__(self, region: str, bucket: str, endpoint_url: str = "") -> None:
        self._region, self._bucket, self._endpoint = region, bucket, endpoint_url

    def _check(self, key: str) -> None:
        if not key.startswith(f"{EVIDENCE_PREFIX}/") or ".." in key:
            raise ValueError("not a self-test evidence key")

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._check(key)
        _s3(self._region, self._endpoint).put_object(Bucket=self._bucket, Key=key, Body=body,
                                                     ContentType=content_type, ServerSideEncryption="AES256")

    def download_url(self, key: str, expires_s: int, file_name: str) -> str:
        self._check(key)
        return _s3(self._region, self._endpoint).generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key,
                                  "ResponseContentDisposition": f'attachment; filename="{file_name}"'},
            ExpiresIn=expires_s)
