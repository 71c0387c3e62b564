"""A citizen's payments, newest first, from the ledger's gsi1, cursor-paged: the accounts' and taxes' PaymentHistory
port.

Two partitions hold a citizen's payments: ``CIT#<account id>`` (paid signed in) and, when the account's keyed ID
hash is given, ``PAYER#<hash>`` (paid through the anonymous lookup with that very ID number; a 9-digit old number is
another hash, so it is not the 12-digit account's). A payment is in one of them, never both (ledger.history_partition),
so merging them needs no de-duplication. A page reads at most ``limit`` items of each partition from its own position
and keeps the newest ``limit`` of the two; the cursor holds both positions (each only ever inside the caller's own
partition: anything else is refused). Payments made anonymously before the PAYER# key existed carry none and are not
found (see README, "Citizens").
"""
from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from chalicelib.aws.tables import models

if TYPE_CHECKING:
    from chalicelib.config import Settings

_KEY_ATTRIBUTES = ("pk", "sk", "gsi1pk", "gsi1sk")


class LedgerPaymentHistory:
    """The citizen's payments through the ledger's gsi1 (``CIT#<sub>``, and ``PAYER#<id hash>``), newest first."""

    def __init__(self, settings: Settings) -> None:
        _, self._item = models(settings)

    def payments_of(self, citizen_sub: str, limit: int, cursor: str | None, payer_key: str | None = None):
        if payer_key is None:  # the signed-in payments only (the tax history): one partition, its own cursor
            return self._one(f"CIT#{citizen_sub}", limit, cursor)
        return self._merged([f"CIT#{citizen_sub}", f"PAYER#{payer_key}"], limit, cursor)

    def _one(self, partition: str, limit: int, cursor: str | None):
        from chalicelib.payments.domain.payments import Payment

        start = _decode_cursor(cursor, partition) if cursor else None
        results = self._item.gsi1.query(partition, scan_index_forward=False, limit=limit,
                                        last_evaluated_key=start)
        payments = [Payment.model_validate_json(i.doc) for i in results if i.kind == "payment"]
        last = results.last_evaluated_key
        return payments, (_encode_cursor(last) if last and len(payments) >= limit else None)

    def _merged(self, partitions: list[str], limit: int, cursor: str | None):
        from chalicelib.payments.domain.payments import Payment

        # A position per partition: {} from its start, a key to continue after, None when it has nothing more.
        positions: list[dict | None] = _decode_positions(cursor, partitions) if cursor else [{} for _ in partitions]
        fetched: list[list[Any]] = []
        for partition, position in zip(partitions, positions, strict=True):
            if position is None:
                fetched.append([])
                continue
            fetched.append(list(self._item.gsi1.query(partition, scan_index_forward=False, limit=limit,
                                                      last_evaluated_key=position or None)))
        entries = _merge_newest_first(fetched, limit)
        for side, items in enumerate(fetched):
            taken = [item for s, item in entries if s == side]
            if taken:
                positions[side] = _key_of(taken[-1])
            if positions[side] is not None and len(taken) == len(items) and len(items) < limit:
                positions[side] = None  # read to its end and all of it shown
        payments = [Payment.model_validate_json(item.doc) for _, item in entries if item.kind == "payment"]
        more = any(p is not None for p in positions)
        return payments, (_encode_cursor({"v": 2, "positions": positions}) if more else None)


def _merge_newest_first(sides: list[list[Any]], limit: int) -> list[tuple[int, Any]]:
    """The newest ``limit`` items of lists each newest first, as (side, item), each list's own order kept (so a
    position after the last item taken from a list skips nothing of it)."""
    heads, out = [0] * len(sides), []
    while len(out) < limit:
        live = [s for s in range(len(sides)) if heads[s] < len(sides[s])]
        if not live:
            break
        side = max(live, key=lambda s: (sides[s][heads[s]].gsi1sk, -s))
        out.append((side, sides[side][heads[side]]))
        heads[side] += 1
    return out


def _key_of(item) -> dict[str, Any]:
    return {name: {"S": getattr(item, name)} for name in _KEY_ATTRIBUTES}


def _encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def _load(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        raise ValueError("cursor") from None


def _valid_key(key: Any, partition: str) -> bool:
    return isinstance(key, dict) and set(key) == set(_KEY_ATTRIBUTES) and key["gsi1pk"] == {"S": partition} \
        and all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values())


def _decode_cursor(cursor: str, partition: str) -> dict[str, Any]:
    """A cursor is only ever a position inside the caller's own partition: anything else is refused."""
    key = _load(cursor)
    if not _valid_key(key, partition):
        raise ValueError("cursor")
    return key


def _decode_positions(cursor: str, partitions: list[str]) -> list[dict | None]:
    """A composite cursor: one position per partition, each inside the caller's own partition."""
    doc = _load(cursor)
    if not isinstance(doc, dict) or set(doc) != {"v", "positions"} or doc["v"] != 2 \
            or not isinstance(doc["positions"], list) or len(doc["positions"]) != len(partitions):
        raise ValueError("cursor")
    for position, partition in zip(doc["positions"], partitions, strict=True):
        if not (position is None or position == {} or _valid_key(position, partition)):
            raise ValueError("cursor")
    if all(p is None for p in doc["positions"]):
        raise ValueError("cursor")  # never handed out: nothing would be left to read
    return doc["positions"]
