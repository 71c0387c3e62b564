"""The answers of the account, officer, administration and OTP routes, as the HTTP contract states them (the use
cases build dicts; the shell's contract checks hold them to these models on the test stage). ID numbers are only
ever answered masked."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.openapi import absent


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- administration ------------------------------------------------------------------------------------------------

class UnitView(_Out):
    code: str = Field(description="Agency identification code (mã định danh).")
    name: str
    one_stop: bool = Field(description="The name marks a one-stop unit (may hold the account-creation right).")
    created_at: str


class UnitList(_Out):
    items: list[UnitView]


class UserView(_Out):
    user_id: str
    full_name: str
    phone: str = Field(description="E.164.")
    id_number_masked: str
    tax_code: str | None = Field(description="A 10/13-digit tax code as it is; a personal (12-digit) one, which is an "
                                 "ID number, only masked (`*********234`).")
    issuer: Literal["portal", "vnpost"]
    status: Literal["active", "locked", "deleted"]
    units: list[str]
    rights: list[str]
    roles: list[Literal["officer", "province_admin", "operator"]] = Field(
        description="Staff roles (the user pool's groups follow them): officer from the first unit on.")
    province_agency: str | None = Field(description="A province administrator's province: level-1 agency code.")
    created_at: str


class UserList(_Out):
    items: list[UserView]
    truncated: bool


class AuditEntryView(_Out):
    at: str
    actor: str
    action: str
    detail: dict[str, Any]


class AuditList(_Out):
    items: list[AuditEntryView]


# --- accounts ------------------------------------------------------------------------------------------------------

class AccountView(_Out):
    account_id: str
    full_name: str
    date_of_birth: str
    sex: Literal["male", "female"] | None
    phone: str = Field(description="E.164.")
    email: str | None
    tax_code: str | None = Field(description="A 10/13-digit tax code as it is; a personal (12-digit) one, which is the "
                                 "citizen's ID number, only masked (`*********234`).")
    id_number_masked: str
    unit_code: str
    created_by: str
    created_at: str
    status: str
    must_change_password: bool


class CreatedAccount(_Out):
    account_id: str
    full_name: str
    date_of_birth: str
    sex: Literal["male", "female"] | None
    phone_masked: str
    email: str | None
    tax_code: str | None = Field(description="A 10/13-digit tax code as it is; a personal (12-digit) one, which is the "
                                 "citizen's ID number, only masked (`*********234`).")
    id_number_masked: str
    unit_code: str
    created_by: str
    created_at: str
    status: str
    must_change_password: bool


class AccountList(_Out):
    items: list[AccountView]
    truncated: bool


class ExistsAnswer(_Out):
    exists: bool
    message: str


class UploadForm(_Out):
    url: str
    fields: dict[str, str] = Field(description="Form fields to send with the file (the policy and its signature).")
    method: Literal["POST"]
    file_field: str = Field(description="Name of the form field that carries the file (sent last).")


class ScanUpload(_Out):
    scan_id: str
    upload: UploadForm
    max_bytes: int
    expires_in_s: int


class TokenAnswer(_Out):
    access_token: str = Field(description="The user pool's access token: send it as `Authorization: Bearer`.")
    refresh_token: str | None = Field(description="For POST /v1/auth/refresh (or /v1/auth/staff/refresh).")
    id_token: str = Field(description="For the front end only; the API refuses it as a credential.")
    token_type: Literal["Bearer"]
    expires_in: int
    must_change_password: Literal[False]


class SignInAnswer(_Out):
    """Tokens, or (first sign-in with the temporary password) the challenge to answer with a new password."""

    must_change_password: bool = Field(description="true: answer POST /v1/auth/new-password with `session`.")
    challenge: Literal["NEW_PASSWORD_REQUIRED"] | None = absent("With must_change_password.")
    session: str | None = absent("The challenge session (single use, 3 minutes).")
    access_token: str | None = absent("Without must_change_password: the access token (Authorization: Bearer).")
    refresh_token: str | None = absent("Without must_change_password: for POST /v1/auth/refresh.")
    id_token: str | None = absent("Without must_change_password: for the front end only.")
    token_type: Literal["Bearer"] | None = absent("Without must_change_password.")
    expires_in: int | None = absent("Without must_change_password: seconds the access token lives.")


class ResetSent(_Out):
    message: str
    expires_in_s: int
    resend_after_s: int


class LinkView(_Out):
    bank_code: str
    banking_username_masked: str
    account_number_masked: str
    holder_name: str
    linked_at: str


class Profile(AccountView):
    """The signed-in citizen's own account: their tax code in full."""

    tax_code: str | None = Field(description="The account's tax code in full (its owner's view): a 10/13-digit tax "
                                 "code, or the citizen's own 12-digit personal number (stored only sealed and "
                                 "hashed).")
    bank_link: LinkView | None


class CurrentLink(_Out):
    link: LinkView | None


class TransactionRefund(_Out):
    """A refund of money the bank took twice for this payment."""

    refund_id: str
    bank_txn_ref: str
    amount_vnd: int = Field(gt=0)
    state: Literal["REFUND_REQUESTED", "REFUND_APPROVED", "REFUNDED", "REFUND_FAILED", "REFUND_REJECTED"]
    requested_at: str
    refunded_at: str | None = absent("When the bank confirmed the refund.")


class Transaction(_Out):
    payment_id: str
    state: Literal["CREATED", "PENDING_BANK", "PAID", "FAILED", "EXPIRED", "CANCELLED"]
    amount_vnd: int
    kind: Literal["land", "personal_tax", "registration_fee"] = Field(
        description="land: a land notice; personal_tax / registration_fee: a tax debt (also in the tax history).")
    dossier_code: str | None = absent("The land dossier (land payments).")
    notice_number: str
    bank_code: str
    created_at: str
    paid_at: str | None = absent("When the bank reported the payment.")
    receipt_id: str | None = absent("The receipt, once PAID.")
    receipt_url: str | None = absent("Where to read the receipt.")
    refunds: list[TransactionRefund] | None = absent("Refunds of money the bank took twice for this payment.")


class TransactionPage(_Out):
    items: list[Transaction] = Field(description="Newest first.")
    next_cursor: str | None


# --- OTP -----------------------------------------------------------------------------------------------------------

class OtpSent(_Out):
    purpose: Literal["account_creation", "bank_link", "phone_change", "password_reset"]
    phone_masked: str
    expires_in_s: int
    resend_after_s: int


class LinkOtpSent(OtpSent):
    subject: str = Field(description="The subject to verify the code with (POST /v1/otp/verify).")


class LinkStarted(_Out):
    status: Literal["PENDING_OTP"]
    otp: LinkOtpSent


class OtpVerified(_Out):
    verification_token: str = Field(description="Single use, bound to the phone, purpose and subject.")
    expires_in_s: int
