"""Vietnam's administrative units as the product keys on them: provinces (statistics and agency codes) and communes.

Two code-list versions exist side by side and codes are reused between them (commune 00004 was Phường Trúc Bạch
and is now Phường Ba Đình; province 24 was Bắc Giang and is now Bắc Ninh), so every lookup names its version:
``2025-07-01`` (34 provinces, no districts, 3,321 communes) and ``2025-06-30`` (63 provinces, the communes in force
until the 2025 reorganisation). The data is in ``data/admin_units/``: ``provinces.json`` and the commune files are
generated from a maintained package by ``infra/admin_units_data.py``; ``agency_codes.json`` (level-1 agency codes,
``H__``) is research kept by hand, and most of its codes are unverified (see each entry's ``verified``/``evidence``).
"""
from __future__ import annotations

import gzip
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib.core.validation import InvalidValueError

CURRENT_VERSION = "2025-07-01"
LEGACY_VERSION = "2025-06-30"
VERSIONS = (CURRENT_VERSION, LEGACY_VERSION)

_DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "admin_units"
# Any agency identification code (levels 4.3.2.1): the province is its level-1 part, e.g. 000.00.32.H19 -> H19.
_AGENCY_RE = re.compile(r"^(?:[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.)?(H\d{2})$")
_PROVINCE_PREFIX_RE = re.compile(r"^(?:tinh|thanh pho|tp\.?)\s+")
# Names people still write: Thừa Thiên Huế became Thành phố Huế in 2025; Hồ Chí Minh City is often "TP HCM".
_NAME_ALIASES = {"thua thien hue": "hue", "hcm": "ho chi minh", "tphcm": "ho chi minh", "sai gon": "ho chi minh"}


@dataclass(frozen=True)
class Province:
    """A province of one code-list version; a pre-2025 one names the current province it merged into."""

    stats_code: str
    name: str
    short_name: str
    version: str
    agency_code: str  # level-1 code, e.g. "H49" (for a pre-2025 province: the one it held)
    agency_code_verified: bool  # False unless a primary text confirmed it (see data/admin_units/agency_codes.json)
    agency_code_evidence: str  # primary | official_report | observed_in_use | inferred
    successor_code: str | None  # the current province's statistics code (pre-2025 provinces only)
    formed_from: tuple[str, ...] = ()  # pre-2025 statistics codes (current provinces only)
    agency_code_closed: bool = False  # pre-2025 only: the merger closed the code (no namesake today)

    @property
    def is_current(self) -> bool:
        return self.version == CURRENT_VERSION

    @property
    def agency_id(self) -> str:
        """The province People's Committee's full agency identification code, e.g. ``000.00.00.H49``."""
        return f"000.00.00.{self.agency_code}"


@dataclass(frozen=True)
class Commune:
    """A commune-level unit (xã, phường, thị trấn, đặc khu) of one code-list version."""

    code: str
    name: str
    province_code: str
    version: str
    district_code: str | None = None  # pre-2025 only: the district level was abolished on 2025-07-01
    district_name: str | None = None


@dataclass(frozen=True)
class LegacyCommune:
    """A pre-2025 commune and the current communes that took over its territory."""

    commune: Commune
    successor_codes: tuple[str, ...]  # version 2025-07-01; for a split commune the package's default comes first
    split: bool

    @property
    def ambiguous(self) -> bool:
        """A split commune maps to several current ones: which applies to an address needs a human (or the address)."""
        return len(self.successor_codes) > 1


def strip_diacritics(text: str) -> str:
    """``text`` without Vietnamese diacritics, ``đ`` as ``d``; case and spacing are left as they are."""
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def fold(text: str) -> str:
    """The loosest comparable form of a Vietnamese name: NFC, case-folded, no diacritics, single spaces."""
    return " ".join(strip_diacritics(unicodedata.normalize("NFC", text).casefold()).split())


def _read_json(name: str) -> Any:
    raw = (_DATA_DIR / name).read_bytes()
    return json.loads(gzip.decompress(raw) if name.endswith(".gz") else raw)


@cache
def _agency_codes() -> dict[str, dict[str, Any]]:
    """Pre-2025 statistics code -> its agency-code entry."""
    return {row["legacy_stats_code"]: row for row in _read_json("agency_codes.json")["agency_codes"]}


