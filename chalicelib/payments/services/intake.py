"""M1: ingest the tax notices of a land dossier (signed partner call), versioned and idempotent."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from chalicelib.core.admin_units import ResolvedCommune
from chalicelib.core.clock import epoch
from chalicelib.core.errors import AppError, conflict
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
    commune: dict | None = None  # the code received and the current statistics commune it was mapped to

    def as_dict(self) -> dict[str, int]:
        """The HTTP answer (API.md: the counts only; the mapped commune is returned with the notices, by lookup)."""
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
    # Before anything is read or written: a code that maps to no current commune refuses the batch (422).
    commune = resolve_commune(svc, batch)
    id_hash = svc.hasher.hash_id(batch.id_number)
    for _ in range(MAX_ATTEMPTS):
        now = svc.clock.now()
        existing = svc.dossiers.get(batch.dossier_code)
        try:
            dossier, accepted, unchanged = merge_batch(existing, batch, id_hash, epoch(now), now.isoformat(), commune,
                                                       seal=lambda phone: svc.sealer.seal(phone.encode()))
        except DossierConflictError as exc:
            raise conflict(exc.code, exc.message,
                           **({"notice_number": exc.notice_number} if exc.notice_number else {})) from None
        if not accepted:  # an idempotent resend: its intents went out with the first
            return IntakeResult(0, len(unchanged), dossier.commune_view())
        try:
            svc.dossiers.save(dossier, existing.rev if existing else None, intents(batch, accepted, commune),
                              reminders_of(svc, batch.dossier_code, accepted, now))
        except ConcurrentUpdateError:
            continue  # another intake or a payment touched the dossier: re-read and re-apply the rules
        svc.count("NoticesAccepted", len(accepted))
        return IntakeResult(len(accepted), len(unchanged), commune.view())
    raise AppError("CONCURRENT_UPDATE", "Hồ sơ đang được cập nhật đồng thời, vui lòng gửi lại.", 409, "Xung đột")


def reminders_of(svc: PaymentsContext, dossier_code: str, accepted: list[NoticeIn], now) -> list:
    """The SMS reminders of each accepted notice with a phone and a due date (written with the dossier)."""
    from chalicelib.reminders.domain import schedule

    planned = (schedule(dossier_code, n.notice_number, n.version, n.due_date, n.payer_phone, now,
                        svc.settings.reminders) for n in accepted if n.payer_phone and n.due_date)
    return [r for r in planned if r is not None]
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


def resolve_commune(svc: PaymentsContext, batch: NoticeBatchIn) -> ResolvedCommune:
    from chalicelib.core.codes import province_agency_code

    return svc.commune_codes.resolve(province_agency=province_agency_code(batch.dossier_code),
                                     code=batch.commune_code, system=batch.commune_code_system,
                                     version=batch.commune_code_version, address=batch.property.address)


def intents(batch: NoticeBatchIn, accepted: list[NoticeIn], commune: ResolvedCommune | None = None) -> list[Intent]:
    """Written with the dossier: the payer's SMS for each notice with a phone (the phone is stored nowhere else),
    and the notices for the province's one-stop software ("API BNDP nhận thông báo thuế đất"), without ID number
    or phone: the province matches on its own dossier code."""
    from chalicelib.core.codes import province_agency_code

    out = [outbox.sms(n.payer_phone, notice_sms(batch.dossier_code, n)) for n in accepted if n.payer_phone]
    mapped = {"commune_code_system": batch.commune_code_system, "standard_commune_code": commune.code,
              "standard_commune_version": commune.version} if commune else {}
    notices = [{"dossier_code": batch.dossier_code, "commune_code": batch.commune_code, **mapped,
                "property": batch.property.model_dump(mode="json", exclude_none=True),
                **n.model_dump(mode="json", exclude={"payer_phone"}, exclude_none=True)} for n in accepted]
    out.append(outbox.forward_notices(province_agency_code(batch.dossier_code), notices))
    return out
