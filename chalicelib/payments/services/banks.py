"""The collecting banks a citizen can choose from, with whether each has single sign-on with the portal."""
from __future__ import annotations

from chalicelib.core.banks import bank_registry
from chalicelib.payments.ports import PaymentsContext


def list_banks(svc: PaymentsContext) -> dict:
    """Every collecting bank in the order of the code table (data/banks.json); single sign-on is stage settings."""
    sso = set(svc.settings.sso_banks)
    return {"banks": [
        {"code": bank.code, "name": bank.name_vi, "short_name": bank.short_name, "single_sign_on": bank.code in sso}
        for bank in bank_registry().values()
    ]}
