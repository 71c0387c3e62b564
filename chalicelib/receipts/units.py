"""Collecting units (đơn vị thu): the body whose name, tax code and receipt series a payment's receipt carries, kept as
data (``data/collecting_units.json``), one per province-level tax body.

A payment's unit is the level-1 agency code of its dossier's province. Codes closed by the 2025 mergers resolve to
the unit that collects for them now, so an old dossier code still finds a unit. The data file says what is verified
and what is not (the tax codes are stand-ins until operations enter the registered ones): it is configuration, not
code. A code the file does not know has no unit: notices for it are refused at intake, so no payment can reach the
bank without a unit to issue its receipt.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from chalicelib.core.validation import RuleError

_DATA = Path(__file__).resolve().parent.parent / "data" / "collecting_units.json"
# The 20-letter Vietnamese alphabet of Circular 91/2026's series letters (no F, I, J, O, W, Z).
SERIES_LETTERS = re.compile(r"[ABCDEGHKLMNPQRSTUVXY]{2}", re.ASCII)


class UnknownCollectingUnitError(RuleError):
    """A province code of the right form with no collecting unit in the data: a rule beyond the schema."""

    def __init__(self, code: str) -> None:
        super().__init__("COLLECTING_UNIT_UNKNOWN",
                         f"Không có đơn vị thu cho mã cơ quan {code[:40]} trong danh mục đơn vị thu.")


@dataclass(frozen=True)
class CollectingUnit:
    code: str  # level-1 agency code, e.g. 000.00.00.H49
    name: str  # printed on the receipt, e.g. "Thuế tỉnh Quảng Ninh"
    tax_code: str
    series_letters: str  # the two letters after "YYT" in this unit's series (e.g. "AA" -> 26TAA)
    tax_code_verified: bool = False


@cache
def _table() -> tuple[dict[str, CollectingUnit]]:
    raw = json.loads(_DATA.read_text(encoding="utf-8"))
    units = {}
    for u in raw["units"]:
        if not SERIES_LETTERS.fullmatch(u["series_letters"]):
            raise ValueError(f"collecting unit {u['code']}: series letters outside the 20-letter alphabet")
        units[u["code"]] = CollectingUnit(u["code"], u["name_vi"], u["tax_code"], u["series_letters"],
                                          bool(u.get("tax_code_verified")))
    return (units,)


def all_units() -> list[CollectingUnit]:
    return sorted(_table()[0].values(), key=lambda u: u.code)


def unit_code_for(agency_code: str) -> str:
    """The collecting unit of a province's level-1 agency code, resolved through the administrative-unit table (a
    closed pre-2025 code, or a statistics code, gives its current province's unit)."""
    from chalicelib.core.admin_units import province_of

    province = province_of(agency_code) if isinstance(agency_code, str) else None
    code = f"000.00.00.{province.agency_code}" if province is not None else agency_code
    if code not in _table()[0]:
        raise UnknownCollectingUnitError(str(agency_code))
    return code


def collecting_unit(code: str) -> CollectingUnit:
    return _table()[0][unit_code_for(code)]


def collecting_unit_name(code: str) -> str:
    return collecting_unit(code).name
