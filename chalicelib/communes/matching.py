"""Match a tax-authority commune list to the statistics commune codes, province by province (the letter's VLOOKUP).

Per row: find the row's province, then the communes of that province whose name has the same exact key (diacritics
kept, tone placement and unit words ignored). One hit is MATCHED; several are AMBIGUOUS (a province can have two
communes of one name, and "Phường An Bình" and "Xã An Bình" both lose their unit word); none falls back to the loose
key (no diacritics), with the same rule, and then to MISSING with up to three nearest names (difflib ratio). The
list itself is checked too: a tax code or a name twice, or two rows on one statistics commune, is flagged.
"""
from __future__ import annotations

import difflib
import random
import time
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Iterable

from chalicelib.communes.domain import Candidate, Flag, MatchResult, MatchStatus, TaxCommuneRow
from chalicelib.communes.normalise import NameKey, name_key
from chalicelib.core import admin_units
from chalicelib.core.validation import InvalidValueError

NEAREST = 3
NEAREST_CUTOFF = 0.6


@dataclass(frozen=True)
class _Entry:
    commune: admin_units.Commune
    key: NameKey


@dataclass(frozen=True)
class _ProvinceIndex:
    exact: dict[str, tuple[_Entry, ...]]
    loose: dict[str, tuple[_Entry, ...]]
    by_display: dict[str, tuple[_Entry, ...]]


def _group(entries: Iterable[_Entry], attr: str) -> dict[str, tuple[_Entry, ...]]:
    out: dict[str, list[_Entry]] = {}
    for e in entries:
        out.setdefault(getattr(e.key, attr), []).append(e)
    return {k: tuple(v) for k, v in out.items()}


@cache
def _index(province_code: str, version: str) -> _ProvinceIndex:
    entries = [_Entry(c, name_key(c.name)) for c in admin_units.communes_of_province(province_code, version)]
    return _ProvinceIndex(_group(entries, "exact"), _group(entries, "loose"), _group(entries, "display"))


def resolve_province(text: str, version: str = admin_units.CURRENT_VERSION) -> str | None:
    """The statistics code, in ``version``, of a province given by code or name; None when unknown.

    For today's list an old province ("Hà Giang", "02") resolves to the province it merged into.
    """
    text = (text or "").strip()
    if not text:
        return None
    if version == admin_units.CURRENT_VERSION:
        try:
            return admin_units.current_province(text).stats_code
        except ValueError:
            found = admin_units.province_by_name(text)
            return admin_units.successor_of(found).stats_code if found else None
    if text.isdigit():
        found = admin_units.province_by_stats_code(text, version)
        return found.stats_code if found else None
    key = admin_units.fold(text)
    for p in admin_units.provinces(version):
        if key in (admin_units.fold(p.name), admin_units.fold(p.short_name)):
            return p.stats_code
    return None


def _candidates(entries: Iterable[_Entry], unit_type: str | None, score: float = 1.0) -> tuple[Candidate, ...]:
    # The commune of the unit the row named ("Phường ...") first: the likeliest choice for the reviewer.
    ordered = sorted(entries, key=lambda e: (e.key.unit_type != unit_type, e.commune.code))
    return tuple(Candidate(e.commune.code, e.commune.name, score) for e in ordered)


def _nearest(index: _ProvinceIndex, key: NameKey) -> tuple[Candidate, ...]:
    names = difflib.get_close_matches(key.display, list(index.by_display), n=NEAREST, cutoff=NEAREST_CUTOFF)
    found = []
    for display in names:
        ratio = round(difflib.SequenceMatcher(None, key.display, display).ratio(), 3)
        found.extend(_candidates(index.by_display[display], key.unit_type, ratio))
    return tuple(found[:NEAREST])


def match_name(name: str, province_code: str,
               version: str = admin_units.CURRENT_VERSION) -> tuple[MatchStatus, tuple[Candidate, ...], bool]:
    """Status and candidates for one commune name in one province, and whether only the loose key matched."""
    index = _index(province_code, version)
    key = name_key(name)
    hits = index.exact.get(key.exact, ())
    loose = False
    if not hits:
        hits = index.loose.get(key.loose, ()) or index.loose.get(key.loose_whole, ())
        loose = bool(hits)
    if len(hits) == 1:
        return MatchStatus.MATCHED, _candidates(hits, key.unit_type), loose
    if hits:
        return MatchStatus.AMBIGUOUS, _candidates(hits, key.unit_type), loose
    return MatchStatus.MISSING, _nearest(index, key), False


def _list_flags(rows: list[TaxCommuneRow], provinces: list[str | None]) -> list[list[Flag]]:
    codes = Counter(r.tax_code for r in rows)
    names = Counter((p, name_key(r.name).loose) for r, p in zip(rows, provinces, strict=True) if p and r.name.strip())
    flags: list[list[Flag]] = []
    for r, p in zip(rows, provinces, strict=True):
        row_flags = []
        if codes[r.tax_code] > 1:
            row_flags.append(Flag.DUPLICATE_CODE)
        if p and r.name.strip() and names[(p, name_key(r.name).loose)] > 1:
            row_flags.append(Flag.DUPLICATE_NAME)
        flags.append(row_flags)
    return flags


