"""The citizen's own side of an account (M7, M9): sign-in with the temporary password and its forced change,
profile and tax code, phone change by OTP, and the payment history."""
from __future__ import annotations

from dataclasses import replace

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.accounts.domain import check_new_password
from chalicelib.accounts.ports import AccountsContext, Caller, CitizenAccount
from chalicelib.accounts.services.views import account_view
from chalicelib.core import identity
from chalicelib.core.clock import epoch
from chalicelib.core.errors import (
    AppError,
    FieldError,
    conflict,
    forbidden,
    not_found,
    rule_error,
    unauthorized,
    validation_error,
)
from chalicelib.core.fields import Email, IdNumberForm, MobilePhone, TaxCode
from chalicelib.core.parsing import parse
from chalicelib.core.ports import StaleRecordError
from chalicelib.core.validation import InvalidValueError
from chalicelib.otp import services as otp_cases
from chalicelib.otp.domain import OtpPurpose
from chalicelib.otp.ports import TokenRejectedError
from chalicelib.otp.services import log

CITIZEN = "citizen"


# Argon2 verification of this hash takes as long as a real one: an unknown ID number is not told apart by timing.
_DUMMY_PASSWORD = "khong-phai-mat-khau-that-0"


class SignInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: IdNumberForm = Field(description="The ID number is the user name.")
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


def sign_in(svc: AccountsContext, body: dict) -> dict:
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


def _dummy_hash(svc: AccountsContext) -> str:
    """A real hash with the hasher's parameters, made once per process (not per request)."""
    key = id(svc.passwords)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = svc.passwords.hash(_DUMMY_PASSWORD)
    return _DUMMY_HASHES[key]


def _token_answer(svc: AccountsContext, account: CitizenAccount) -> dict:
    s = svc.settings
    if account.must_change_password:
        # No role at all: every endpoint but the password change refuses this token.
        token = svc.tokens.issue(account.account_id, [], s.password_change_token_ttl_s)
        return {"access_token": token, "token_type": "Bearer", "expires_in": s.password_change_token_ttl_s,
                "must_change_password": True}
    token = svc.tokens.issue(account.account_id, [CITIZEN], s.citizen_token_ttl_s)
    return {"access_token": token, "token_type": "Bearer", "expires_in": s.citizen_token_ttl_s,
            "must_change_password": False}


def _account_of(svc: AccountsContext, caller: Caller) -> CitizenAccount:
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


def current_account(svc: AccountsContext, caller: Caller) -> CitizenAccount:
    require_citizen(caller)
    account = _account_of(svc, caller)
    if account.must_change_password:
        raise _must_change()
    return account


def change_password(svc: AccountsContext, caller: Caller, body: dict) -> dict:
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
        raise validation_error([FieldError.of("new_password", exc)]) from None
    if new == req.current_password:
        raise validation_error([FieldError("new_password", "PASSWORD_UNCHANGED",
                                           "Mật khẩu mới phải khác mật khẩu hiện tại.")])
    after = replace(account, password_hash=svc.passwords.hash(new), must_change_password=False,
                    sign_in_failures=0, last_failure_at=0, rev=account.rev + 1)
    _update(svc, account, after)
    return _token_answer(svc, after)


def _update(svc: AccountsContext, before: CitizenAccount, after: CitizenAccount, claim=None) -> None:
    try:
        svc.accounts.update(after, before.rev, claim)
    except StaleRecordError:
        raise conflict("ACCOUNT_CHANGED", "Tài khoản vừa được thay đổi, vui lòng thử lại.") from None
    except TokenRejectedError:
        raise otp_cases.token_rejected() from None


def profile(svc: AccountsContext, caller: Caller) -> dict:
    return profile_of(svc, current_account(svc, caller))


def update_profile(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    account = current_account(svc, caller)
    req = parse(ProfileIn, body)
    changes: dict = {}
    if "email" in req.model_fields_set:
        changes["email"] = req.email
    if "tax_code" in req.model_fields_set:
        if req.tax_code and len(req.tax_code) == 12 and svc.keys.id_hash(req.tax_code) != account.id_hash:
            raise rule_error("tax_code", "TAX_CODE_NOT_OWN_ID",  # against the account: beyond the schema
                             "Mã số thuế 12 chữ số phải là số định danh cá nhân của chính bạn.")
        changes["tax_code"] = req.tax_code
    if changes:
        after = replace(account, rev=account.rev + 1, **changes)
        _update(svc, account, after)
        account = after
    return profile_of(svc, account)


def profile_of(svc: AccountsContext, account: CitizenAccount) -> dict:
    from chalicelib.accounts.services.views import link_view

    link = svc.links.get_link(account.account_id)
    return account_view(account) | {"bank_link": link_view(link) if link else None}


def change_phone(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    account = current_account(svc, caller)
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


def transactions(svc: AccountsContext, caller: Caller, limit: str | None, cursor: str | None) -> dict:
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
        # An opaque cursor's content is beyond any schema: its own code (declared by the route).
        raise rule_error("cursor", "CURSOR_INVALID", "Con trỏ phân trang không hợp lệ.") from None
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
