"""The review of an imported tax commune list and the versioned map it becomes (M10): pure rules, no I/O.

An import keeps every row with its match (status, candidates, flags) and, once a person has looked, their
decision: ``accept`` the match, ``choose`` a statistics commune (a correction, or the answer to an ambiguous or
missing row), or ``exclude`` the row (a duplicate line, a commune the tax authority no longer uses). A row matched
once and flagged for nothing but a loose spelling needs no decision. Publishing turns the decided rows into a map
version (tax code -> statistics code of today's list); it is refused while a row waits for a decision or while one
tax code would map to two communes (a planted duplicate the reviewer did not settle).
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.communes.domain import Candidate, ConfirmedEntry, Flag, MatchResult, MatchStatus, TaxCommuneRow, confirm
from chalicelib.core import admin_units
from chalicelib.core.validation import InvalidValueError

Action = Literal["accept", "choose", "exclude"]
MAX_IMPORT_ROWS = 2000  # one province's list: today's largest province has under 200 communes, pre-2025 under 700


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Action
    standard_code: str | None = None
    by: str
    at: str


class CandidateView(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    name: str
    score: float


class ImportRow(BaseModel):
    """One row of the tax list, its match and the reviewer's decision."""

    model_config = ConfigDict(extra="forbid")
    line: int
    tax_code: str
    tax_name: str
    row_province: str = ""
    status: MatchStatus
    candidates: list[CandidateView] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)
    needs_review: bool
    decision: Decision | None = None

    @property
    def decided(self) -> bool:
        return self.decision is not None or not self.needs_review

    def result(self, province_code: str) -> MatchResult:
        return MatchResult(TaxCommuneRow(self.tax_code, self.tax_name, self.row_province, self.line), province_code,
                           self.status, tuple(Candidate(c.code, c.name, c.score) for c in self.candidates),
                           tuple(self.flags))

    def target(self, province_code: str) -> ConfirmedEntry | None:
        """The map entry this row stands for once decided (None when excluded or undecided)."""
        if self.decision is not None and self.decision.action == "exclude":
            return None
        if self.decision is not None and self.decision.action == "choose":
            return confirm(self.result(province_code), self.decision.standard_code)
        if self.decided and self.status is MatchStatus.MATCHED:
            return confirm(self.result(province_code))
        return None