def _match_one(row: TaxCommuneRow, province: str | None, fixed: str | None, flags: list[Flag],
               version: str) -> MatchResult:
    if fixed and province and province != fixed:
        flags.append(Flag.PROVINCE_MISMATCH)
    province = fixed or province
    if province is None:
        return MatchResult(row, None, MatchStatus.MISSING, (), tuple(flags + [Flag.PROVINCE_UNKNOWN]), version)
    if not row.name.strip():
        return MatchResult(row, province, MatchStatus.MISSING, (), tuple(flags + [Flag.EMPTY_NAME]), version)
    status, candidates, loose = match_name(row.name, province, version)
    if loose:
        # Typed without diacritics, ignoring them is the only way to match; typed with other diacritics ("Bắ Sơn"
        # for "Bắc Sơn" finding "Ba Sơn"), the name may well be another commune, so a person looks.
        typed_plain = admin_units.strip_diacritics(row.name) == row.name
        flags.append(Flag.LOOSE_MATCH if typed_plain else Flag.DIACRITICS_DIFFER)
    return MatchResult(row, province, status, candidates, tuple(flags), version)


def match_rows(rows: Iterable[TaxCommuneRow], province: str | None = None,
               version: str = admin_units.CURRENT_VERSION) -> list[MatchResult]:
    """Match every row to a statistics commune of its province (or of ``province``, code or name, for all rows)."""
    rows = list(rows)
    fixed = resolve_province(province, version) if province else None
    if province and fixed is None:
        raise InvalidValueError("PROVINCE_UNKNOWN", "Không tìm thấy tỉnh, thành phố cần đối chiếu.")
    provinces = [resolve_province(r.province, version) if r.province else None for r in rows]
    flags = _list_flags(rows, [fixed or p for p in provinces])
    results = [_match_one(r, p, fixed, f, version) for r, p, f in zip(rows, provinces, flags, strict=True)]
    targets = Counter(r.matched.code for r in results if r.matched)
    return [_with_flag(r, Flag.SHARED_TARGET) if r.matched and targets[r.matched.code] > 1 else r for r in results]


def _with_flag(result: MatchResult, flag: Flag) -> MatchResult:
    return MatchResult(result.row, result.province_code, result.status, result.candidates,
                       result.flags + (flag,), result.version)


def _misspell(name: str, rng: random.Random) -> str:
    words = name.split()
    i = rng.randrange(1, len(words)) if len(words) > 1 else 0
    w = words[i]
    if len(w) > 2:
        j = rng.randrange(1, len(w))
        words[i] = w[:j] + w[j + 1:]  # one letter dropped, the commonest typing slip
    return " ".join(words)


def _synthetic_rows(n: int, rng: random.Random) -> tuple[list[TaxCommuneRow], list[str | None], Counter]:
    """Today's communes as a tax list, with diacritics dropped, unit words abbreviated, misspellings, unknown
    names and duplicated rows planted; returns the rows, the true code of each (None when planted as unknown) and
    how many of each kind were planted."""
    communes = [c for p in admin_units.provinces() for c in admin_units.communes_of_province(p.stats_code)][:n]
    rows, truth, planted = [], [], Counter()
    for i, c in enumerate(communes):
        name, kind = c.name, rng.random()
        if kind < 0.03:
            name, what = f"Xã Không Có {i}", "missing"
        elif kind < 0.08:
            name, what = _misspell(name, rng), "misspelt"
        elif kind < 0.25:
            name, what = admin_units.strip_diacritics(name), "no_diacritics"
        elif kind < 0.40:
            name, what = name.replace("Phường ", "P.").replace("Xã ", "X."), "abbreviated"
        else:
            what = "clean"
        planted[what] += 1
        rows.append(TaxCommuneRow(str(7000000 + i), name, c.province_code, i + 2))
        truth.append(None if what == "missing" else c.code)
    for i in rng.sample(range(len(rows)), max(1, len(rows) // 100)):
        rows.append(TaxCommuneRow(rows[i].tax_code, rows[i].name, rows[i].province, len(rows) + 2))
        truth.append(truth[i])
        planted["duplicated"] += 1
    return rows, truth, planted


def match_bench(n: int = 3321, seed: int = 20250701) -> dict[str, object]:
    """Time the matcher on a synthetic tax list built from the real communes, and the share matched without review.

    ``wrong_automatic`` counts rows matched without review to another commune than the planted one: it must stay 0.
    """
    rows, truth, planted = _synthetic_rows(n, random.Random(seed))
    started = time.perf_counter()
    results = match_rows(rows)
    seconds = time.perf_counter() - started
    automatic = [(r, t) for r, t in zip(results, truth, strict=True) if not r.needs_review]
    offered = [(r, t) for r, t in zip(results, truth, strict=True) if r.status is MatchStatus.MISSING and t]
    return {
        "rows": len(rows), "seconds": round(seconds, 3), "planted": dict(planted),
        "statuses": dict(Counter(r.status.value for r in results)),
        "flagged_duplicate_codes": sum(1 for r in results if Flag.DUPLICATE_CODE in r.flags),
        "share_matched_automatically": round(len(automatic) / len(rows), 4),
        "wrong_automatic": sum(1 for r, t in automatic if r.matched.code != t),
        "missing_with_true_candidate": f"{sum(1 for r, t in offered if t in {c.code for c in r.candidates})}"
                                       f"/{len(offered)}",
    }
