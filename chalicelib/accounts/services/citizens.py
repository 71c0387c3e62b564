"""The citizen's own side of an account (M7, M9): profile and tax code, password change, phone change by OTP (with
the password re-checked and the old phone told), and the payment history. Signing in is ``services.sign_in``."""
from __future__ import annotations

from dataclasses import replace

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.accounts.domain import kept_tax_code
from chalicelib.accounts.ports import AccountsContext, Caller, CitizenAccount
from chalicelib.accounts.services.views import account_view
from chalicelib.core.clock import VN_TZ, epoch
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
from chalicelib.core.fields import Email, MobilePhone, TaxCode
from chalicelib.core.masking import mask_phone
from chalicelib.core.parsing import parse
from chalicelib.core.ports import StaleRecordError
from chalicelib.otp import services as otp_cases
from chalicelib.otp.domain import OtpPurpose
from chalicelib.otp.ports import TokenRejectedError
from chalicelib.otp.services import log
from chalicelib.outbox import domain as outbox

CITIZEN = "citizen"


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    email: Email | None = None
    tax_code: TaxCode | None = Field(default=None, description="10 or 13-digit tax code, or your own 12-digit "
                                 "personal ID number (an individual's tax code since 1 July 2025: kept only hashed "
                                 "and sealed, shown in full to you alone).")


class PhoneChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    phone: MobilePhone
    verification_token: str = Field(min_length=16, max_length=200, description="From POST /v1/otp/verify "
                                    "(purpose phone_change, subject = your account id, phone = the new phone).")
    password: str = Field(min_length=1, max_length=128, description="Your current password (checked again: a "
                          "phone change moves where reset codes go).")


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
    """POST /v1/citizens/me/password (see services.passwords.change_password)."""
    from chalicelib.accounts.services.passwords import change_password as change

    return change(svc, caller, current_account(svc, caller), body)


def _update(svc: AccountsContext, before: CitizenAccount, after: CitizenAccount, claim=None, intents=()) -> None:
    try:
        svc.accounts.update(after, before.rev, claim, intents)
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
        # A 12-digit tax code is the owner's ID number: kept as its hash, last digits and a sealed copy (the tax
        # authority lookup sends it on), never in clear.
        changes |= kept_tax_code(req.tax_code, svc.keys.id_hash, svc.sealer.seal)
    if changes:
        after = replace(account, rev=account.rev + 1, **changes)
        _update(svc, account, after)
        account = after
    return profile_of(svc, account)


def profile_of(svc: AccountsContext, account: CitizenAccount) -> dict:
    from chalicelib.accounts.services.views import link_view

    link = svc.links.get_link(account.account_id)
    return account_view(account, own_tax_code(svc, account)) | {"bank_link": link_view(link) if link else None}


def own_tax_code(svc: AccountsContext, account: CitizenAccount) -> str | None:
    """The account's tax code in full, for its owner (and the tax authority lookup): a personal one from its sealed
    copy."""
    if account.tax_code_sealed:
        return svc.sealer.open(account.tax_code_sealed).decode()
    return account.tax_code


def change_phone(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    """The new phone proved by OTP, the password checked again behind the sign-in guard (a stolen token alone must
    not move where reset codes go), and the old phone told in the same write."""
    from chalicelib.accounts.services import sign_in as guard
    from chalicelib.accounts.services.passwords import current_password_wrong

    account = current_account(svc, caller)
    req = parse(PhoneChangeIn, body)
    if req.phone == account.phone:
        raise AppError("PHONE_UNCHANGED", "Số điện thoại mới trùng với số điện thoại hiện tại.", 422,
                       "Dữ liệu không hợp lệ")
    guard.checked_password(svc, caller.username or "", req.password, caller.client, refused=current_password_wrong())
    claim = otp_cases.token_claim(svc, req.phone, OtpPurpose.PHONE_CHANGE, account.account_id,
                                  req.verification_token)
    after = replace(account, phone=req.phone, rev=account.rev + 1)
    when = svc.clock.now().astimezone(VN_TZ).strftime("%H:%M ngày %d/%m/%Y")
    notice = outbox.sms(account.phone, f"Số điện thoại của tài khoản Cổng Dịch vụ công quốc gia đã được đổi sang "
                                       f"{mask_phone(req.phone)} lúc {when}. Nếu không phải bạn thực hiện, hãy liên hệ "
                                       "ngay bộ phận một cửa.")
    _update(svc, account, after, claim, [notice])
    _sync_pool_phone(svc, caller.username or "", req.phone)
    log.info("citizen phone changed", extra={"account_id": account.account_id})
    return profile_of(svc, after)


def _sync_pool_phone(svc: AccountsContext, username: str, phone: str) -> None:
    """The pool keeps a copy of the phone (it sends nothing itself): best effort, the account is the authority."""
    from chalicelib.identity.ports import DirectoryError

    try:
        svc.users.set_phone(username, phone)
    except DirectoryError:
        log.warning("user pool phone not updated")


def transactions(svc: AccountsContext, caller: Caller, limit: str | None, cursor: str | None) -> dict:
    """The citizen's payments, newest first, with their states and receipts; paginated by an opaque cursor. Those
    paid signed in and those paid through the anonymous lookup with the account's own ID number (matched by its
    keyed hash: a 9-digit old number is another number)."""
    sub = require_citizen(caller)
    try:
        size = int(limit) if limit not in (None, "") else 20
    except ValueError:
        size = 0
    if not 1 <= size <= 100:
        raise validation_error([FieldError("limit", "LIMIT_INVALID", "Số bản ghi mỗi trang phải từ 1 đến 100.")])
    try:
        items, next_cursor = svc.history.payments_of(sub, size, cursor, payer_key=_account_of(svc, caller).id_hash)
    except ValueError:
        # An opaque cursor's content is beyond any schema: its own code (declared by the route).
        raise rule_error("cursor", "CURSOR_INVALID", "Con trỏ phân trang không hợp lệ.") from None
    now = epoch(svc.clock.now())
    out = []
    for p in items:
        view = {"payment_id": p.payment_id, "state": p.effective_state(now).value, "amount_vnd": p.amount_vnd,
                "kind": p.kind, "notice_number": p.notice_number, "bank_code": p.bank_code, "created_at": p.created_at}
        if p.dossier_code:
            view["dossier_code"] = p.dossier_code
        if p.paid_at:
            view["paid_at"] = p.paid_at
        if p.receipt_id:
            view["receipt_id"] = p.receipt_id
            view["receipt_url"] = f"/v1/receipts/{p.receipt_id}"
        if getattr(p, "refunds", None):
            view["refunds"] = [dict(r) for r in p.refunds]  # money the bank took twice, being or already returned
        out.append(view)
    return {"items": out, "next_cursor": next_cursor}