class RowErrorView(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line: int
    code: str
    message: str


class CommuneImport(BaseModel):
    """An imported tax list under review, for one province (statistics code of today's list)."""

    model_config = ConfigDict(extra="forbid")
    import_id: str
    province_code: str
    province_name: str
    file_name: str
    created_at: str
    created_by: str
    rows: list[ImportRow]
    errors: list[RowErrorView] = Field(default_factory=list)
    status: Literal["draft", "published"] = "draft"
    published_version: int | None = None
    rev: int = 0

    def summary(self) -> dict[str, int]:
        counts = {s.value: 0 for s in MatchStatus}
        for row in self.rows:
            counts[row.status.value] += 1
        return {"rows": len(self.rows), **{k.lower(): v for k, v in counts.items()},
                "needs_review": sum(1 for r in self.rows if r.needs_review),
                "undecided": sum(1 for r in self.rows if not r.decided), "errors": len(self.errors)}


class MapEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tax_code: str
    tax_name: str
    standard_code: str
    standard_name: str
    code_list_version: str = admin_units.CURRENT_VERSION


class CommuneMap(BaseModel):
    """A published, immutable version of a province's map; the latest is the current one intake uses."""

    model_config = ConfigDict(extra="forbid")
    province_code: str
    province_name: str
    version: int = Field(ge=1)
    published_at: str
    published_by: str
    import_id: str
    entries: list[MapEntry]

    def lookup(self) -> dict[str, MapEntry]:
        return {e.tax_code: e for e in self.entries}

    def confirmed(self) -> list[ConfirmedEntry]:
        return [ConfirmedEntry(e.tax_code, e.tax_name, self.province_code, e.standard_code, e.standard_name,
                               e.code_list_version) for e in self.entries]


def import_rows(results: list[MatchResult]) -> list[ImportRow]:
    return [ImportRow(line=r.row.line, tax_code=r.row.tax_code, tax_name=r.row.name, row_province=r.row.province,
                      status=r.status, candidates=[CandidateView(code=c.code, name=c.name, score=c.score)
                                                   for c in r.candidates],
                      flags=list(r.flags), needs_review=r.needs_review) for r in results]


def decide(draft: CommuneImport, line: int, action: Action, standard_code: str | None, by: str,
           at: str) -> CommuneImport:
    """The import with one row decided; a choice must be a commune of the province (``confirm`` checks it)."""
    rows = {r.line: r for r in draft.rows}
    row = rows.get(line)
    if row is None:
        raise InvalidValueError("IMPORT_ROW_UNKNOWN", f"Không có dòng {line} trong tệp đã nhập.")
    if action == "accept" and row.status is not MatchStatus.MATCHED:
        raise InvalidValueError("COMMUNE_NOT_CHOSEN", f"Dòng {line} chưa khớp duy nhất một xã: hãy chọn mã xã chuẩn.")
    if action == "choose":
        if not standard_code:
            raise InvalidValueError("COMMUNE_NOT_CHOSEN", f"Dòng {line}: cần chọn mã xã chuẩn.")
        confirm(row.result(draft.province_code), standard_code.strip().zfill(5))
        standard_code = standard_code.strip().zfill(5)
    decided = row.model_copy(update={"decision": Decision(action=action, standard_code=standard_code if action ==
                                                          "choose" else None, by=by, at=at)})
    return draft.model_copy(update={"rows": [decided if r.line == line else r for r in draft.rows]})


class PublishRefusedError(ValueError):
    def __init__(self, code: str, message: str, lines: list[int]) -> None:
        super().__init__(message)
        self.code, self.message, self.lines = code, message, lines


def build_map(draft: CommuneImport, version: int, by: str, at: str) -> CommuneMap:
    """The map version of a fully reviewed import (one entry per tax code; repeated identical rows collapse)."""
    waiting = [r.line for r in draft.rows if not r.decided]
    if waiting:
        raise PublishRefusedError("IMPORT_NOT_REVIEWED", f"Còn {len(waiting)} dòng chưa được xác nhận hoặc chỉnh "
                                  "sửa (các dòng trùng tên, chưa khớp hoặc bị gắn cờ).", waiting)
    entries: dict[str, MapEntry] = {}
    lines: dict[str, int] = {}
    clashes: list[int] = []
    for row in draft.rows:
        target = row.target(draft.province_code)
        if target is None:
            continue
        entry = MapEntry(tax_code=target.tax_code, tax_name=target.tax_name, standard_code=target.standard_code,
                         standard_name=target.standard_name, code_list_version=target.version)
        known = entries.get(entry.tax_code)
        if known is not None and known.standard_code != entry.standard_code:
            clashes += [lines[entry.tax_code], row.line]
        entries.setdefault(entry.tax_code, entry)
        lines.setdefault(entry.tax_code, row.line)
    if clashes:
        raise PublishRefusedError("TAX_CODE_CONFLICT", "Một mã xã của cơ quan thuế đang được ánh xạ tới hai xã khác "
                                  "nhau: hãy loại bỏ dòng trùng hoặc chọn lại.", sorted(set(clashes)))
    if not entries:
        raise PublishRefusedError("IMPORT_EMPTY", "Không có dòng nào để công bố.", [])
    return CommuneMap(province_code=draft.province_code, province_name=draft.province_name, version=version,
                      published_at=at, published_by=by, import_id=draft.import_id,
                      entries=sorted(entries.values(), key=lambda e: e.tax_code))
