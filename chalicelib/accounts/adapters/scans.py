"""S3: the documents bucket (scans of ID cards), uploaded by the browser through a presigned POST.

The POST policy forces server-side encryption (SSE-S3, on top of the bucket's default), caps the size
(``content-length-range``: S3 itself refuses a bigger file), fixes the content type and binds the object to the
officer and unit through metadata that the creation step reads back. Object keys are random ids: they never contain
an ID number. The same client signs the support-request attachments' POSTs (chalicelib.onboarding.adapters.files): one
upload endpoint for the browser, the one the site's CSP and the bucket's CORS rule name. The client uses Signature V4 (required by newer regions, and the only one presigned POSTs should use).
"""
from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.accounts.ports import ScanObject

SSE = "AES256"


@cache
def s3_client(region: str, endpoint_url: str = "") -> Any:
    import boto3
    from botocore.config import Config

    # endpoint_url: the local stack's moto server (empty in AWS); also part of the cache key. In AWS, virtual-hosted
    # addressing on the regional endpoint: presigned POSTs name https://<bucket>.s3.<region>.amazonaws.com, the
    # bucket's RegionalDomainName that the site's connect-src allows (infra/web.json), never the global
    # s3.amazonaws.com name (which also redirects for a new bucket outside us-east-1).
    s3 = {} if endpoint_url else {"addressing_style": "virtual"}
    return boto3.session.Session().client("s3", region_name=region, endpoint_url=endpoint_url or None,
                                          config=Config(signature_version="s3v4", retries={"mode": "standard"}, s3=s3))


class S3ScanFiles:
    def __init__(self, region: str, bucket: str, endpoint_url: str = "") -> None:
        self._region, self._bucket, self._endpoint = region, bucket, endpoint_url

    def _s3(self) -> Any:
        return s3_client(self._region, self._endpoint)

    def upload_form(self, key: str, content_type: str, metadata: dict[str, str], max_bytes: int,
                    expires_s: int) -> dict[str, Any]:
        fields = {"Content-Type": content_type, "x-amz-server-side-encryption": SSE,
                  **{f"x-amz-meta-{k}": v for k, v in metadata.items()}}
        conditions: list[Any] = [{k: v} for k, v in fields.items()]
        conditions.append(["content-length-range", 1, max_bytes])
        post = self._s3().generate_presigned_post(
            self._bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=expires_s)
        return {"url": post["url"], "fields": post["fields"], "method": "POST", "file_field": "file"}

    def fetch(self, key: str, max_bytes: int) -> ScanObject | None:
        """One GET: the size and metadata from the headers; the bytes only when within the limit."""
        s3 = self._s3()
        try:
            got = s3.get_object(Bucket=self._bucket, Key=key)
        except s3.exceptions.NoSuchKey:
            return None
        body = got["Body"]
        try:
            size = int(got["ContentLength"])
            content = body.read(max_bytes + 1) if size <= max_bytes else None
        finally:
            body.close()
        if content is not None and len(content) > max_bytes:
            size, content = len(content), None
        return ScanObject(size, content, dict(got.get("Metadata") or {}), got.get("ServerSideEncryption"))

    def delete(self, key: str) -> None:
        self._s3().delete_object(Bucket=self._bucket, Key=key)
