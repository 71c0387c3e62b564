"""A citizen's payments, newest first, from the ledger's gsi1 (CIT#<subject> / created_at), cursor-paged: the
accounts capability's PaymentHistory port."""
from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from chalicelib.aws.tables import models

if TYPE_CHECKING:
    from chalicelib.config import Settings


class LedgerPaymentHistory:
    """The citizen's payments through the ledger's gsi1 (``CIT#<sub>`` / created_at), newest first."""

    def __init__(self, settings: Settings) -> None:
        _, self._item = models(settings)

    def payments_of(self, citizen_sub: str, limit: int, cursor: str | None):
        from chalicelib.payments.domain.payments import Payment

        partition = f"CIT#{citizen_sub}"
        start = _decode_cursor(cursor, partition) if cursor else None
        results = self._item.gsi1.query(partition, scan_index_forward=False, limit=limit,
                                        last_evaluated_key=start)
        payments = [Payment.model_validate_json(i.doc) for i in results if i.kind == "payment"]
        last = results.last_evaluated_key
        return payments, (_encode_cursor(last) if last and len(payments) >= limit else None)


def _encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, partition: str) -> dict[str, Any]:
    """A cursor is only ever a position inside the caller's own partition: anything else is refused."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise ValueError("cursor") from None
    if not isinstance(key, dict) or set(key) != {"pk", "sk", "gsi1pk", "gsi1sk"} \
            or key["gsi1pk"] != {"S": partition} or not all(isinstance(v, dict) and set(v) == {"S"} and
                                                            isinstance(v["S"], str) for v in key.values()):
        raise ValueError("cursor")
    return key
