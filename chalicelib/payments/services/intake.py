"""M1: ingest the tax notices of a land dossier (signed partner call), versioned and idempotent."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from chalicelib.core.clock import epoch
from chalicelib.core.errors import AppError, FieldError, conflict, validation_error
from chalicelib.core.money import format_vnd
from chalicelib.core.parsing import parse
from chalicelib.outbox import domain as outbox
from chalicelib.outbox.domain import Intent
from chalicelib.payments.domain.notices import DossierConflictError, NoticeBatchIn, NoticeIn, merge_batch
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


def ingest_notices(svc: PaymentsContext, body: dict, provinces: tuple[str, ...] | None = None) -> IntakeResult:
    """``provinces``: those the signing partner may send for (None: every province, the tax authority)."""
    batch = parse(NoticeBatchIn, body)
    _check_sender_scope(batch.dossier_code, provinces)
    if batch.commune_code_system == "tax":
        # The document keeps "tax" (the published contract): not yet supported is a state of the server, not a
        # malformed request, so it answers its own code (rule=True).
        raise validation_error(
            [FieldError("commune_code_system", "COMMUNE_CODE_SYSTEM_UNSUPPORTED",
                        "Chưa hỗ trợ mã xã của cơ quan thuế (tax): bảng ánh xạ địa bàn hành chính chưa được "
                        "xác nhận. Hãy gửi mã xã theo danh mục thống kê (gso).", rule=True)],
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
            return IntakeResult(0, len(unchanged))  # an idempotent resend: its intents went out with the first
        try:
            svc.dossiers.save(dossier, existing.rev if existing else None, intents(batch, accepted))
        except ConcurrentUpdateError:
            continue  # another intake or a payment touched the dossier: re-read and re-apply the rules
        svc.count("NoticesAccepted", len(accepted))
        return IntakeResult(len(accepted), len(unchanged))
    raise AppError("CONCURRENT_UPDATE", "Hồ sơ đang được cập nhật đồng thời, vui lòng gửi lại.", 409, "Xung đột")


def _province_key(code: str) -> str:
    from chalicelib.core.admin_units import current_province
    from chalicelib.core.validation import InvalidValueError

    try:
        return current_province(code).stats_code  # H49, 000.00.00.H49, 22 and closed codes name one province
    except InvalidValueError:
        return code.rsplit(".", 1)[-1].upper()  # not in the table: only the same level-1 code matches


def _check_sender_scope(dossier_code: str, provinces: tuple[str, ...] | None) -> None:
    from chalicelib.core.codes import province_agency_code
    from chalicelib.core.errors import forbidden

    if provinces is None:
        return
    if _province_key(province_agency_code(dossier_code)) not in {_province_key(p) for p in provinces}:
        raise forbidden("PARTNER_PROVINCE_FORBIDDEN", "Đối tác không được gửi thông báo thuế cho tỉnh của hồ sơ này.")


def intents(batch: NoticeBatchIn, accepted: list[NoticeIn]) -> list[Intent]:
    """Written with the dossier: the payer's SMS for each notice with a phone (the phone is stored nowhere else),
    and the notices for the province's one-stop software ("API BNDP nhận thông báo thuế đất"), without ID number
    or phone: the province matches on its own dossier code."""
    from chalicelib.core.codes import province_agency_code

    out = [outbox.sms(n.payer_phone, notice_sms(batch.dossier_code, n)) for n in accepted if n.payer_phone]
    notices = [{"dossier_code": batch.dossier_code, "commune_code": batch.commune_code,
                "property": batch.property.model_dump(mode="json", exclude_none=True),
                **n.model_dump(mode="json", exclude={"payer_phone"}, exclude_none=True)} for n in accepted]
    out.append(outbox.forward_notices(province_agency_code(batch.dossier_code), notices))
    return out
