"""M2: look up a dossier's notices by dossier code + ID number, in one read, without enumeration."""
from __future__ import annotations

import hmac

from pydantic import BaseModel, ConfigDict

from chalicelib.core.clock import epoch
from chalicelib.core.errors import AppError, not_found
from chalicelib.core.fields import DossierCode, IdNumberLookup
from chalicelib.core.parsing import parse
from chalicelib.core.words import retry_text
from chalicelib.payments.domain.lookups import current_failures, wait_s
from chalicelib.payments.domain.notices import Dossier
from chalicelib.payments.ports import PaymentsContext

NOT_FOUND_DETAIL = "Không tìm thấy hồ sơ với mã hồ sơ và số giấy tờ tùy thân đã nhập."


class LookupIn(BaseModel):
    """Dossier code + ID number: what a citizen types to find (and then pay) their notices."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    dossier_code: DossierCode
    id_number: IdNumberLookup


def dossier_not_found():
    return not_found("DOSSIER_NOT_FOUND", NOT_FOUND_DETAIL)


def find_dossier(svc: PaymentsContext, dossier_code: str, id_number: str) -> Dossier:
    """The dossier if the pair matches. An unknown dossier and a wrong ID number get the identical answer after the
    identical work (one read, one hash comparison, one counted failure), so neither the answer nor its timing tells
    which dossier codes exist; and every code takes only so many wrong guesses (domain.lookups)."""
    expected = svc.hasher.hash_id(id_number)
    read = svc.dossiers.get_for_lookup(dossier_code)
    now = epoch(svc.clock.now())
    policy = svc.settings.lookup
    wait = wait_s(read.attempts, now, policy)
    if wait > 0:
        raise AppError("LOOKUP_TOO_MANY_ATTEMPTS", "Mã hồ sơ này đã bị tra cứu sai quá nhiều lần. Vui lòng thử lại sau "
                       f"{retry_text(wait)}.", 429, "Quá nhiều yêu cầu", headers={"Retry-After": str(wait)},
                       extra={"retry_after_s": wait})
    stored = read.id_hash if read.id_hash is not None else "0" * len(expected)
    if read.id_hash is None or not hmac.compare_digest(stored, expected):
        fresh = current_failures(read.attempts, now, policy)
        svc.dossiers.record_lookup_failure(dossier_code, now, reset=fresh == 0 and read.attempts.failures > 0)
        raise dossier_not_found()
    return read.load()


def lookup(svc: PaymentsContext, body: dict) -> dict:
    q = parse(LookupIn, body)
    dossier = find_dossier(svc, q.dossier_code, q.id_number)
    now = epoch(svc.clock.now())
    extra = {"test": True} if dossier.test else {}
    return {
        "dossier_code": dossier.dossier_code,
        "property": dossier.property,
        "commune": dossier.commune_view(),
        **extra,
        "notices": [
            {
                "notice_number": n.notice_number,
                "version": n.version,
                "payer_name": n.payer_name,
                "issued_at": n.issued_at,
                "due_date": n.due_date,
                "items": n.items,
                "total_vnd": n.total_vnd,
                "status": n.status(now).value,
            }
            for n in sorted(dossier.notices.values(), key=lambda n: n.notice_number)
        ],
    }

