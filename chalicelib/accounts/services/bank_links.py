"""M7: link the citizen's portal account with one internet-banking account, confirmed by OTP.

Four conditions, checked in this order, each refused with its own code: the portal account has a tax code; the
internet-banking account exists; both accounts carry the same ID number; the portal phone is the bank's OTP phone.
Then a code goes to that phone; the link is written together with the consumption of the verification token, and
only if the account has no link (one at a time). The payment flow asks `is_linked` (the `BankLinks` port).
"""
from __future__ import annotations

import hmac
import logging

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.accounts.ports import AccountsContext, BankAccountInfo, BankLink, Caller, CitizenAccount
from chalicelib.accounts.services.citizens import current_account
from chalicelib.accounts.services.views import link_view
from chalicelib.core import banks, identity, phones
from chalicelib.core.errors import AppError, conflict, not_found
from chalicelib.core.fields import Documented, bank_codes
from chalicelib.core.masking import mask_phone
from chalicelib.core.parsing import parse
from chalicelib.core.ports import AlreadyExistsError
from chalicelib.core.validation import InvalidValueError
from chalicelib.otp import services as otp_cases
from chalicelib.otp.domain import OtpPurpose
from chalicelib.otp.ports import TokenRejectedError

log = logging.getLogger(__name__)


class BankLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    bank_code: str = Field(min_length=2, max_length=10, json_schema_extra=Documented.lazy(enum=bank_codes))
    banking_username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$",
                                  description="The citizen's internet-banking user name at that bank.")

    @field_validator("bank_code")
    @classmethod
    def _bank(cls, v: str) -> str:
        return banks.get_bank(v.upper()).code


class BankLinkConfirmIn(BankLinkIn):
    verification_token: str = Field(min_length=16, max_length=200,
                                    description="From POST /v1/otp/verify with the purpose and subject answered by "
                                    "POST /v1/citizens/me/bank-links.")


def _mask(text: str, keep: int = 3) -> str:
    return "*" * max(0, len(text) - keep) + text[-keep:]


def _subject(account: CitizenAccount, req: BankLinkIn) -> str:
    return f"{account.account_id}:{req.bank_code}:{req.banking_username.lower()}"


def _check_conditions(svc: AccountsContext, account: CitizenAccount, req: BankLinkIn) -> BankAccountInfo:
    if req.bank_code not in svc.settings.sso_banks:
        raise AppError("BANK_LINK_NOT_SUPPORTED", "Ngân hàng này chưa hỗ trợ liên kết tài khoản với Cổng Dịch vụ "
                       "công quốc gia.", 422, "Không đủ điều kiện liên kết")
    if svc.links.get_link(account.account_id) is not None:
        raise _link_exists()
    if not account.has_tax_code:
        raise AppError("TAX_CODE_REQUIRED", "Tài khoản Cổng Dịch vụ công của bạn chưa có mã số thuế. Vui lòng cập "
                       "nhật mã số thuế trong thông tin tài khoản trước khi liên kết.", 422,
                       "Không đủ điều kiện liên kết")
    info = svc.banks.lookup(req.bank_code, req.banking_username)
    if info is None:
        raise AppError("BANK_ACCOUNT_NOT_FOUND", "Không tìm thấy tài khoản Internet Banking với tên đăng nhập này "
                       "tại ngân hàng đã chọn. Vui lòng kiểm tra lại.", 422, "Không đủ điều kiện liên kết")
    try:
        same_id = hmac.compare_digest(svc.keys.id_hash(identity.normalise_id_number(info.id_number)),
                                      account.id_hash)
    except InvalidValueError:
        same_id = False
    if not same_id:
        raise AppError("BANK_ID_NUMBER_MISMATCH", "Số định danh (CCCD/CMND) tại ngân hàng không khớp với tài khoản "
                       "Cổng Dịch vụ công. Vui lòng liên hệ ngân hàng để cập nhật thông tin.", 422,
                       "Không đủ điều kiện liên kết")
    try:
        same_phone = phones.normalise_mobile(info.otp_phone) == account.phone
    except InvalidValueError:
        same_phone = False
    if not same_phone:
        raise AppError("BANK_PHONE_MISMATCH", "Số điện thoại nhận OTP của ngân hàng khác số điện thoại trên tài khoản "
                       "Cổng Dịch vụ công. Vui lòng cập nhật số điện thoại trên Cổng Dịch vụ công cho trùng với số "
                       "điện thoại đăng ký tại ngân hàng.", 422, "Không đủ điều kiện liên kết")
    return info


def _link_exists() -> AppError:
    return conflict("BANK_LINK_EXISTS", "Tài khoản đã liên kết với một tài khoản ngân hàng. Vui lòng hủy liên kết "
                    "hiện tại trước khi liên kết tài khoản khác.")


def start_link(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    """Check the four conditions, then send the OTP that confirms the link to the (common) phone."""
    account = current_account(svc, caller)
    req = parse(BankLinkIn, body)
    _check_conditions(svc, account, req)
    subject = _subject(account, req)
    sent = otp_cases.issue_otp(svc, account.phone, OtpPurpose.BANK_LINK, subject, account=account.account_id,
                               client=caller.client or None)
    return {"status": "PENDING_OTP", "otp": {**sent, "subject": subject}}


def confirm_link(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    account = current_account(svc, caller)
    req = parse(BankLinkConfirmIn, body)
    info = _check_conditions(svc, account, req)  # the bank's data may have changed since the code was sent
    claim = otp_cases.token_claim(svc, account.phone, OtpPurpose.BANK_LINK, _subject(account, req),
                                  req.verification_token)
    link = BankLink(account.account_id, req.bank_code, _mask(req.banking_username), _mask(info.account_number, 4),
                    info.holder_name, svc.clock.now().isoformat())
    try:
        svc.links.create_link(link, claim)
    except AlreadyExistsError:
        raise _link_exists() from None
    except TokenRejectedError:
        raise otp_cases.token_rejected() from None
    svc.count("BankLinksCreated")
    log.info("bank account linked", extra={"bank_code": link.bank_code, "phone": mask_phone(account.phone)})
    return link_view(link)


def current_link(svc: AccountsContext, caller: Caller) -> dict:
    account = current_account(svc, caller)
    link = svc.links.get_link(account.account_id)
    return {"link": link_view(link) if link else None}


def unlink(svc: AccountsContext, caller: Caller) -> None:
    account = current_account(svc, caller)
    if not svc.links.delete_link(account.account_id):
        raise not_found("BANK_LINK_NOT_FOUND", "Tài khoản chưa liên kết với tài khoản ngân hàng nào.")
    log.info("bank account unlinked")


class StoredBankLinks:
    """The payment flow's `BankLinks` port over the link store: linked at *this* bank?"""

    def __init__(self, links) -> None:
        self._links = links

    def is_linked(self, citizen_sub: str, bank_code: str) -> bool:
        link = self._links.get_link(citizen_sub)
        return link is not None and link.bank_code == bank_code
