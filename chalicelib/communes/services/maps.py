"""M10 use cases: import a province's tax commune list, review the matches, publish a map version, read, export.

The operator (the government office, with the tax authority) works province by province, as the letter's procedure
does. The file travels in the JSON body as base64: a province's list is at most a few hundred rows (tens of KB), so
the import is one synchronous call that answers the match results, with no upload bucket, prefix or IAM grant to
keep; the body cap (``settings.max_body_bytes``) bounds it.
"""
from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.communes import tabular
from chalicelib.communes.matching import match_rows
from chalicelib.communes.ports import CommunesContext, StaleImportError
from chalicelib.communes.review import (
    MAX_IMPORT_ROWS,
    Action,
    CommuneImport,
    CommuneMap,
    PublishRefusedError,
    RowErrorView,
    build_map,
    decide,
    import_rows,
)
from chalicelib.core import admin_units
from chalicelib.core.errors import AppError, FieldError, conflict, not_found, validation_error
from chalicelib.core.parsing import parse
from chalicelib.core.validation import InvalidValueError

MAX_ATTEMPTS = 5
XLSX_MAGIC = b"PK\x03\x04"


# Standard base64 (RFC 4648 §4, padded): what b64decode(validate=True) reads.
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
FILE_RULES = ("FILE_ENCODING", "FILE_NOT_XLSX", "FILE_TOO_LARGE", "HEADER_NOT_FOUND")

class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    __rules__ = FILE_RULES  # what the file holds
    file_name: str = Field(min_length=1, max_length=200, description="e.g. danh-muc-xa-thue.xlsx")
    content_base64: str = Field(min_length=4, pattern=BASE64_PATTERN, description="The CSV or XLSX file, base64.")
    format: Literal["csv", "xlsx"] | None = Field(default=None, description="Omitted: from the file's content.")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    line: int = Field(ge=1, description="Row number in the file, as the import answered it.")
    action: Action = Field(description="accept the match, choose a statistics commune, or exclude the row.")
    standard_code: str | None = Field(default=None, max_length=5, description="For choose: 5-digit commune code.")


class DecisionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decisions: list[DecisionIn] = Field(min_length=1, max_length=MAX_IMPORT_ROWS)


def province(raw: str) -> admin_units.Province:
    """A current province by statistics code (the path's ``province_code``)."""
    found = admin_units.province_by_stats_code(raw) if raw.isdigit() and len(raw) == 2 else None
    if found is None:
        raise validation_error([FieldError("province_code", "PROVINCE_UNKNOWN",
                                           "Mã tỉnh phải là mã thống kê 2 chữ số của một trong 34 tỉnh, thành phố.")])
    return found


