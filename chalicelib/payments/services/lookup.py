"""M2: look up a dossier's notices by dossier code + ID number, in one read, without enumeration."""
from __future__ import annotations

import hmac

from pydantic import BaseModel, ConfigDict, field_validator

from chalicelib.core import codes, identity
from chalicelib.core.clock import epoch
from chalicelib.core.errors import not_found
from chalicelib.core.parsing import parse
from chalicelib.payments.domain.notices import Dossier
from chalicelib.payments.ports import PaymentsContext

NOT_FOUND_DETAIL = "Không tìm thấy hồ sơ với mã hồ sơ và số giấy tờ tùy thân đã nhập."


class LookupIn(BaseModel):
    """Dossier code + ID number: what a citizen types to find (and then pay) their notices."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    dossier_code: str
    id_number: str

    @field_validator("dossier_code")
    @classmethod
    def _dossier(cls, v: str) -> str:
        return codes.validate_dossier_code(v)

    @field_validator("id_number")
    @classmethod
    def _id(cls, v: str) -> str:
        return identity.normalise_id_number(v)


def dossier_not_found():
    return not_found("DOSSIER_NOT_FOUND", NOT_FOUND_DETAIL)


def find_dossier(svc: PaymentsContext, dossier_code: str, id_number: str) -> Dossier:
    """The dossier if the pair matches. Unknown dossier and wrong ID give the identical answer (no enumeration);
    the hash is computed either way so timing does not tell them apart."""
    expected = svc.hasher.hash_id(id_number)
    dossier = svc.dossiers.get(dossier_code)
    stored = dossier.id_hash if dossier else "0" * len(expected)
    if not hmac.compare_digest(stored, expected) or dossier is None:
        raise dossier_not_found()
    return dossier


def lookup(svc: PaymentsContext, body: dict) -> dict:
    q = parse(LookupIn, body)
    dossier = find_dossier(svc, q.dossier_code, q.id_number)
    now = epoch(svc.clock.now())
    return {
        "dossier_code": dossier.dossier_code,
        "property": dossier.property,
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

