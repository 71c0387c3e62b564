"""M1: ingest the tax notices of a land dossier (signed partner call), versioned and idempotent."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from chalicelib.core.clock import epoch
from chalicelib.core.errors import AppError, FieldError, conflict, validation_error
from chalicelib.core.money import format_vnd
from chalicelib.core.parsing import parse
from chalicelib.payments.domain.notices import (
    DossierConflictError,
    NoticeBatchIn,
    NoticeIn,
    merge_batch,
)
from chalicelib.payments.ports import ConcurrentUpdateError, PaymentsContext

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class IntakeResult:
    accepted: int
    unchanged: int

    def as_dict(self) -> dict[str, int]:
        return {"accepted": self.accepted, "unchanged": self.unchanged}


def notice_sms(dossier_code: str, notice: NoticeIn) -> str:
    return (
        f"Cổng DVC quốc gia: Cơ quan thuế đã ban hành thông báo thuế số {notice.notice_number}, "
        f"số tiền {format_vnd(notice.total_vnd)} đồng, hồ sơ {dossier_code}. "
        "Tra cứu và nộp tiền tại dichvucong.gov.vn"
    )


def ingest_notices(svc: PaymentsContext, body: dict) -> IntakeResult:
    batch = parse(NoticeBatchIn, body)
    if batch.commune_code_system == "tax":
        raise validation_error(
            [FieldError("commune_code_system", "COMMUNE_CODE_SYSTEM_UNSUPPORTED",
                        "Chưa hỗ trợ mã xã của cơ quan thuế (tax): bảng ánh xạ địa bàn hành chính chưa được "
                        "xác nhận. Hãy gửi mã xã theo danh mục thống kê (gso).")],
            "Mã địa bàn hành chính chưa được hỗ trợ.",
        )
    id_hash = svc.hasher.hash_id(batch.id_number)
    for _ in range(MAX_ATTEMPTS):
        now = svc.clock.now()
        existing = svc.dossiers.get(batch.dossier_code)
        try:
            dossier, accepted, unchanged = merge_batch(existing, batch, id_hash, epoch(now), now.isoformat())
        except DossierConflictError as exc:
            raise conflict(exc.code, exc.message,
                           **({"notice_number": exc.notice_number} if exc.notice_number else {})) from None
        if not accepted:
            # A resend of the current version may follow a failed queue send (answered 503): forward it again.
            # The province de-duplicates on message_id, so a resend that was already forwarded costs nothing.
            _forward_to_province(svc, batch, [n for n in unchanged
                                              if existing and existing.notices[n.notice_number].version == n.version])
            return IntakeResult(0, len(unchanged))
        try:
            svc.dossiers.save(dossier, existing.rev if existing else None)
        except ConcurrentUpdateError:
            continue  # another intake or a payment touched the dossier: re-read and re-apply the rules
        _notify_payers(svc, batch.dossier_code, accepted)
        _forward_to_province(svc, batch, accepted)
        svc.count("NoticesAccepted", len(accepted))
        return IntakeResult(len(accepted), len(unchanged))
    raise AppError("CONCURRENT_UPDATE", "Hồ sơ đang được cập nhật đồng thời, vui lòng gửi lại.", 409, "Xung đột")


def _notify_payers(svc: PaymentsContext, dossier_code: str, accepted: list[NoticeIn]) -> None:
    """The SMS is a courtesy: a failed send is logged and counted, never a reason to refuse a stored notice."""
    for notice in accepted:
        if not notice.payer_phone:
            continue
        try:
            svc.sms.send_sms(notice.payer_phone, notice_sms(dossier_code, notice))
        except Exception:
            log.warning("notice SMS not sent", extra={"notice_number": notice.notice_number})
            svc.count("NoticeSmsFailed")


def _forward_to_province(svc: PaymentsContext, batch: NoticeBatchIn, accepted: list[NoticeIn]) -> None:
    """Send each notice to the province's one-stop software ("API BNDP nhận thông báo thuế đất") through the
    forwarding queue. No ID number and no phone travel: the province matches on its own dossier code.

    If the queue cannot be reached the notice is stored but not yet on its way: the partner is answered 503 so it
    resends, and the resend (same version, "unchanged") forwards it again. Nothing is lost."""
    from chalicelib.core.codes import province_agency_code

    if not accepted:
        return

    notices = [{"dossier_code": batch.dossier_code, "commune_code": batch.commune_code,
                "property": batch.property.model_dump(mode="json", exclude_none=True),
                **n.model_dump(mode="json", exclude={"payer_phone"}, exclude_none=True)} for n in accepted]
    try:
        svc.forwarding.enqueue_notices(province_agency_code(batch.dossier_code), notices)
    except Exception:
        log.warning("notices not queued for the province", extra={"dossier_code": batch.dossier_code})
        svc.count("NoticeForwardingFailed")
        raise AppError(
            "NOTICE_FORWARDING_UNAVAILABLE",
            "Thông báo đã được lưu nhưng chưa chuyển được tới phần mềm một cửa của địa phương; "
            "vui lòng gửi lại cùng phiên bản sau ít phút.",
            503,
            "Tạm thời chưa chuyển được",
            headers={"Retry-After": "60"},
        ) from None
