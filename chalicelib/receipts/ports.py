"""What reading receipts needs: the store that holds them (the payments ledger writes them in the paying
transaction) and the PDF renderer."""
from __future__ import annotations

from typing import Any, Callable, Protocol

from chalicelib.receipts.domain import Receipt


class ReceiptStore(Protocol):
    def get_receipt(self, receipt_id: str) -> Receipt | None: ...


class ReceiptsContext(Protocol):
    ledger: ReceiptStore
    receipt_pdf: Callable[[dict[str, Any]], bytes]
