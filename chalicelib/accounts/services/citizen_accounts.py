"""M9 citizen accounts created by a one-stop officer (the citizen's own side is ``accounts.services.citizens``).

Creation, in the officer's order: search by ID number (an existing account is reported and nothing is created);
upload the scan of the ID card straight to S3 (a presigned POST: see `scan_upload`); download the request form; send
the OTP to the citizen's phone; create with the newest code's verification token. The ID number is never stored:
only its keyed hash (the uniqueness key, written conditionally, and the citizen's user name in the user pool) and
its last three digits. The pool user is created with the temporary password and no message of its own (the portal's
SMS, written with the account, carries it); first sign-in answers the new-password challenge.
"""
from __future__ import annotations

import logging
import re
from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.accounts.domain import ScanKind, detect_scan_kind, scan_kind_of_name, temporary_password
from chalicelib.accounts.ports import AccountsContext, Caller, CitizenAccount
from chalicelib.accounts.services.officers import creator_units, unit_view
from chalicelib.accounts.services.pool_users import create_pool_user, discard_pool_user
from chalicelib.accounts.services.views import account_view
from chalicelib.core import codes, identity, phones, tallies
from chalicelib.core.clock import VN_TZ, epoch
from chalicelib.core.errors import AppError, conflict, forbidden
from chalicelib.core.fields import (
    AgencyCode,
    EmailOrBlank,
    IdNumber,
    IdNumberForm,
    IdNumberText,
    IsoDate,
    MobilePhone,
    PersonName,
)
from chalicelib.core.masking import mask_phone
from chalicelib.core.names import name_key
from chalicelib.core.parsing import parse
from chalicelib.core.ports import AlreadyExistsError
from chalicelib.core.validation import InvalidValueError, RuleError
from chalicelib.otp import services as otp_cases
from chalicelib.otp.domain import OtpPurpose
from chalicelib.otp.ports import TokenRejectedError
from chalicelib.outbox import domain as outbox

log = logging.getLogger(__name__)

SCAN_PREFIX = "citizen-scans/"
_SCAN_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
CONTENT_TYPES = {ScanKind.PDF: "application/pdf", ScanKind.DOC: "application/msword",
                 ScanKind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
# --- requests ------------------------------------------------------------------------------------------------------

class IdNumberIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id_number: IdNumber


class CitizenDataIn(BaseModel):
    """What the officer types for the citizen (also what the request form shows)."""

    # Rules beyond the schema: digits 4-6 of the ID number against the date of birth and sex, a date of birth not
    # after today. A 12-digit number needs the sex (that the schema says, with if/then).
    __rules__ = ("ID_NUMBER_BIRTH_YEAR", "ID_NUMBER_BIRTH_MISMATCH", "ID_NUMBER_SEX_MISMATCH", "DATE_OF_BIRTH_INVALID")
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "if": {"properties": {"id_number": {"pattern": "^[0-9]{12}$"}}, "required": ["id_number"]},
        "then": {"properties": {"sex": {"enum": ["male", "female"]}}, "required": ["sex"]}})
    id_number: IdNumberForm = Field(description="12-digit CCCD/personal ID (digits 4-6 must agree with date of birth "
                                    "and sex) or 9-digit CMND.")
    full_name: PersonName = Field(min_length=1, max_length=150)
    date_of_birth: IsoDate
    sex: Literal["male", "female"] | None = Field(default=None, description="Required with a 12-digit number.")
    phone: MobilePhone = Field(description="The citizen's own mobile phone.")
    email: EmailOrBlank | None = None
    unit_code: AgencyCode = Field(description="The officer's one-stop unit creating the account.")

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return None if v in (None, "") else phones.validate_email(v)

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, v: date) -> date:
        if v < date(1900, 1, 1) or v > date.today():
            raise RuleError("DATE_OF_BIRTH_INVALID", "Ngày sinh không hợp lệ.")
        return v

    @model_validator(mode="after")
    def _id_agrees(self) -> "CitizenDataIn":
        number = identity.normalise_id_number(self.id_number)
        if len(number) == 12 and self.sex is None:
            raise InvalidValueError("SEX_REQUIRED", "Vui lòng chọn giới tính để đối chiếu với số CCCD.")
        self.id_number = identity.validate_id_number(number, self.date_of_birth, self.sex)
        return self


class CitizenAccountIn(CitizenDataIn):
    scan_id: str = Field(description="From POST /v1/officers/citizen-accounts/scans, after the upload to S3.")
    verification_token: str = Field(min_length=16, max_length=200,
                                    description="From POST /v1/otp/verify (purpose account_creation, subject = "
                                    "the ID number, phone = the citizen's phone).")


class ScanUploadIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    unit_code: AgencyCode
    file_name: str = Field(min_length=5, max_length=200, description="Ends in .pdf, .doc or .docx.",
                           json_schema_extra={"pattern": r"\.(?:[Pp][Dd][Ff]|[Dd][Oo][Cc][Xx]?)$"})

    @field_validator("file_name")
    @classmethod
    def _name(cls, v: str) -> str:
        scan_kind_of_name(v)
        return v


class AccountQueryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, max_length=150)
    phone: MobilePhone | None = None
    id_number: IdNumberText | None = None
    created_by: str | None = Field(default=None, max_length=128, description="The creating officer's user id.")
    unit_code: AgencyCode | None = None
    created_from: IsoDate | None = None
    created_to: IsoDate | None = None


# --- views ---------------------------------------------------------------------------------------------------------

# --- officer: search, form, scan, create, list ---------------------------------------------------------------------

def officer_units(svc: AccountsContext, caller: Caller) -> dict:
    """The one-stop units this officer may create accounts for, by code (what the desk offers to choose from)."""
    _, units = creator_units(svc, caller)
    return {"items": [unit_view(u) for u in units]}


def search_by_id(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    creator_units(svc, caller)
    req = parse(IdNumberIn, body)
    exists = svc.accounts.account_id_for(svc.keys.id_hash(req.id_number)) is not None
    message = ("Số định danh này đã có tài khoản trên Cổng Dịch vụ công quốc gia; không tạo tài khoản mới."
               if exists else "Chưa có tài khoản với số định danh này; có thể tạo tài khoản mới.")
    return {"exists": exists, "message": message}


def request_form(svc: AccountsContext, caller: Caller, body: dict) -> bytes:
    """The account request form (Phiếu đề nghị tạo tài khoản) for the citizen to check before creation."""
    _, units = creator_units(svc, caller, _unit_of(body))
    req = parse(CitizenDataIn, body)
    unit = next(u for u in units if u.code == req.unit_code)
    return svc.account_form({
        "unit_name": unit.name, "unit_code": unit.code, "full_name": req.full_name,
        "date_of_birth": req.date_of_birth.strftime("%d/%m/%Y"), "sex": req.sex, "id_number": req.id_number,
        "phone": req.phone, "email": req.email, "created_at": svc.clock.now(),
    })


def scan_upload(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    """Step 1 of 2 of the scan: a presigned S3 POST the browser sends the file to (the file never passes through
    the API: a 5 MB file is ~6.7 MB in base64, over Lambda's 6 MB synchronous payload limit). The policy caps the
    size, forces encryption and binds the object to this officer and unit; creation checks the bytes."""
    creator_units(svc, caller, _unit_of(body))
    req = parse(ScanUploadIn, body)
    kind = scan_kind_of_name(req.file_name)
    scan_id = svc.new_id()
    limits = svc.settings
    form = svc.files.upload_form(
        SCAN_PREFIX + scan_id, CONTENT_TYPES[kind],
        {"officer": caller.subject or "", "unit": req.unit_code, "kind": kind.value},
        limits.scan_max_bytes, limits.scan_upload_expires_s)
    return {"scan_id": scan_id, "upload": form, "max_bytes": limits.scan_max_bytes,
            "expires_in_s": limits.scan_upload_expires_s}


def _checked_scan(svc: AccountsContext, caller: Caller, scan_id: str, unit_code: str) -> str:
    """The scan's key once its bytes are proved to be a PDF/DOC/DOCX of at most the limit, stored encrypted, and
    uploaded by this officer for this unit. A refused file is deleted."""
    not_found_error = AppError("SCAN_NOT_FOUND", "Không tìm thấy tệp ảnh chụp giấy tờ đã tải lên. Vui lòng tải lại.",
                               422, "Dữ liệu không hợp lệ")
    if not isinstance(scan_id, str) or not _SCAN_ID.fullmatch(scan_id):
        raise not_found_error
    key = SCAN_PREFIX + scan_id
    limit = svc.settings.scan_max_bytes
    scan = svc.files.fetch(key, limit)
    if scan is None or scan.metadata.get("officer") != caller.subject or scan.metadata.get("unit") != unit_code:
        raise not_found_error
    if scan.size > limit or scan.head is None:
        svc.files.delete(key)
        raise AppError("SCAN_TOO_LARGE", f"Tệp ảnh chụp giấy tờ vượt quá {limit // (1024 * 1024)} MB. Vui lòng tải "
                       "tệp nhỏ hơn.", 413, "Tệp quá lớn")
    claimed = scan.metadata.get("kind")
    if detect_scan_kind(scan.head) is None or detect_scan_kind(scan.head).value != claimed:
        svc.files.delete(key)
        raise AppError("SCAN_CONTENT_INVALID", "Nội dung tệp không phải tài liệu PDF, DOC hoặc DOCX đúng với phần mở "
                       "rộng của tệp. Vui lòng tải lại bản quét hai mặt giấy tờ.", 422, "Dữ liệu không hợp lệ")
    if scan.encryption not in ("AES256", "aws:kms", "aws:kms:dsse"):
        log.error("scan stored without server-side encryption")
        raise AppError("SCAN_NOT_ENCRYPTED", "Tệp chưa được lưu trữ an toàn. Vui lòng tải lại.", 500, "Lỗi hệ thống")
    return key


def create_account(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    unit_code = _unit_of(body)
    creator_units(svc, caller, unit_code)
    req = parse(CitizenAccountIn, body)
    id_hash = svc.keys.id_hash(req.id_number)
    if svc.accounts.account_id_for(id_hash) is not None:
        raise _exists()
    scan_key = _checked_scan(svc, caller, req.scan_id, req.unit_code)
    claim = otp_cases.token_claim(svc, req.phone, OtpPurpose.ACCOUNT_CREATION, req.id_number, req.verification_token)
    if not otp_cases.token_usable(svc, claim):  # before the pool user is made
        raise otp_cases.token_rejected()
    password, account_id = temporary_password(), svc.new_id()
    try:
        created = create_pool_user(
            svc, id_hash, lambda: svc.users.create_citizen(id_hash, password, req.phone, {"account_id": account_id}),
            lambda: svc.accounts.account_id_for(id_hash) is not None)
    except AlreadyExistsError:
        raise _exists() from None
    account = _account(svc, caller, req, account_id, id_hash, created.sub, scan_key)
    hours = svc.settings.sign_in.temporary_password_ttl_s // 3600
    welcome = outbox.sms(account.phone, (
        "Tài khoản Cổng Dịch vụ công quốc gia của bạn đã được tạo. Tên đăng nhập: số CCCD/CMND của bạn. "
        f"Mật khẩu tạm thời: {password} (có hiệu lực {hours} giờ). Bạn phải đổi mật khẩu khi đăng nhập lần đầu."))
    try:
        # The password SMS and the unit's registration figures are written with the account.
        svc.accounts.create(account, claim, [welcome], _registered(account))
    except (AlreadyExistsError, TokenRejectedError) as exc:
        discard_pool_user(svc, id_hash)
        raise (_exists() if isinstance(exc, AlreadyExistsError) else otp_cases.token_rejected()) from None
    svc.count("CitizenAccountsCreated")
    log.info("citizen account created", extra={"account_id": account.account_id, "unit_code": account.unit_code})
    return {k: v for k, v in account_view(account).items() if k != "phone"} | {"phone_masked": mask_phone(req.phone)}


def _account(svc: AccountsContext, caller: Caller, req: CitizenAccountIn, account_id: str, id_hash: str, sub: str,
             scan_key: str) -> CitizenAccount:
    now = svc.clock.now()
    return CitizenAccount(
        account_id=account_id, id_hash=id_hash, id_last3=req.id_number[-3:], full_name=req.full_name,
        date_of_birth=req.date_of_birth.isoformat(), sex=req.sex, phone=req.phone, email=req.email,
        must_change_password=True, created_by=caller.subject or "", unit_code=req.unit_code,
        created_at=now.isoformat(), scan_key=scan_key, sub=sub,
        temp_password_expires_at=epoch(now) + svc.settings.sign_in.temporary_password_ttl_s)


def _registered(account: CitizenAccount) -> list[tallies.Tally]:
    """The report tally of a new account: its unit and creating officer, on its day (M9: units report
    registration results). An account is never refused for the sake of a report figure."""
    try:
        return [tallies.account_created(account.unit_code, account.created_by, account.created_at)]
    except ValueError:
        log.error("account not tallied for reports", extra={"unit_code": account.unit_code})
        return []


def _exists() -> AppError:
    return conflict("ACCOUNT_ALREADY_EXISTS",
                    "Số định danh này đã có tài khoản trên Cổng Dịch vụ công quốc gia; không tạo tài khoản mới.")


def _unit_of(body) -> str | None:
    """The unit is checked against the officer's units before anything else is validated or read."""
    raw = body.get("unit_code") if isinstance(body, dict) else None
    try:
        return codes.validate_agency_code(raw) if isinstance(raw, str) else None
    except InvalidValueError:
        return None


def list_accounts(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    """Accounts created in the officer's own one-stop units (never another unit's), newest first."""
    _, units = creator_units(svc, caller)
    req = parse(AccountQueryIn, body)
    mine = [u.code for u in units]
    if req.unit_code is not None and req.unit_code not in mine:
        raise forbidden("UNIT_FORBIDDEN", "Bạn chỉ được xem tài khoản do đơn vị mình tạo.")
    # gsi1sk is "<created_at>#<id>": "0" sorts before and "~" after any timestamp (DynamoDB refuses empty keys).
    start = datetime.combine(req.created_from, time.min, VN_TZ).isoformat() if req.created_from else "0"
    end = (datetime.combine(req.created_to + timedelta(days=1), time.min, VN_TZ).isoformat()
           if req.created_to else "~")
    wanted_name = name_key(req.name) if req.name else None
    id_hash = svc.keys.id_hash(req.id_number) if req.id_number else None
    found = []
    for unit in [req.unit_code] if req.unit_code else mine:
        for a in svc.accounts.list_by_unit(unit, start, end):
            if wanted_name and wanted_name not in name_key(a.full_name):
                continue
            if (req.phone and a.phone != req.phone) or (id_hash and a.id_hash != id_hash):
                continue
            if req.created_by and a.created_by != req.created_by:
                continue
            found.append(a)
    found.sort(key=lambda a: a.created_at, reverse=True)
    return {"items": [account_view(a) for a in found[:500]], "truncated": len(found) > 500}


# --- OTP targets: who may receive a code for what -------------------------------------------------------------------

# --- citizen: sign-in, password, profile, phone, history -----------------------------------------------------------