@cache
def _provinces() -> dict[str, dict[str, Province]]:
    """Version -> statistics code -> Province."""
    data = _read_json("provinces.json")["provinces"]
    codes = _agency_codes()
    out: dict[str, dict[str, Province]] = {CURRENT_VERSION: {}, LEGACY_VERSION: {}}
    current_names = {row["short_name"] for row in data[CURRENT_VERSION]}
    for row in data[LEGACY_VERSION]:
        entry = codes[row["stats_code"]]
        # Decision 09/2025/QĐ-TTg: the code of the pre-merger province bearing the new province's name lives on,
        # the others are closed.
        out[LEGACY_VERSION][row["stats_code"]] = Province(
            row["stats_code"], row["name"], row["short_name"], LEGACY_VERSION, entry["agency_code"],
            entry["verified"], entry["evidence"], row["successor"],
            agency_code_closed=row["short_name"] not in current_names)
    by_short = {p.short_name: p for p in out[LEGACY_VERSION].values()}
    for row in data[CURRENT_VERSION]:
        namesake = by_short[row["short_name"]]
        out[CURRENT_VERSION][row["stats_code"]] = Province(
            row["stats_code"], row["name"], row["short_name"], CURRENT_VERSION, namesake.agency_code,
            namesake.agency_code_verified, namesake.agency_code_evidence, None, tuple(row["formed_from"]))
    return out


@cache
def _agency_index() -> dict[str, Province]:
    """Level-1 code -> the pre-2025 province that held it (closed codes included)."""
    return {p.agency_code: p for p in _provinces()[LEGACY_VERSION].values()}


def _check_version(version: str) -> None:
    if version not in VERSIONS:
        raise InvalidValueError("ADMIN_UNIT_VERSION_UNKNOWN", "Phiên bản danh mục đơn vị hành chính không hợp lệ.")


def provinces(version: str = CURRENT_VERSION) -> list[Province]:
    """The provinces of a code-list version, by statistics code."""
    _check_version(version)
    return sorted(_provinces()[version].values(), key=lambda p: p.stats_code)


def province_by_stats_code(code: str, version: str = CURRENT_VERSION) -> Province | None:
    """The province with this 2-digit statistics code in ``version`` (``"4"`` is read as ``"04"``)."""
    _check_version(version)
    text = code.strip() if isinstance(code, str) else ""
    return _provinces()[version].get(text.zfill(2)) if text.isdigit() and len(text) <= 2 else None


def province_by_agency_code(code: str) -> Province | None:
    """The province whose People's Committee holds this level-1 agency code.

    Accepts ``H49``, ``000.00.00.H49`` or any agency code under the province (``000.00.32.H19``). The answer is
    the current province when the code is still in use, else the pre-2025 province that held the closed code
    (use ``current_province`` for where it went).
    """
    match = _AGENCY_RE.match(code.strip().upper()) if isinstance(code, str) else None
    if match is None:
        return None
    holder = _agency_index().get(match.group(1))
    if holder is None or holder.agency_code_closed:
        return holder
    return _provinces()[CURRENT_VERSION][holder.successor_code]


def successor_of(province: Province | str) -> Province:
    """The current province a province (or a pre-2025 statistics code) is part of; a current one is itself."""
    if isinstance(province, str):
        found = province_by_stats_code(province, LEGACY_VERSION)
        if found is None:
            raise _unknown_province()
        province = found
    if province.is_current:
        return province
    return _provinces()[CURRENT_VERSION][province.successor_code]


def current_province(agency_or_stats: str) -> Province:
    """The current province for an agency code (``H57``, ``000.00.00.H57``) or a statistics code of either version.

    Closed codes map to the successor. A 2-digit statistics code is unambiguous here even though codes were reused:
    a merged province keeps its seat's code, so an old code and the current province with that code coincide
    (old 24 Bắc Giang and today's 24 Bắc Ninh are both Bắc Ninh now).
    """
    text = agency_or_stats.strip() if isinstance(agency_or_stats, str) else ""
    if text.isdigit():
        found = province_by_stats_code(text) or province_by_stats_code(text, LEGACY_VERSION)
    else:
        found = province_by_agency_code(text)
    if found is None:
        raise _unknown_province()
    return successor_of(found)


