"""The tax authority's taxpayer lookup and payment notices over its gateway (``receipts.adapters.tax_authority``:
signed requests, signed answers, timeouts, a retry on a request path). The lookup answer is validated into the
taxes domain; anything malformed counts as no answer. Paths and field names are the simulator's (unverified)."""
from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from chalicelib.receipts.ports import TaxAuthorityError
from chalicelib.taxes.domain import TaxInfo

LOOKUP_PATH = "/v1/taxpayers/lookup"
PAYMENTS_PATH = "/v1/payments"


class GatewayTaxAuthority:
    def __init__(self, client: Any) -> None:
        self._client = client  # receipts.adapters.tax_authority.TaxAuthorityClient

    def lookup(self, tax_code: str) -> TaxInfo | None:
        try:
            answer = self._client.call(LOOKUP_PATH, {"tax_code": tax_code})
        except TaxAuthorityError as exc:
            if exc.code == "TAXPAYER_NOT_FOUND":
                return None
            raise
        try:
            return TaxInfo.model_validate(answer)
        except ValidationError:
            raise TaxAuthorityError("ANSWER_INVALID", "lookup answer does not validate") from None

    def notify_payment(self, payload: dict[str, Any]) -> None:
        """The outbox's TaxPaymentChannel: raises unless the tax authority acknowledged (the intent is retried)."""
        answer = self._client.call(PAYMENTS_PATH, payload, attempts=1)
        if answer.get("status") not in ("recorded", "duplicate"):
            raise TaxAuthorityError("NOT_ACKNOWLEDGED", str(answer.get("status"))[:40])
