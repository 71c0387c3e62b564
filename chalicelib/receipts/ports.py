"""What reading receipts needs: the store that holds them (the payments ledger writes them in the paying
transaction) and the PDF renderer."""
from __future__ import annotations

from typing import Any, Callable, Protocol

from chalicelib.receipts.domain import Receipt


class ReceiptStore(Protocol):
    def get_receipt(self, receipt_id: str) -> Receipt | None: ...

    def get_payment(self, payment_id: str) -> Any:
        """The paying payment (its `citizen_sub` says who may read the receipt when signed in)."""


class ReceiptsContext(Protocol):
    ledger: ReceiptStore
    hasher: Any  # the IdHasher: payments' access secrets are HMACs of their ids
    receipt_pdf: Callable[[dict[str, Any]], bytes]