def _file(data: ImportIn) -> tuple[bytes, str]:
    try:
        raw = base64.b64decode(data.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise validation_error([FieldError("content_base64", "BASE64_INVALID",
                                           "Nội dung tệp không phải base64.")]) from None
    kind = data.format or ("xlsx" if raw.startswith(XLSX_MAGIC) else "csv")
    return raw, kind


def import_list(ctx: CommunesContext, by: str, province_code: str, body: dict) -> dict:
    target = province(province_code)
    data = parse(ImportIn, body)
    raw, kind = _file(data)
    try:
        read = tabular.import_xlsx(raw) if kind == "xlsx" else tabular.import_csv(raw)
        if len(read.rows) > MAX_IMPORT_ROWS:
            raise InvalidValueError("FILE_TOO_LARGE", f"Tệp của một tỉnh có tối đa {MAX_IMPORT_ROWS} dòng.")
        results = match_rows(read.rows, province=target.stats_code)
    except InvalidValueError as exc:
        # What the file holds is a rule beyond the schema: each answers its own (declared) code.
        raise validation_error([FieldError("content_base64", exc.code, exc.message, rule=True)], exc.message) from None
    draft = CommuneImport(import_id=ctx.new_id(), province_code=target.stats_code, province_name=target.name,
                          file_name=data.file_name, created_at=ctx.clock.now().isoformat(), created_by=by,
                          rows=import_rows(results),
                          errors=[RowErrorView(line=e.line, code=e.code, message=e.message) for e in read.errors])
    ctx.commune_maps.put_import(draft)
    return import_view(draft)


def import_view(draft: CommuneImport) -> dict:
    return {**draft.model_dump(mode="json", exclude={"rev"}), "summary": draft.summary()}


def _draft(ctx: CommunesContext, province_code: str, import_id: str) -> CommuneImport:
    draft = ctx.commune_maps.get_import(province(province_code).stats_code, import_id[:40])
    if draft is None:
        raise not_found("COMMUNE_IMPORT_NOT_FOUND", "Không tìm thấy lần nhập danh mục này.")
    return draft


def get_import(ctx: CommunesContext, province_code: str, import_id: str) -> dict:
    return import_view(_draft(ctx, province_code, import_id))


def review(ctx: CommunesContext, by: str, province_code: str, import_id: str, body: dict) -> dict:
    decisions = parse(DecisionsIn, body).decisions
    for _ in range(MAX_ATTEMPTS):
        draft = _draft(ctx, province_code, import_id)
        if draft.status == "published":
            raise conflict("COMMUNE_IMPORT_PUBLISHED", "Lần nhập này đã được công bố; hãy nhập lại tệp để sửa.")
        reviewed, errors, now = draft, [], ctx.clock.now().isoformat()
        for i, d in enumerate(decisions):
            try:
                reviewed = decide(reviewed, d.line, d.action, d.standard_code, by, now)
            except InvalidValueError as exc:
                errors.append(FieldError(f"decisions.{i}", exc.code, exc.message))
        if errors:
            raise validation_error(errors, "Một số quyết định không hợp lệ; không quyết định nào được lưu.")
        try:
            ctx.commune_maps.save_import(reviewed.model_copy(update={"rev": draft.rev + 1}), draft.rev)
        except StaleImportError:
            continue
        return import_view(reviewed)
    raise AppError("CONCURRENT_UPDATE", "Danh mục đang được cập nhật đồng thời, vui lòng thử lại.", 409, "Xung đột")


def publish(ctx: CommunesContext, by: str, province_code: str, import_id: str) -> dict:
    for _ in range(MAX_ATTEMPTS):
        draft = _draft(ctx, province_code, import_id)
        if draft.status == "published":
            raise conflict("COMMUNE_IMPORT_PUBLISHED", "Lần nhập này đã được công bố.",
                           version=draft.published_version)
        current = ctx.commune_maps.current(draft.province_code)
        version = (current.version if current else 0) + 1
        try:
            new_map = build_map(draft, version, by, ctx.clock.now().isoformat())
        except PublishRefusedError as exc:
            raise conflict(exc.code, exc.message, lines=exc.lines[:200]) from None
        done = draft.model_copy(update={"status": "published", "published_version": version, "rev": draft.rev + 1})
        try:
            ctx.commune_maps.publish(new_map, done, draft.rev)
        except StaleImportError:
            continue
        ctx.caches.setdefault("commune_maps", {}).pop(draft.province_code, None)
        return map_view(new_map)
    raise AppError("CONCURRENT_UPDATE", "Bảng ánh xạ đang được công bố đồng thời, vui lòng thử lại.", 409, "Xung đột")


def map_view(m: CommuneMap, entries: bool = True) -> dict:
    out = m.model_dump(mode="json", exclude=set() if entries else {"entries"})
    return {**out, "entry_count": len(m.entries)}


def _map(ctx: CommunesContext, province_code: str, version: int | None) -> CommuneMap:
    code = province(province_code).stats_code
    found = ctx.commune_maps.current(code) if version is None else ctx.commune_maps.version(code, version)
    if found is None:
        raise not_found("COMMUNE_MAP_NOT_FOUND", "Tỉnh này chưa có bảng ánh xạ mã xã đã xác nhận"
                        + ("." if version is None else f" phiên bản {version}."))
    return found


def current_map(ctx: CommunesContext, province_code: str, version: int | None = None) -> dict:
    return map_view(_map(ctx, province_code, version))


def list_versions(ctx: CommunesContext, province_code: str) -> dict:
    code = province(province_code).stats_code
    found = sorted(ctx.commune_maps.versions(code), key=lambda m: m.version, reverse=True)
    current = found[0].version if found else None
    return {"province_code": code, "current_version": current,
            "versions": [map_view(m, entries=False) for m in found]}


def export_map(ctx: CommunesContext, province_code: str, fmt: str, version: int | None) -> tuple[bytes, str, str]:
    """(bytes, content type, file name) of a map version as CSV (UTF-8 with BOM) or XLSX."""
    m = _map(ctx, province_code, version)
    name = f"anh-xa-ma-xa-{m.province_code}-v{m.version}"
    if fmt == "xlsx":
        return (tabular.export_xlsx(m.confirmed(), f"Ánh xạ mã xã {m.province_code} v{m.version}"),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{name}.xlsx")
    return tabular.export_csv(m.confirmed()), "text/csv; charset=utf-8", f"{name}.csv"
