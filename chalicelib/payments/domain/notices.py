"""Tax notices of a land dossier: the intake model, the stored model and the versioning rules (M1, M2).

A dossier is stored as one item holding the keyed hash of the citizen's ID number and its notices, so a lookup is
one read. A notice is *locked* while it is paid or has a live (unexpired) payment: a corrected version may replace
an unlocked notice only.
"""
from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)

from chalicelib.core import codes, phones
from chalicelib.core.admin_units import ResolvedCommune
from chalicelib.core.fields import (
    IdNumber,
    IsoDate,
    IsoDateTime,
    MobilePhoneOrBlank,
    ProvincialDossierCode,
    SubItemCode,
    TaxCode,
)
from chalicelib.core.validation import InvalidValueError, RuleError
from chalicelib.receipts.units import unit_code_for

NOTICE_NUMBER_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z./_-]*$"  # e.g. LTB2171317-TK0029951/TB-CCT
MAX_AMOUNT_VND = 10**13  # ten thousand billion VND: above any single land obligation; guards overflow and typos


class NoticeStatus(str, Enum):
    PAYABLE = "payable"
    IN_PAYMENT = "in_payment"
    PAID = "paid"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class NoticeItemIn(_Strict):
    sub_item_code: SubItemCode = Field(min_length=4, max_length=4)
    description: str = Field(min_length=1, max_length=300)
    amount_vnd: StrictInt = Field(gt=0, le=MAX_AMOUNT_VND)