def province_of(code: str | None) -> Province | None:
    """The current province an agency code (any level: ``000.00.43.H35`` counts for its province), a level-1 code or
    a statistics code of either version belongs to; None when the table does not know it. The one place a scope
    check learns what a code means: never from what a request says about itself."""
    try:
        return current_province(code) if code else None
    except InvalidValueError:
        return None


def same_province(a: str | None, b: str | None) -> bool:
    """Do two codes (any of the forms ``province_of`` takes) name the same current province? False when either is
    unknown to the table: an unknown code is in nobody's scope."""
    first, second = province_of(a), province_of(b)
    return first is not None and second is not None and first.stats_code == second.stats_code


def province_by_name(name: str) -> Province | None:
    """The province named ``name`` (with or without "Tỉnh"/"Thành phố"/"TP.", any case or diacritics).

    Current provinces first; a pre-2025 name ("Hà Giang", "Thừa Thiên Huế") returns that pre-2025 province, whose
    successor is the current one.
    """
    key = _PROVINCE_PREFIX_RE.sub("", fold(name)) if isinstance(name, str) else ""
    key = _NAME_ALIASES.get(key, key)
    for version in VERSIONS:
        for p in _provinces()[version].values():
            if fold(p.short_name) == key or fold(p.name) == key:
                return p
    return None



def _unknown_province() -> InvalidValueError:
    return InvalidValueError("PROVINCE_UNKNOWN", "Không tìm thấy tỉnh, thành phố với mã hoặc tên đã cho.")


@cache
def _communes(version: str) -> dict[str, Commune]:
    data = _read_json(f"communes-{version}.json.gz")
    if data["version"] != version:
        raise RuntimeError(f"communes file of {version} holds version {data['version']}")
    if version == CURRENT_VERSION:
        return {c: Commune(c, n, p, version) for c, n, p in data["rows"]}
    return {row[0]: Commune(row[0], row[1], row[4], version, row[2], row[3]) for row in data["rows"]}


@cache
def _legacy() -> dict[str, LegacyCommune]:
    rows = _read_json(f"communes-{LEGACY_VERSION}.json.gz")["rows"]
    communes = _communes(LEGACY_VERSION)
    return {row[0]: LegacyCommune(communes[row[0]], tuple(row[5]), bool(row[6])) for row in rows}


@cache
def _by_province(version: str) -> dict[str, tuple[Commune, ...]]:
    grouped: dict[str, list[Commune]] = {}
    for c in _communes(version).values():
        grouped.setdefault(c.province_code, []).append(c)
    return {k: tuple(v) for k, v in grouped.items()}


def _commune_code(code: str) -> str | None:
    text = code.strip() if isinstance(code, str) else ""
    return text.zfill(5) if text.isdigit() and len(text) <= 5 else None


def commune(code: str, version: str = CURRENT_VERSION) -> Commune | None:
    """The commune with this 5-digit statistics code in ``version`` (shorter digit strings are zero-padded)."""
    _check_version(version)
    key = _commune_code(code)
    return _communes(version).get(key) if key else None


def communes_of_province(province_code: str, version: str = CURRENT_VERSION) -> list[Commune]:
    """The communes of a province of the same version, by code."""
    province = province_by_stats_code(province_code, version)
    if province is None:
        raise _unknown_province()
    return list(_by_province(version).get(province.stats_code, ()))


def legacy_commune(old_code: str) -> LegacyCommune | None:
    """A pre-2025 commune with its successors, or None when the code was not in the pre-2025 list."""
    key = _commune_code(old_code)
    return _legacy().get(key) if key else None


def translate_legacy_commune(old_code: str) -> list[Commune]:
    """The current commune(s) a pre-2025 commune code became: one for a whole commune, several for a split one.

    Several means the mapping is ambiguous (see ``LegacyCommune.ambiguous``): the first is the package's default
    successor, not a decision. An unknown code is refused with COMMUNE_UNKNOWN.
    """
    found = legacy_commune(old_code)
    if found is None:
        raise InvalidValueError("COMMUNE_UNKNOWN", "Mã xã không có trong danh mục đơn vị hành chính trước 01/07/2025.")
    current = _communes(CURRENT_VERSION)
    return [current[c] for c in found.successor_codes]
