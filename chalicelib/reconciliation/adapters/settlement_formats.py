"""Which settlement format each bank delivers, built from data (``data/settlement_formats.json``) and the format's
row mapper module. A new bank on the canonical CSV is one line of data; a new format, an entry and a mapper."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from chalicelib.reconciliation.adapters import settlement_canonical, settlement_vnpay
from chalicelib.reconciliation.domain.settlement import SettlementFormat

__all__ = ["format_for_bank", "settlement_format"]

_DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "settlement_formats.json"


@cache
def _data() -> dict:
    return json.loads(_DATA_FILE.read_text(encoding="utf-8"))


def _mappers(name: str, spec: dict):
    if name == "canonical_csv":
        return settlement_canonical.to_line, settlement_canonical.from_line
    if name == "vnpay_semicolon":
        return settlement_vnpay.line_mapper(spec["status_codes"], spec["bank_code_is_collecting_bank"])
    raise KeyError(f"no row mapper for settlement format {name!r}")


@cache
def settlement_format(name: str) -> SettlementFormat:
    """The format called ``name`` in the data (KeyError when there is none)."""
    spec = _data()["formats"][name]
    to_line, from_line = _mappers(name, spec)
    return SettlementFormat(name=name, delimiter=spec["delimiter"], header=tuple(spec["header"]),
                            trailer_tag=spec["trailer_tag"], amount_unit=int(spec["amount_unit"]),
                            paid_at_grace_s=int(spec["paid_at_grace_s"]), file_extension=spec["file_extension"],
                            to_line=to_line, from_line=from_line)


def format_for_bank(bank_code: str) -> SettlementFormat:
    """The format ``bank_code`` delivers (KeyError for a bank without settlement files)."""
    return settlement_format(_data()["banks"][bank_code])
