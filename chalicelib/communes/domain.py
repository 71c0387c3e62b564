"""The commune-code map's vocabulary: a tax-authority row, a match result, an import error, a confirmed entry.

The tax authority codes communes in its own scheme (7 digits before 2025, e.g. 7010917; its post-2025 scheme is
not known here), so a tax commune code is accepted as 1 to 10 digits. A confirmed entry is what the map (M1) uses:
tax commune code -> statistics commune code of a named code-list version.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from chalicelib.core import admin_units
from chalicelib.core.validation import InvalidValueError

TAX_CODE_MAX_DIGITS = 10


class MatchStatus(str, Enum):
    MATCHED = "MATCHED"  # exactly one commune of the province has this name
    AMBIGUOUS = "AMBIGUOUS"  # several communes of the province have this name: a person chooses
    MISSING = "MISSING"  # none: the nearest names are offered


class Flag(str, Enum):
    DUPLICATE_CODE = "DUPLICATE_CODE"  # the same tax commune code on several rows of the list
    DUPLICATE_NAME = "DUPLICATE_NAME"  # the same commune name twice in one province of the list
    SHARED_TARGET = "SHARED_TARGET"  # another row matched the same statistics commune
    LOOSE_MATCH = "LOOSE_MATCH"  # a name typed without diacritics matched once diacritics were ignored
    DIACRITICS_DIFFER = "DIACRITICS_DIFFER"  # the row's diacritics disagree with the only near-equal name: review
    PROVINCE_UNKNOWN = "PROVINCE_UNKNOWN"  # the row's province is not a known province
    PROVINCE_MISMATCH = "PROVINCE_MISMATCH"  # the row names another province than the one being aligned
    EMPTY_NAME = "EMPTY_NAME"


@dataclass(frozen=True)
class TaxCommuneRow:
    """One row of the tax authority's commune list, as imported (``line`` is its row number in the file)."""

    tax_code: str
    name: str
    province: str = ""
    line: int = 0


@dataclass(frozen=True)
class Candidate:
    """A statistics commune offered for a row, with how alike the names are (0..1, 1 for a name match)."""

    code: str
    name: str
    score: float


@dataclass(frozen=True)
class MatchResult:
    row: TaxCommuneRow
    province_code: str | None  # statistics code, in ``version``
    status: MatchStatus
    candidates: tuple[Candidate, ...]
    flags: tuple[Flag, ...] = ()
    version: str = admin_units.CURRENT_VERSION

    @property
    def matched(self) -> Candidate | None:
        return self.candidates[0] if self.status is MatchStatus.MATCHED else None

    @property
    def needs_review(self) -> bool:
        return self.status is not MatchStatus.MATCHED or any(f is not Flag.LOOSE_MATCH for f in self.flags)


@dataclass(frozen=True)
class RowError:
    """A row the importer could not read; ``message`` is Vietnamese, for the person who made the file."""

    line: int
    code: str
    message: str


@dataclass(frozen=True)
class ImportResult:
    rows: tuple[TaxCommuneRow, ...]
    errors: tuple[RowError, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class ConfirmedEntry:
    """One line of the confirmed map: a tax commune code and the statistics commune it stands for."""

    tax_code: str
    tax_name: str
    province_code: str
    standard_code: str
    standard_name: str
    version: str = admin_units.CURRENT_VERSION


def parse_tax_code(raw: object) -> str:
    """A tax commune code as digits (1-10); spaces around it are ignored, anything else is refused."""
    text = str(raw).strip() if raw is not None else ""
    if not text.isascii() or not text.isdigit() or len(text) > TAX_CODE_MAX_DIGITS:
        raise InvalidValueError("TAX_COMMUNE_CODE_INVALID", "Mã xã của cơ quan thuế phải gồm từ 1 đến 10 chữ số.")
    return text


def confirm(result: MatchResult, standard_code: str | None = None) -> ConfirmedEntry:
    """The map entry for a reviewed row: its match, or the statistics commune a person chose.

    A chosen code must be a commune of the row's province in the result's version: a mapping to another province
    would send the citizen's obligation to the wrong place.
    """
    if result.province_code is None:
        raise InvalidValueError("PROVINCE_UNKNOWN", "Chưa xác định được tỉnh của dòng này.")
    code = standard_code or (result.matched.code if result.matched else None)
    if code is None:
        raise InvalidValueError("COMMUNE_NOT_CHOSEN", "Cần chọn mã xã chuẩn cho dòng chưa khớp hoặc trùng tên.")
    commune = admin_units.commune(code, result.version)
    if commune is None or commune.province_code != result.province_code:
        raise InvalidValueError("COMMUNE_NOT_IN_PROVINCE", "Mã xã chuẩn không thuộc tỉnh của dòng này.")
    return ConfirmedEntry(result.row.tax_code, result.row.name, result.province_code, commune.code, commune.name,
                          result.version)
