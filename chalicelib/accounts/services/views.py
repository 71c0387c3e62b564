"""How accounts and bank links are shown: the ID number only masked, never in clear; a personal (12-digit) tax code
masked like it unless the owner is shown their own (``full_tax_code``)."""
from __future__ import annotations

from chalicelib.accounts.ports import BankLink, CitizenAccount


def account_view(a: CitizenAccount, full_tax_code: str | None = None) -> dict:
    return {
        "account_id": a.account_id, "full_name": a.full_name, "date_of_birth": a.date_of_birth, "sex": a.sex,
        "phone": a.phone, "email": a.email, "tax_code": full_tax_code or a.tax_code_masked, "id_number_masked": "*********" + a.id_last3,
        "unit_code": a.unit_code, "created_by": a.created_by, "created_at": a.created_at, "status": a.status,
        "must_change_password": a.must_change_password,
    }


def link_view(link: BankLink) -> dict:
    return {"bank_code": link.bank_code, "banking_username_masked": link.username_masked,
            "account_number_masked": link.account_number_masked, "holder_name": link.holder_name,
            "linked_at": link.linked_at}
