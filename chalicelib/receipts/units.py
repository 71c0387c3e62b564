"""Names of collecting units (the body whose receipt series a payment draws from), kept as data.

The unit is the province-level agency code derived from the dossier code. The names in the data file are
unverified against the official agency-code list: they are configuration, not code.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

_DATA = Path(__file__).resolve().parent.parent / "data" / "collecting_units.json"


@cache
def _units() -> dict[str, dict]:
    return {u["code"]: u for u in json.loads(_DATA.read_text(encoding="utf-8"))["units"]}


def collecting_unit_name(code: str) -> str:
    unit = _units().get(code)
    if unit:
        return unit["name_vi"]
    return f"Cơ quan thuế quản lý (đơn vị {code})"
