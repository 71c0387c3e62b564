"""Settlement files in the documents bucket (``settlements/<BANK>/...``), streamed in chunks (never read whole into
memory), by key and version: a run names the exact version it read, so a re-run reads the same bytes even after a
corrected file replaced them."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from chalicelib.aws.clients import s3_client
from chalicelib.reconciliation.domain.runs import FileRef

CHUNK = 256 * 1024
LOCAL = "local:"  # a file given to the CLI, read from disk
_MISSING = ("404", "NoSuchKey", "NotFound", "NoSuchVersion")


class S3SettlementFiles:
    def __init__(self, region: str, bucket: str, endpoint_url: str = "") -> None:
        self._region, self._bucket, self._endpoint = region, bucket, endpoint_url

    def _s3(self) -> Any:
        return s3_client(self._region, self._endpoint)

    def _where(self, ref: FileRef) -> dict[str, str]:
        where = {"Bucket": ref.bucket or self._bucket, "Key": ref.key}
        if ref.version_id:
            where["VersionId"] = ref.version_id
        return where

    def chunks(self, ref: FileRef) -> Iterator[bytes]:
        if ref.key.startswith(LOCAL):
            return _local_chunks(Path(ref.key[len(LOCAL):]))
        s3 = self._s3()
        try:
            body = s3.get_object(**self._where(ref))["Body"]
        except s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise FileNotFoundError(ref.key) from None
            raise
        return body.iter_chunks(CHUNK)

    def latest(self, key: str) -> FileRef | None:
        s3 = self._s3()
        try:
            head = s3.head_object(Bucket=self._bucket, Key=key)
        except s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise
        version = head.get("VersionId")
        return FileRef(key=key, version_id=version if version and version != "null" else None, bucket=self._bucket)

    def size(self, ref: FileRef) -> int:
        if ref.key.startswith(LOCAL):
            return Path(ref.key[len(LOCAL):]).stat().st_size
        return int(self._s3().head_object(**self._where(ref))["ContentLength"])

    def put(self, key: str, body: bytes) -> FileRef:
        """Store a file (the local stack, tests and the benchmark deliver files the way a bank would)."""
        got = self._s3().put_object(Bucket=self._bucket, Key=key, Body=body)
        return FileRef(key=key, version_id=got.get("VersionId"), bucket=self._bucket)


def _local_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk
