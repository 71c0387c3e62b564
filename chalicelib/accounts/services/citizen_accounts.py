"""M9 citizen accounts created by a one-stop officer, and the citizen's own side: sign-in, password, profile,
phone change and payment history.

Creation, in the officer's order: search by ID number (an existing account is reported and nothing is created);
upload the scan of the ID card straight to S3 (a presigned POST: see `scan_upload`); download the request form; send
the OTP to the citizen's phone; create with the newest code's verification token. The ID number is never stored:
only its keyed hash (the uniqueness key, written conditionally) and its last three digits.
"""
from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.accounts.context import AccountServices, Caller
from chalicelib.accounts.domain import (
    ScanKind,
    check_new_password,
    detect_scan_kind,
    name_key,
    scan_kind_of_name,
    temporary_password,
)
from chalicelib.accounts.ports import CitizenAccount
from chalicelib.accounts.services.officers import creator_units
from chalicelib.core import codes, identity, phones
from chalicelib.core.clock import VN_TZ, epoch
from chalicelib.core.errors import (
    AppError,
    FieldError,
    conflict,
    forbidden,
    not_found,
    unauthorized,
    validation_error,
)
from chalicelib.core.fields import (
    AgencyCode,
    Email,
    IdNumber,
    IdNumberText,
    MobilePhone,
    PersonName,
    TaxCode,
)
from chalicelib.core.masking import mask_phone
from chalicelib.core.parsing import parse
from chalicelib.core.ports import AlreadyExistsError, StaleRecordError
from chalicelib.core.validation import InvalidValueError
from chalicelib.otp import services as otp_cases
from chalicelib.otp.domain import OtpPurpose
from chalicelib.otp.ports import TokenRejectedError

log = logging.getLogger(__name__)

CITIZEN = "citizen"
SCAN_PREFIX = "citizen-scans/"
_SCAN_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
CONTENT_TYPES = {ScanKind.PDF: "application/pdf", ScanKind.DOC: "application/msword",
                 ScanKind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
# Argon2 verification of this hash takes as long as a real one: an unknown ID number is not told apart by timing.
_DUMMY_PASSWORD = "khong-phai-mat-khau-that-0"


# --- requests ------------------------------------------------------------------------------------------------------

class IdNumberIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id_number: IdNumber


class CitizenDataIn(BaseModel):
    """What the officer types for the citizen (also what the request form shows)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id_number: str = Field(description="12-digit CCCD/personal ID (digits 4-6 must agree with date of birth and "
                           "sex) or 9-digit CMND.")
    full_name: PersonName = Field(min_length=1, max_length=150)
    date_of_birth: date
    sex: Literal["male", "female"] | None = Field(default=None, description="Required with a 12-digit number.")
    phone: MobilePhone = Field(description="The citizen's own mobile phone.")
    email: str | None = None
    unit_code: AgencyCode = Field(description="The officer's one-stop unit creating the account.")

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        return None if v in (None, "") else phones.validate_email(v)

    @field_validator("date_of_birth")
    @classmethod
    def _dob(cls, v: date) -> date:
        if v < date(1900, 1, 1) or v > date.today():
            raise InvalidValueError("DATE_OF_BIRTH_INVALID", "Ngày sinh không hợp lệ.")
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
    file_name: str = Field(min_length=5, max_length=200, description="Ends in .pdf, .doc or .docx.")

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
    created_from: date | None = None
    created_to: date | None = None


class SignInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: str = Field(description="The ID number is the user name.")
    password: str = Field(min_length=1, max_length=128)


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=1, max_length=128)


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    email: Email | None = None
    tax_code: TaxCode | None = Field(default=None, description="10 or 13-digit tax code, or the 12-digit personal ID "
                                 "number (an individual's tax code since 1 July 2025).")


class PhoneChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    phone: MobilePhone
    verification_token: str = Field(min_length=16, max_length=200, description="From POST /v1/otp/verify "
                                    "(purpose phone_change, subject = your account id, phone = the new phone).")


# --- views ---------------------------------------------------------------------------------------------------------

def account_view(a: CitizenAccount) -> dict:
    return {
        "account_id": a.account_id, "full_name": a.full_name, "date_of_birth": a.date_of_birth, "sex": a.sex,
        "phone": a.phone, "email": a.email, "tax_code": a.tax_code, "id_number_masked": "*********" + a.id_last3,
        "unit_code": a.unit_code, "created_by": a.created_by, "created_at": a.created_at, "status": a.status,
        "must_change_password": a.must_change_password,
    }


# --- officer: search, form, scan, create, list ---------------------------------------------------------------------

def search_by_id(svc: AccountServices, caller: Caller, body: dict) -> dict:
    creator_units(svc, caller)
    req = parse(IdNumberIn, body)
    exists = svc.accounts.account_id_for(svc.keys.id_hash(req.id_number)) is not None
    message = ("Số định danh này đã có tài khoản trên Cổng Dịch vụ công quốc gia; không tạo tài khoản mới."
               if exists else "Chưa có tài khoản với số định danh này; có thể tạo tài khoản mới.")
    return {"exists": exists, "message": message}


def request_form(svc: AccountServices, caller: Caller, body: dict) -> bytes:
    """The account request form (Phiếu đề nghị tạo tài khoản) for the citizen to check before creation."""
    _, units = creator_units(svc, caller, _unit_of(body))
    req = parse(CitizenDataIn, body)
    unit = next(u for u in units if u.code == req.unit_code)
    from chalicelib.accounts.adapters.account_form import render_account_request_form

    return render_account_request_form({
        "unit_name": unit.name, "unit_code": unit.code, "full_name": req.full_name,
        "date_of_birth": req.date_of_birth.strftime("%d/%m/%Y"), "sex": req.sex, "id_number": req.id_number,
        "phone": req.phone, "email": req.email, "created_at": svc.clock.now(),
    })


def scan_upload(svc: AccountServices, caller: Caller, body: dict) -> dict:
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


def _checked_scan(svc: AccountServices, caller: Caller, scan_id: str, unit_code: str) -> str:
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


def create_account(svc: AccountServices, caller: Caller, body: dict) -> dict:
    unit_code = _unit_of(body)
    creator_units(svc, caller, unit_code)
    req = parse(CitizenAccountIn, body)
    id_hash = svc.keys.id_hash(req.id_number)
    if svc.accounts.account_id_for(id_hash) is not None:
        raise _exists()
    scan_key = _checked_scan(svc, caller, req.scan_id, req.unit_code)
    claim = otp_cases.token_claim(svc, req.phone, OtpPurpose.ACCOUNT_CREATION, req.id_number, req.verification_token)
    password = temporary_password()
    account = CitizenAccount(
        account_id=svc.new_id(), id_hash=id_hash, id_last3=req.id_number[-3:], full_name=req.full_name,
        date_of_birth=req.date_of_birth.isoformat(), sex=req.sex, phone=req.phone, email=req.email,
        password_hash=svc.passwords.hash(password), must_change_password=True, created_by=caller.subject or "",
        unit_code=req.unit_code, created_at=svc.clock.now().isoformat(), scan_key=scan_key,
    )
    try:
        svc.accounts.create(account, claim)
    except AlreadyExistsError:
        raise _exists() from None
    except TokenRejectedError:
        raise otp_cases.token_rejected() from None
    svc.sms.send_sms(account.phone, (
        "Tài khoản Cổng Dịch vụ công quốc gia của bạn đã được tạo. Tên đăng nhập: số CCCD/CMND của bạn. "
        f"Mật khẩu tạm thời: {password} . Bạn phải đổi mật khẩu khi đăng nhập lần đầu."))
    svc.count("CitizenAccountsCreated")
    log.info("citizen account created", extra={"account_id": account.account_id, "unit_code": account.unit_code})
    return {k: v for k, v in account_view(account).items() if k != "phone"} | {"phone_masked": mask_phone(req.phone)}


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


def list_accounts(svc: AccountServices, caller: Caller, body: dict) -> dict:
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

def check_otp_target(svc: AccountServices, caller: Caller, phone: str, purpose: OtpPurpose, subject: str) -> None:
    """SMS cost money and reach people: a code goes only where its purpose allows."""
    if purpose == OtpPurpose.ACCOUNT_CREATION:
        creator_units(svc, caller)
        return
    account = _me(svc, caller)
    if purpose == OtpPurpose.BANK_LINK and phone != account.phone:
        raise AppError("OTP_PHONE_NOT_ACCOUNT_PHONE", "Mã OTP liên kết chỉ được gửi đến số điện thoại của tài khoản.",
                       422, "Dữ liệu không hợp lệ")
    if purpose == OtpPurpose.PHONE_CHANGE:
        if subject != account.account_id:
            raise forbidden("OTP_SUBJECT_FORBIDDEN", "Mã OTP này không thuộc tài khoản của bạn.")
        if phone == account.phone:
            raise AppError("PHONE_UNCHANGED", "Số điện thoại mới trùng với số điện thoại hiện tại.", 422,
                           "Dữ liệu không hợp lệ")


# --- citizen: sign-in, password, profile, phone, history -----------------------------------------------------------

def sign_in(svc: AccountServices, body: dict) -> dict:
    req = parse(SignInIn, body)
    refused = unauthorized("SIGN_IN_FAILED", "Số định danh hoặc mật khẩu không đúng.")
    try:
        id_number = identity.normalise_id_number(req.id_number)
    except InvalidValueError:
        raise refused from None
    account_id = svc.accounts.account_id_for(svc.keys.id_hash(id_number))
    account = svc.accounts.get_account(account_id) if account_id else None
    now = epoch(svc.clock.now())
    s = svc.settings
    if account is not None and account.sign_in_failures >= s.max_sign_in_failures \
            and now < account.last_failure_at + s.sign_in_lockout_s:
        seconds = account.last_failure_at + s.sign_in_lockout_s - now
        raise otp_cases.too_many("SIGN_IN_LOCKED", seconds, "Bạn đã nhập sai mật khẩu quá số lần cho phép.")
    if account is None:
        svc.passwords.verify(_dummy_hash(svc), req.password)
        raise refused
    if account.status != "active" or not svc.passwords.verify(account.password_hash, req.password):
        # A lock-out that has run its course starts a fresh count.
        stale = account.sign_in_failures >= s.max_sign_in_failures
        svc.accounts.record_sign_in_failure(account.account_id, now, reset=stale)
        svc.count("SignInRefused")
        raise refused
    if account.sign_in_failures:
        _update(svc, account, replace(account, sign_in_failures=0, last_failure_at=0, rev=account.rev + 1))
    return _token_answer(svc, account)


_DUMMY_HASHES: dict[int, str] = {}


def _dummy_hash(svc: AccountServices) -> str:
    """A real hash with the hasher's parameters, made once per process (not per request)."""
    key = id(svc.passwords)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = svc.passwords.hash(_DUMMY_PASSWORD)
    return _DUMMY_HASHES[key]


def _token_answer(svc: AccountServices, account: CitizenAccount) -> dict:
    s = svc.settings
    if account.must_change_password:
        # No role at all: every endpoint but the password change refuses this token.
        token = svc.tokens.issue(account.account_id, [], s.password_change_token_ttl_s)
        return {"access_token": token, "token_type": "Bearer", "expires_in": s.password_change_token_ttl_s,
                "must_change_password": True}
    token = svc.tokens.issue(account.account_id, [CITIZEN], s.citizen_token_ttl_s)
    return {"access_token": token, "token_type": "Bearer", "expires_in": s.citizen_token_ttl_s,
            "must_change_password": False}


def _account_of(svc: AccountServices, caller: Caller) -> CitizenAccount:
    if caller.subject is None:
        raise unauthorized("TOKEN_MISSING", "Thiếu mã xác thực. Vui lòng đăng nhập để tiếp tục.")
    account = svc.accounts.get_account(caller.subject)
    if account is None:
        raise not_found("ACCOUNT_NOT_FOUND", "Không tìm thấy tài khoản công dân của bạn.")
    return account


def require_citizen(caller: Caller) -> str:
    if caller.subject is None:
        raise unauthorized("TOKEN_MISSING", "Thiếu mã xác thực. Vui lòng đăng nhập để tiếp tục.")
    if not caller.has(CITIZEN):
        if not caller.roles:
            raise _must_change()
        raise forbidden("ROLE_FORBIDDEN", "Chức năng này chỉ dành cho công dân.")
    return caller.subject


def _must_change() -> AppError:
    return forbidden("PASSWORD_CHANGE_REQUIRED", "Bạn phải đổi mật khẩu tạm thời trước khi sử dụng chức năng này.")


def _me(svc: AccountServices, caller: Caller) -> CitizenAccount:
    require_citizen(caller)
    account = _account_of(svc, caller)
    if account.must_change_password:
        raise _must_change()
    return account


def change_password(svc: AccountServices, caller: Caller, body: dict) -> dict:
    """Allowed with the password-change-only token from a first sign-in, or a citizen token."""
    req = parse(PasswordChangeIn, body)
    if caller.subject is not None and caller.roles and not caller.has(CITIZEN):
        raise forbidden("ROLE_FORBIDDEN", "Chức năng này chỉ dành cho công dân.")
    account = _account_of(svc, caller)
    if not svc.passwords.verify(account.password_hash, req.current_password):
        svc.accounts.record_sign_in_failure(account.account_id, epoch(svc.clock.now()))
        raise AppError("CURRENT_PASSWORD_WRONG", "Mật khẩu hiện tại không đúng.", 422, "Dữ liệu không hợp lệ")
    try:
        new = check_new_password(req.new_password)
    except InvalidValueError as exc:
        raise validation_error([FieldError("new_password", exc.code, exc.message)]) from None
    if new == req.current_password:
        raise validation_error([FieldError("new_password", "PASSWORD_UNCHANGED",
                                           "Mật khẩu mới phải khác mật khẩu hiện tại.")])
    after = replace(account, password_hash=svc.passwords.hash(new), must_change_password=False,
                    sign_in_failures=0, last_failure_at=0, rev=account.rev + 1)
    _update(svc, account, after)
    return _token_answer(svc, after)


def _update(svc: AccountServices, before: CitizenAccount, after: CitizenAccount, claim=None) -> None:
    try:
        svc.accounts.update(after, before.rev, claim)
    except StaleRecordError:
        raise conflict("ACCOUNT_CHANGED", "Tài khoản vừa được thay đổi, vui lòng thử lại.") from None
    except TokenRejectedError:
        raise otp_cases.token_rejected() from None


def profile(svc: AccountServices, caller: Caller) -> dict:
    return profile_of(svc, _me(svc, caller))


def update_profile(svc: AccountServices, caller: Caller, body: dict) -> dict:
    account = _me(svc, caller)
    req = parse(ProfileIn, body)
    changes: dict = {}
    if "email" in req.model_fields_set:
        changes["email"] = req.email
    if "tax_code" in req.model_fields_set:
        if req.tax_code and len(req.tax_code) == 12 and svc.keys.id_hash(req.tax_code) != account.id_hash:
            raise validation_error([FieldError("tax_code", "TAX_CODE_NOT_OWN_ID",
                                               "Mã số thuế 12 chữ số phải là số định danh cá nhân của chính bạn.")])
        changes["tax_code"] = req.tax_code
    if changes:
        after = replace(account, rev=account.rev + 1, **changes)
        _update(svc, account, after)
        account = after
    return profile_of(svc, account)


def profile_of(svc: AccountServices, account: CitizenAccount) -> dict:
    from chalicelib.accounts.services.bank_links import link_view

    link = svc.links.get_link(account.account_id)
    return account_view(account) | {"bank_link": link_view(link) if link else None}


def change_phone(svc: AccountServices, caller: Caller, body: dict) -> dict:
    account = _me(svc, caller)
    req = parse(PhoneChangeIn, body)
    if req.phone == account.phone:
        raise AppError("PHONE_UNCHANGED", "Số điện thoại mới trùng với số điện thoại hiện tại.", 422,
                       "Dữ liệu không hợp lệ")
    claim = otp_cases.token_claim(svc, req.phone, OtpPurpose.PHONE_CHANGE, account.account_id,
                                  req.verification_token)
    after = replace(account, phone=req.phone, rev=account.rev + 1)
    _update(svc, account, after, claim)
    log.info("citizen phone changed", extra={"account_id": account.account_id})
    return profile_of(svc, after)


def transactions(svc: AccountServices, caller: Caller, limit: str | None, cursor: str | None) -> dict:
    """The citizen's payments, newest first, with their states and receipts; paginated by an opaque cursor."""
    sub = require_citizen(caller)
    try:
        size = int(limit) if limit not in (None, "") else 20
    except ValueError:
        size = 0
    if not 1 <= size <= 100:
        raise validation_error([FieldError("limit", "LIMIT_INVALID", "Số bản ghi mỗi trang phải từ 1 đến 100.")])
    try:
        items, next_cursor = svc.history.payments_of(sub, size, cursor)
    except ValueError:
        raise validation_error([FieldError("cursor", "CURSOR_INVALID", "Con trỏ phân trang không hợp lệ.")]) from None
    now = epoch(svc.clock.now())
    out = []
    for p in items:
        view = {"payment_id": p.payment_id, "state": p.effective_state(now).value, "amount_vnd": p.amount_vnd,
                "dossier_code": p.dossier_code, "notice_number": p.notice_number, "bank_code": p.bank_code,
                "created_at": p.created_at}
        if p.paid_at:
            view["paid_at"] = p.paid_at
        if p.receipt_id:
            view["receipt_id"] = p.receipt_id
            view["receipt_url"] = f"/v1/receipts/{p.receipt_id}"
        out.append(view)
    return {"items": out, "next_cursor": next_cursor}
