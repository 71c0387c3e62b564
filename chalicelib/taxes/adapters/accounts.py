"""The taxes capability's view of a citizen account (tax code, phone), read from the account store handed in by the
composition root: taxes never imports the accounts capability."""
from __future__ import annotations

from typing import Any

from chalicelib.taxes.ports import TaxpayerAccount


class AccountTaxpayers:
    def __init__(self, accounts: Any, sealer: Any) -> None:
        self._accounts = accounts  # anything with get_account(account_id) -> an object with tax_code, phone
        self._sealer = sealer  # opens a personal (12-digit) tax code's sealed copy: the lookup sends it on

    def account(self, account_id: str) -> TaxpayerAccount | None:
        account = self._accounts.get_account(account_id)
        if account is None:
            return None
        sealed = getattr(account, "tax_code_sealed", None)
        tax_code = self._sealer.open(sealed).decode() if sealed else getattr(account, "tax_code", None)
        return TaxpayerAccount(tax_code=tax_code, phone=getattr(account, "phone", None))
