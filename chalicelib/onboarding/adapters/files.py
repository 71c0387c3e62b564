"""S3: support-request attachments in the documents bucket, under ``support-attachments/``, uploaded by the browser.

The presigned POST forces SSE-S3, caps the size (``content-length-range``: S3 refuses a bigger file itself), fixes
the content type, binds the object to its uploader and province through metadata, and tags it ``lfo-scan=pending``:
the bucket's lifecycle rule expires pending objects, so a file never attached to a request disappears on its own.
Accepting a file re-tags it ``accepted``. Checking reads only the first bytes (one ranged GET). Keys are random ids.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from chalicelib.onboarding.ports import StoredObject

SSE = "AES256"
TAG_KEY = "lfo-scan"
PENDING_TAGGING = f"<Tagging><TagSet><Tag><Key>{TAG_KEY}</Key><Value>pending</Value></Tag></TagSet></Tagging>"


class S3AttachmentFiles:
    def __init__(self, region: str, bucket: str, endpoint_url: str = "") -> None:
        self._region, self._bucket, self._endpoint = region, bucket, endpoint_url

    def _s3(self) -> Any:
        from chalicelib.accounts.adapters.scans import s3_client  # the one SigV4 client of the documents bucket

        return s3_client(self._region, self._endpoint)

    def upload_form(self, key: str, content_type: str, metadata: dict[str, str], max_bytes: int,
                    expires_s: int) -> dict[str, Any]:
        fields = {"Content-Type": content_type, "x-amz-server-side-encryption": SSE, "tagging": PENDING_TAGGING,
                  **{f"x-amz-meta-{k}": v for k, v in metadata.items()}}
        conditions: list[Any] = [{k: v} for k, v in fields.items()]
        conditions.append(["content-length-range", 1, max_bytes])
        post = self._s3().generate_presigned_post(self._bucket, key, Fields=fields, Conditions=conditions,
                                                  ExpiresIn=expires_s)
        return {"url": post["url"], "fields": post["fields"], "method": "POST", "file_field": "file"}

    def head(self, key: str, max_bytes: int) -> StoredObject | None:
        s3 = self._s3()
        try:
            got = s3.get_object(Bucket=self._bucket, Key=key, Range=f"bytes=0-{max_bytes - 1}")
        except s3.exceptions.NoSuchKey:
            return None
        except s3.exceptions.ClientError as exc:  # an empty object has no byte 0: 416
            if exc.response.get("Error", {}).get("Code") != "InvalidRange":
                raise
            got = s3.get_object(Bucket=self._bucket, Key=key)
        body = got["Body"]
        try:
            head = body.read(max_bytes)
        finally:
            body.close()
        total = got.get("ContentRange", "").rpartition("/")[2]
        size = int(total) if total.isdigit() else int(got["ContentLength"])
        return StoredObject(size, head, dict(got.get("Metadata") or {}), got.get("ServerSideEncryption"))

    def mark_accepted(self, key: str) -> None:
        self._s3().put_object_tagging(Bucket=self._bucket, Key=key,
                                      Tagging={"TagSet": [{"Key": TAG_KEY, "Value": "accepted"}]})

    def download_url(self, key: str, file_name: str, media_type: str, expires_s: int) -> str:
        ascii_name = file_name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
        disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name)}"
        return self._s3().generate_presigned_url(
            "get_object", ExpiresIn=expires_s,
            Params={"Bucket": self._bucket, "Key": key, "ResponseContentDisposition": disposition,
                    "ResponseContentType": media_type})
