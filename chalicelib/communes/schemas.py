"""The answers of the commune-code map routes (M10), as the HTTP contract states them."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.openapi import absent
from chalicelib.communes.review import ImportRow, MapEntry, RowErrorView


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImportSummary(_Out):
    rows: int
    matched: int = Field(description="Exactly one commune of the province has the row's name.")
    ambiguous: int = Field(description="Several communes of the province have that name: a person chooses.")
    missing: int = Field(description="None has it: the nearest names are offered.")
    needs_review: int = Field(description="Rows a person must decide (ambiguous, missing or flagged).")
    undecided: int = Field(description="Rows still waiting for a decision: publishing is refused while > 0.")
    errors: int = Field(description="Rows the file could not be read at (not imported).")


class ImportView(_Out):
    import_id: str
    province_code: str = Field(description="Statistics code of today's province (2 digits).")
    province_name: str
    file_name: str
    created_at: str
    created_by: str
    status: Literal["draft", "published"]
    published_version: int | None
    rows: list[ImportRow] = Field(description="Each row with its match (status, candidates, flags) and decision.")
    errors: list[RowErrorView]
    summary: ImportSummary


class MapView(_Out):
    province_code: str
    province_name: str
    version: int = Field(ge=1)
    published_at: str
    published_by: str
    import_id: str
    entry_count: int
    entries: list[MapEntry] | None = absent("Tax commune code -> statistics commune code (today's list).")


class MapVersions(_Out):
    province_code: str
    current_version: int | None = Field(description="The version intake uses; null before the first publication.")
    versions: list[MapView] = Field(description="Newest first, without their entries.")