class NoticeIn(_Strict):
    __rules__ = ("TOTAL_MISMATCH",)  # a sum JSON Schema cannot state
    notice_number: str = Field(min_length=1, max_length=64, pattern=NOTICE_NUMBER_PATTERN)
    version: StrictInt = Field(ge=1, le=10_000)
    payer_name: str = Field(min_length=1, max_length=200)
    payer_phone: MobilePhoneOrBlank | None = None
    # The receipt prints (and signs) it: a malformed one is refused here, not at the bank's callback.
    payer_tax_code: TaxCode | None = Field(default=None, max_length=20)
    payer_address: str | None = Field(default=None, max_length=300)
    # Mã định danh khoản phải nộp (Circular 89/2026 art. 36), when the tax authority gives one; its exact format is
    # unverified, hence a generous pattern.
    tax_payment_id: str | None = Field(default=None, min_length=1, max_length=40, pattern=r"^[0-9A-Za-z][0-9A-Za-z.-]*$")
    issued_at: IsoDateTime | None = None
    due_date: IsoDate | None = None
    items: list[NoticeItemIn] = Field(min_length=1, max_length=50)
    total_vnd: StrictInt = Field(gt=0, le=MAX_AMOUNT_VND)

    @field_validator("payer_phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        return phones.normalise_mobile(v) if v else None

    @model_validator(mode="after")
    def _total_is_sum(self) -> "NoticeIn":
        if sum(i.amount_vnd for i in self.items) != self.total_vnd:
            raise RuleError(
                "TOTAL_MISMATCH", "Tổng tiền (total_vnd) không bằng tổng số tiền của các khoản nộp."
            )
        return self


class PropertyIn(_Strict):
    address: str = Field(default="", max_length=500)
    parcel_number: str | None = Field(default=None, max_length=50)
    map_sheet_number: str | None = Field(default=None, max_length=50)
    # The bounds on each branch: on the union pydantic would write them as unknown keywords ("gt") the schema ignores.
    area_m2: Annotated[StrictFloat, Field(gt=0, le=10**9)] | Annotated[StrictInt, Field(gt=0, le=10**9)] | None = None
    land_use_certificate: str | None = Field(default=None, max_length=100)


class NoticeBatchIn(_Strict):
    # Notice numbers unique across the list (no JSON Schema keyword says it); a dossier of a province without a
    # collecting unit in the data.
    __rules__ = ("NOTICE_DUPLICATED", "COLLECTING_UNIT_UNKNOWN")
    # The commune code's form depends on its code system: 5 digits in the statistics office's (gso).
    model_config = ConfigDict(json_schema_extra={
        "if": {"properties": {"commune_code_system": {"const": "gso"}}, "required": ["commune_code_system"]},
        "then": {"properties": {"commune_code": {"pattern": "^[0-9]{5}$"}}}})
    dossier_code: ProvincialDossierCode
    id_number: IdNumber
    commune_code: str = Field(min_length=1, max_length=10)
    commune_code_system: Literal["gso", "tax"]
    # Which statistics code list a gso code is from; omitted: today's list when the code is in it, else the
    # pre-2025 list (codes were reused in 2025, so a sender of pre-2025 codes should say so).
    commune_code_version: Literal["2025-07-01", "2025-06-30"] | None = None
    property: PropertyIn = PropertyIn()
    notices: list[NoticeIn] = Field(min_length=1, max_length=20)

    @field_validator("dossier_code")
    @classmethod
    def _dossier(cls, v: str) -> str:
        # Payable notices belong to a province's one-stop unit, and a collecting unit issues their receipts.
        unit_code_for(codes.province_agency_code(v))
        return v

    @model_validator(mode="after")
    def _unique_and_commune(self) -> "NoticeBatchIn":
        numbers = [n.notice_number for n in self.notices]
        if len(set(numbers)) != len(numbers):
            raise RuleError("NOTICE_DUPLICATED", "Một số thông báo xuất hiện nhiều lần trong cùng yêu cầu.")
        if self.commune_code_system == "gso" and not (self.commune_code.isdigit() and len(self.commune_code) == 5):
            raise InvalidValueError("COMMUNE_CODE_FORMAT", "Mã xã theo danh mục thống kê (gso) phải gồm 5 chữ số.")
        if self.commune_code_system == "tax" and not (self.commune_code.isascii() and self.commune_code.isdigit()):
            raise InvalidValueError("COMMUNE_CODE_FORMAT", "Mã xã của cơ quan thuế (tax) gồm từ 1 đến 10 chữ số.")
        if self.commune_code_system == "tax" and self.commune_code_version is not None:
            raise InvalidValueError("COMMUNE_CODE_VERSION_NOT_ALLOWED",
                                    "Phiên bản danh mục (commune_code_version) chỉ dùng với mã xã thống kê (gso).")
        return self


class StoredNotice(BaseModel):
    """A notice as stored in the dossier item. The payer's phone is kept sealed only (for the paid SMS; the
    reminders keep their own sealed copy)."""

    model_config = ConfigDict(extra="ignore")

    notice_number: str
    version: int
    payer_name: str
    payer_tax_code: str | None = None
    payer_address: str | None = None
    tax_payment_id: str | None = None
    payer_phone_sealed: str | None = None
    issued_at: str | None = None
    due_date: str | None = None
    items: list[dict]
    total_vnd: int
    content_hash: str
    paid_payment_id: str | None = None
    live_payment_id: str | None = None
    live_payment_expires_at: int | None = None

    def status(self, now_epoch: int) -> NoticeStatus:
        if self.paid_payment_id:
            return NoticeStatus.PAID
        if self.live_payment_id and (self.live_payment_expires_at or 0) > now_epoch:
            return NoticeStatus.IN_PAYMENT
        return NoticeStatus.PAYABLE

    def is_locked(self, now_epoch: int) -> bool:
        return self.status(now_epoch) != NoticeStatus.PAYABLE


class Dossier(BaseModel):
    model_config = ConfigDict(extra="ignore")

    dossier_code: str
    id_hash: str
    commune_code: str
    commune_code_system: str
    property: dict
    notices: dict[str, StoredNotice]
    rev: int = 0
    updated_at: str = ""
    # M10: commune_code/commune_code_system are as received; the current statistics commune it was mapped to:
    commune_code_version: str | None = None
    standard_commune_code: str | None = None
    standard_commune_version: str | None = None
    commune_mapped_by: str | None = None
    test: bool = False  # a dossier of the integration self-test (never from a partner)

    def commune_view(self) -> dict:
        return {"commune_code": self.commune_code, "commune_code_system": self.commune_code_system,
                "commune_code_version": self.commune_code_version,
                "standard_commune_code": self.standard_commune_code,
                "standard_commune_version": self.standard_commune_version, "mapped_by": self.commune_mapped_by}


class DossierConflictError(Exception):
    """A batch that cannot be applied without overwriting a locked notice or another citizen's dossier."""

    def __init__(self, code: str, message: str, notice_number: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.notice_number = code, message, notice_number


def notice_content_hash(n: NoticeIn) -> str:
    import hashlib
    import json

    payload = n.model_dump(mode="json", exclude={"payer_phone"})
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _to_stored(n: NoticeIn, seal) -> StoredNotice:
    return StoredNotice(
        notice_number=n.notice_number,
        version=n.version,
        payer_name=n.payer_name,
        payer_tax_code=n.payer_tax_code,
        payer_address=n.payer_address,
        tax_payment_id=n.tax_payment_id,
        payer_phone_sealed=seal(n.payer_phone) if n.payer_phone and seal else None,
        issued_at=n.issued_at.isoformat() if n.issued_at else None,
        due_date=n.due_date.isoformat() if n.due_date else None,
        items=[i.model_dump() for i in n.items],
        total_vnd=n.total_vnd,
        content_hash=notice_content_hash(n),
    )


def _accepts(current: StoredNotice | None, n: NoticeIn, now_epoch: int) -> bool:
    """Whether notice `n` replaces what is stored (False: an idempotent or stale resend); a conflict raises."""
    if current is None:
        return True
    if n.version == current.version:
        if notice_content_hash(n) != current.content_hash:
            raise DossierConflictError(
                "NOTICE_VERSION_CONFLICT",
                f"Thông báo {n.notice_number} phiên bản {n.version} đã được nhận với nội dung khác; "
                "hãy gửi phiên bản mới hơn.",
                n.notice_number,
            )
        return False
    if n.version < current.version:
        return False
    if current.is_locked(now_epoch):
        raise DossierConflictError(
            "NOTICE_LOCKED",
            f"Thông báo {n.notice_number} đã được thanh toán hoặc đang trong quá trình thanh toán; "
            "không thể thay thế.",
            n.notice_number,
        )
    return True


def merge_batch(
    existing: Dossier | None, batch: NoticeBatchIn, id_hash: str, now_epoch: int, now_iso: str,
    commune: ResolvedCommune | None = None, test: bool = False, seal=None
) -> tuple[Dossier, list[NoticeIn], list[NoticeIn]]:
    """Apply the versioning rules; return (new dossier, accepted notices, unchanged notices).

    Same version and same content: unchanged. Same version, other content: conflict (a version is immutable).
    Lower version: unchanged (a late, stale resend never overwrites a newer notice). Higher version: replaces the
    notice unless it is locked (paid or in payment). Any conflict refuses the whole batch: nothing is half-applied.
    ``seal`` (text -> sealed text) keeps the payer's phone encrypted at rest.
    """
    if existing is not None and existing.id_hash != id_hash:
        raise DossierConflictError(
            "DOSSIER_ID_MISMATCH", "Hồ sơ đã tồn tại với số giấy tờ tùy thân khác; không thể ghi đè."
        )
    notices = dict(existing.notices) if existing else {}
    accepted: list[NoticeIn] = []
    unchanged: list[NoticeIn] = []
    for n in batch.notices:
        if _accepts(notices.get(n.notice_number), n, now_epoch):
            notices[n.notice_number] = _to_stored(n, seal)
            accepted.append(n)
        else:
            unchanged.append(n)
    if existing is not None and existing.test != test:
        raise DossierConflictError("DOSSIER_ID_MISMATCH", "Hồ sơ đã tồn tại; không thể ghi đè.")
    fresh = bool(accepted) or existing is None
    dossier = Dossier(
        dossier_code=batch.dossier_code,
        id_hash=id_hash,
        commune_code=batch.commune_code if fresh else existing.commune_code,
        commune_code_system=batch.commune_code_system if fresh else existing.commune_code_system,
        property=batch.property.model_dump(exclude_none=True) if fresh else existing.property,
        notices=notices,
        rev=(existing.rev if existing else 0) + (1 if accepted else 0),
        updated_at=now_iso if fresh else existing.updated_at,
        test=test,
        **(_commune_fields(commune) if fresh else _commune_fields_of(existing)),
    )
    return dossier, accepted, unchanged


def _commune_fields(commune: ResolvedCommune | None) -> dict:
    if commune is None:
        return {}
    return {"commune_code_version": commune.received_version, "standard_commune_code": commune.code,
            "standard_commune_version": commune.version, "commune_mapped_by": commune.mapped_by}


def _commune_fields_of(existing: Dossier) -> dict:
    return {k: getattr(existing, k) for k in ("commune_code_version", "standard_commune_code",
                                              "standard_commune_version", "commune_mapped_by")}
