"""The taxes capability's view of a citizen account (tax code, phone), read from the account store handed in by the
composition root: taxes never imports the accounts capability."""
from __future__ import annotations

from typing import Any

from chalicelib.taxes.ports import TaxpayerAccount


class AccountTaxpayers:
    def __init__(self, accounts: Any) -> None:
        self._accounts = accounts  # anything with get_account(account_id) -> an object with tax_code, phone

    def account(self, account_id: str) -> TaxpayerAccount | None:
        account = self._accounts.get_account(account_id)
        if account is None:
            return None
        return TaxpayerAccount(tax_code=getattr(account, "tax_code", None), phone=getattr(account, "phone", None))
