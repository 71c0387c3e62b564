"""Attachments of support requests (File đính kèm): uploaded by the browser straight to S3, then checked by content
before a request or comment may reference them.

Step 1 (``upload_form``) hands out a presigned POST for one file (encrypted, size-capped, tagged pending). Step 2
(``accept``) reads each referenced object's first bytes (one ranged GET) and checks them with the domain's content
sniffing, so a file whose content is not what its name says is refused, whatever the browser claimed; the count and
total size per request are capped. Accepted files are re-tagged only once the request's write has committed
(``mark_accepted``): a refused or failed request leaves them pending, and the lifecycle rule removes them.
"""
from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.core.errors import FieldError, validation_error
from chalicelib.core.parsing import parse
from chalicelib.onboarding.domain.attachments import (
    MEDIA_TYPES,
    SNIFF_BYTES,
    AttachmentLimits,
    InvalidAttachmentError,
    attachment_name_pattern,
    check_attachment,
    declared_kind,
)
from chalicelib.onboarding.domain.requests import AttachmentRef, Caller, StoredAttachment, SupportRequest
from chalicelib.onboarding.ports import OnboardingContext
from chalicelib.onboarding.services.common import load

log = logging.getLogger(__name__)
PREFIX = "support-attachments/"
_OPERATOR_SCOPE = "OPERATOR"


class UploadIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    file_name: str = Field(min_length=1, max_length=255, description="e.g. bien-ban-kiem-thu.pdf",
                           json_schema_extra=lambda s: s.update(pattern=attachment_name_pattern()))
    size_bytes: int | None = Field(default=None, ge=1, description="Checked early; S3 enforces the cap itself.")


def limits(ctx: OnboardingContext) -> AttachmentLimits:
    s = ctx.settings.onboarding
    return AttachmentLimits(max_file_bytes=s.attachment_max_file_bytes, max_total_bytes=s.attachment_max_total_bytes,
                            max_files=s.attachment_max_files)


def _refused(field: str, exc: InvalidAttachmentError) -> Exception:
    return validation_error([FieldError(field, exc.code, exc.message)])


def upload_form(ctx: OnboardingContext, caller: Caller, body: Any) -> dict[str, Any]:
    """A presigned POST for one attachment (the file never passes through the API: Lambda's 6 MB payload)."""
    data = parse(UploadIn, body)
    caps = limits(ctx)
    try:
        kind = declared_kind(data.file_name)
    except InvalidAttachmentError as exc:
        raise _refused("file_name", exc) from None
    if data.size_bytes is not None and data.size_bytes > caps.max_file_bytes:
        raise _refused("size_bytes", InvalidAttachmentError(
            "ATTACHMENT_TOO_LARGE", f"Mỗi tệp đính kèm tối đa {caps.max_file_bytes // (1024 * 1024)} MB."))
    attachment_id = ctx.new_id()
    metadata = {"uploader": caller.subject, "province": caller.province or _OPERATOR_SCOPE, "kind": kind.value}
    expires = ctx.settings.onboarding.upload_expires_s
    form = ctx.support_files.upload_form(PREFIX + attachment_id, MEDIA_TYPES[kind], metadata, caps.max_file_bytes,
                                         expires)
    return {"attachment_id": attachment_id, "upload": form, "max_bytes": caps.max_file_bytes,
            "expires_in_s": expires}


def accept(ctx: OnboardingContext, caller: Caller, refs: list[AttachmentRef], field: str,
           existing: list[StoredAttachment] = ()) -> list[StoredAttachment]:
    """Check every referenced upload (owner, name, content, sizes); the stored records, nothing written yet."""
    caps = limits(ctx)
    ids = [r.attachment_id for r in refs]
    if len(set(ids)) != len(ids) or set(ids) & {a.attachment_id for a in existing}:
        raise _refused(field, InvalidAttachmentError("ATTACHMENT_DUPLICATE", "Một tệp được đính kèm hai lần."))
    if len(existing) + len(refs) > caps.max_files:
        raise _refused(field, InvalidAttachmentError(
            "ATTACHMENTS_TOO_MANY", f"Tối đa {caps.max_files} tệp đính kèm mỗi yêu cầu."))
    now = ctx.clock.now().isoformat()
    out = [_checked(ctx, caller, ref, f"{field}.{i}", caps, now) for i, ref in enumerate(refs)]
    if sum(a.size_bytes for a in (*existing, *out)) > caps.max_total_bytes:
        raise _refused(field, InvalidAttachmentError(
            "ATTACHMENTS_TOTAL_TOO_LARGE",
            f"Tổng dung lượng tệp đính kèm tối đa {caps.max_total_bytes // (1024 * 1024)} MB mỗi yêu cầu."))
    return out


def _checked(ctx: OnboardingContext, caller: Caller, ref: AttachmentRef, field: str, caps: AttachmentLimits,
             now: str) -> StoredAttachment:
    obj = ctx.support_files.head(PREFIX + ref.attachment_id, SNIFF_BYTES)
    owner = caller.province or _OPERATOR_SCOPE
    if obj is None or obj.metadata.get("uploader") != caller.subject or obj.metadata.get("province") != owner:
        # Someone else's upload is as unknown as a missing one: ids are never confirmed to a stranger.
        raise _refused(field, InvalidAttachmentError("ATTACHMENT_NOT_UPLOADED",
                                                     "Không tìm thấy tệp đã tải lên; vui lòng tải tệp lên lại."))
    try:
        kind = check_attachment(ref.file_name, obj.head, obj.size, caps)
    except InvalidAttachmentError as exc:
        raise _refused(field, exc) from None
    if obj.metadata.get("kind") != kind.value:
        raise _refused(field, InvalidAttachmentError(
            "ATTACHMENT_NAME_CHANGED", "Tên tệp khác loại với tệp đã tải lên; vui lòng tải tệp lên lại."))
    if obj.encryption not in ("AES256", "aws:kms", "aws:kms:dsse"):
        log.error("support attachment stored without server-side encryption")
    return StoredAttachment(attachment_id=ref.attachment_id, file_name=ref.file_name, kind=kind.value,
                            media_type=MEDIA_TYPES[kind], size_bytes=obj.size, added_at=now, added_by=caller.subject)


def mark_accepted(ctx: OnboardingContext, attachments: list[StoredAttachment]) -> None:
    """After the write that references them: accepted files leave the lifecycle rule's pending set."""
    for attachment in attachments:
        try:
            ctx.support_files.mark_accepted(PREFIX + attachment.attachment_id)
        except Exception:  # the request holds the file; a missed tag only risks its expiry (logged)
            log.exception("support attachment not re-tagged", extra={"attachment_id": attachment.attachment_id})


def download(ctx: OnboardingContext, caller: Caller, request_id: str, attachment_id: str) -> dict[str, Any]:
    """A short-lived download link of one attachment of a request in the caller's scope."""
    request: SupportRequest = load(ctx, caller, request_id)
    found = next((a for a in request.attachments if a.attachment_id == attachment_id), None)
    if found is None:
        from chalicelib.core.errors import not_found

        raise not_found("ATTACHMENT_NOT_FOUND", "Yêu cầu không có tệp đính kèm này.")
    expires = ctx.settings.onboarding.download_expires_s
    url = ctx.support_files.download_url(PREFIX + found.attachment_id, found.file_name, found.media_type, expires)
    return {"attachment_id": found.attachment_id, "file_name": found.file_name, "media_type": found.media_type,
            "size_bytes": found.size_bytes, "url": url, "expires_in_s": expires}
