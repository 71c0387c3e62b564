"""POST /v1/otp and /v1/otp/verify: who may have a code sent, to which phone, for what (account creation by an
officer with the right, in a one-stop unit; bank link and phone change by the citizen), then the OTP use cases
themselves. Verifying is allowed to exactly who may send: an officer without the right cannot even count attempts
against a citizen's pending code. Sends count against the caller's account and IP as well as the phone."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.accounts.ports import AccountsContext, Caller
from chalicelib.accounts.services.citizens import current_account
from chalicelib.accounts.services.officers import creator_units
from chalicelib.core import identity
from chalicelib.core.errors import AppError, forbidden
from chalicelib.core.fields import MobilePhone
from chalicelib.core.parsing import parse
from chalicelib.otp.domain import OtpPurpose
from chalicelib.otp.services import issue_otp, verify_otp

CITIZEN, OFFICER = "citizen", "officer"


class OtpIn(BaseModel):
    # For an account creation the subject is the citizen's ID number, in its form (the schema says it with if/then).
    __rules__ = ("ID_NUMBER_BIRTH_YEAR",)
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=lambda schema: schema.update({
        "if": {"properties": {"purpose": {"const": "account_creation"}}, "required": ["purpose"]},
        "then": {"properties": {"subject": {"pattern": identity.id_number_pattern()}}}}))
    phone: MobilePhone = Field(description="The phone the code is sent to (0912345678 or +84912345678).")
    purpose: OtpPurpose
    subject: str = Field(min_length=1, max_length=200,
                         description="What the code is for: the citizen's ID number (account_creation), the "
                         "subject given by POST /v1/citizens/me/bank-links (bank_link), or the caller's account "
                         "id (phone_change).")


class OtpVerifyIn(OtpIn):
    code: str = Field(pattern=r"^[0-9]{6}$", description="The 6-digit code from the SMS.")


def normalise_subject(purpose: OtpPurpose, subject: str) -> str:
    """The subject in one form, so the key computed at issue and at use is the same."""
    if purpose == OtpPurpose.ACCOUNT_CREATION:
        return identity.validate_id_number(subject)
    return subject.strip()


def check_caller(caller: Caller, purpose: OtpPurpose, subject: str) -> None:
    """Who may ask for or verify a code of each purpose (role and subject; the officer's stored right is checked
    by the account use cases)."""
    if caller.subject is None:
        from chalicelib.core.errors import unauthorized

        raise unauthorized("TOKEN_MISSING", "Thiếu mã xác thực. Vui lòng đăng nhập để tiếp tục.")
    if purpose == OtpPurpose.PASSWORD_RESET:  # sent and verified by POST /v1/auth/password-reset*, anonymously
        raise forbidden("ROLE_FORBIDDEN", "Mã OTP đặt lại mật khẩu được gửi qua chức năng quên mật khẩu.")
    if purpose == OtpPurpose.ACCOUNT_CREATION:
        if not caller.has(OFFICER):
            raise forbidden("ROLE_FORBIDDEN", "Chỉ cán bộ một cửa được gửi mã OTP tạo tài khoản.")
        return
    if not caller.has(CITIZEN):
        raise forbidden("ROLE_FORBIDDEN", "Chức năng này chỉ dành cho công dân.")
    if subject != caller.subject and not subject.startswith(f"{caller.subject}:"):
        raise forbidden("OTP_SUBJECT_FORBIDDEN", "Mã OTP này không thuộc tài khoản của bạn.")


def request_otp(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    """POST /v1/otp: check the caller for the purpose, then send."""
    req = parse(OtpIn, body)
    subject = _subject(req.purpose, req.subject)
    check_caller(caller, req.purpose, subject)
    check_otp_target(svc, caller, req.phone, req.purpose, subject)
    officer = req.purpose == OtpPurpose.ACCOUNT_CREATION
    return issue_otp(svc, req.phone, req.purpose, subject, account=caller.subject, officer=officer,
                     client=caller.client or None)


def verify_request(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    """POST /v1/otp/verify."""
    req = parse(OtpVerifyIn, body)
    subject = _subject(req.purpose, req.subject)
    check_caller(caller, req.purpose, subject)
    if req.purpose == OtpPurpose.ACCOUNT_CREATION:
        creator_units(svc, caller)  # the stored right and a one-stop unit, as for sending
    return verify_otp(svc, req.phone, req.purpose, subject, req.code)


def _subject(purpose: OtpPurpose, subject: str) -> str:
    from chalicelib.core.errors import FieldError, validation_error
    from chalicelib.core.validation import InvalidValueError

    try:
        return normalise_subject(purpose, subject)
    except InvalidValueError as exc:
        raise validation_error([FieldError.of("subject", exc)]) from None


def check_otp_target(svc: AccountsContext, caller: Caller, phone: str, purpose: OtpPurpose, subject: str) -> None:
    """SMS cost money and reach people: a code goes only where its purpose allows."""
    if purpose == OtpPurpose.ACCOUNT_CREATION:
        creator_units(svc, caller)
        return
    account = current_account(svc, caller)
    if purpose == OtpPurpose.BANK_LINK and phone != account.phone:
        raise AppError("OTP_PHONE_NOT_ACCOUNT_PHONE", "Mã OTP liên kết chỉ được gửi đến số điện thoại của tài khoản.",
                       422, "Dữ liệu không hợp lệ")
    if purpose == OtpPurpose.PHONE_CHANGE:
        if subject != account.account_id:
            raise forbidden("OTP_SUBJECT_FORBIDDEN", "Mã OTP này không thuộc tài khoản của bạn.")
        if phone == account.phone:
            raise AppError("PHONE_UNCHANGED", "Số điện thoại mới trùng với số điện thoại hiện tại.", 422,
                           "Dữ liệu không hợp lệ")
