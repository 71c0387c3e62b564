"""Commune-code map (M10) for the operator (the government office, with the tax authority): import a province's tax
commune list, review the matches, publish a map version, read and export it. Thin: body -> use case -> JSON."""
from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.routing import Call, Ok, Param, Reply, bearer, route
from chalicelib.communes.schemas import ImportView, MapVersions, MapView
from chalicelib.communes.services.maps import DecisionsIn, ImportIn
from chalicelib.core.fields import LazySchema, province_stats_code_schema

bp = Blueprint(__name__)
TAG = "commune-maps"
OPERATOR = bearer("operator")
PROVINCE = Param("province_code", description="Statistics code of today's province, 2 digits (e.g. 01 Hà Nội, 79 "
                 "Thành phố Hồ Chí Minh).", schema=LazySchema(province_stats_code_schema))
IMPORT = Param("import_id", description="The import's id, as the import answered it.",
               schema={"type": "string", "maxLength": 40})
VERSION = Param("version", description="A published version number.", schema={"type": "string", "pattern": "^[0-9]{1,6}$"})
BAD_PROVINCE = {422: ("VALIDATION_FAILED",)}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ExportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["csv", "xlsx"] = Field(default="xlsx", description="xlsx (Excel) or csv (UTF-8 with BOM).")
    version: int | None = Field(default=None, ge=1, description="Omitted: the current version.")


@route(bp, "POST", "/v1/commune-maps/{province_code}/imports", tag=TAG, access=OPERATOR, params=(PROVINCE,),
       summary="Import the tax authority's commune list of a province (CSV or XLSX, base64) and match it",
       description="Each row's tax commune code is matched by normalised name (diacritics, Phường/Xã/Thị trấn, "
       "numbered wards) to today's communes of the province: MATCHED, AMBIGUOUS (the same name twice) or MISSING "
       "(with the nearest names), with flags (DUPLICATE_CODE, DUPLICATE_NAME, SHARED_TARGET, LOOSE_MATCH, ...). "
       "The file travels in the body as base64 (a province's list is a few hundred rows; the body cap applies). "
       "Rows that cannot be read are listed in `errors` with their row number.",
       request=ImportIn, ok={201: Ok("The import, its rows and their matches.", ImportView)}, problems=BAD_PROVINCE)
def import_commune_list(call: Call):
    from chalicelib.communes.services.maps import import_list

    return Reply(import_list(call.ctx, call.principal.subject, call.path["province_code"], call.body()), 201)


@route(bp, "GET", "/v1/commune-maps/{province_code}/imports/{import_id}", tag=TAG, access=OPERATOR,
       params=(PROVINCE, IMPORT), summary="An import under review, with its rows and decisions",
       ok={200: Ok("The import.", ImportView)}, problems={**BAD_PROVINCE, 404: ("COMMUNE_IMPORT_NOT_FOUND",)})
def get_commune_import(call: Call):
    from chalicelib.communes.services.maps import get_import

    return get_import(call.ctx, call.path["province_code"], call.path["import_id"])


@route(bp, "POST", "/v1/commune-maps/{province_code}/imports/{import_id}/decisions", tag=TAG, access=OPERATOR,
       params=(PROVINCE, IMPORT), request=DecisionsIn, ok={200: Ok("The import with the decisions.", ImportView)},
       summary="Confirm or correct rows of an import (accept the match, choose a commune, or exclude the row)",
       description="A chosen commune must belong to the province. All decisions of a call are applied or none.",
       problems={**BAD_PROVINCE, 404: ("COMMUNE_IMPORT_NOT_FOUND",),
                 409: ("COMMUNE_IMPORT_PUBLISHED", "CONCURRENT_UPDATE")})
def decide_commune_rows(call: Call):
    from chalicelib.communes.services.maps import review

    return review(call.ctx, call.principal.subject, call.path["province_code"], call.path["import_id"], call.body())


@route(bp, "POST", "/v1/commune-maps/{province_code}/imports/{import_id}/publish", tag=TAG, access=OPERATOR,
       params=(PROVINCE, IMPORT), ok={201: Ok("The new current map version.", MapView)},
       summary="Publish a reviewed import as the province's next map version (the one intake uses)",
       description="Refused while a row waits for a decision (IMPORT_NOT_REVIEWED) or while one tax code would map "
       "to two communes (TAX_CODE_CONFLICT); `lines` names the rows. Versions are kept; the newest is current.",
       problems={**BAD_PROVINCE, 404: ("COMMUNE_IMPORT_NOT_FOUND",),
                 409: ("COMMUNE_IMPORT_PUBLISHED", "IMPORT_NOT_REVIEWED", "TAX_CODE_CONFLICT", "IMPORT_EMPTY",
                       "CONCURRENT_UPDATE")})
def publish_commune_map(call: Call):
    from chalicelib.communes.services.maps import publish

    return Reply(publish(call.ctx, call.principal.subject, call.path["province_code"], call.path["import_id"]), 201)


@route(bp, "GET", "/v1/commune-maps/{province_code}", tag=TAG, access=OPERATOR, params=(PROVINCE,),
       summary="The province's current confirmed map", ok={200: Ok("The current version.", MapView)},
       problems={**BAD_PROVINCE, 404: ("COMMUNE_MAP_NOT_FOUND",)})
def get_commune_map(call: Call):
    from chalicelib.communes.services.maps import current_map

    return current_map(call.ctx, call.path["province_code"])


@route(bp, "GET", "/v1/commune-maps/{province_code}/versions", tag=TAG, access=OPERATOR, params=(PROVINCE,),
       summary="The province's published map versions", ok={200: Ok("Newest first.", MapVersions)},
       problems=BAD_PROVINCE)
def list_commune_map_versions(call: Call):
    from chalicelib.communes.services.maps import list_versions

    return list_versions(call.ctx, call.path["province_code"])


@route(bp, "GET", "/v1/commune-maps/{province_code}/versions/{version}", tag=TAG, access=OPERATOR,
       params=(PROVINCE, VERSION), summary="One published map version", ok={200: Ok("The version.", MapView)},
       problems={**BAD_PROVINCE, 404: ("COMMUNE_MAP_NOT_FOUND",)})
def get_commune_map_version(call: Call):
    from chalicelib.communes.services.maps import current_map

    raw = call.path["version"]
    return current_map(call.ctx, call.path["province_code"], int(raw) if raw.isdigit() and len(raw) <= 6 else -1)


@route(bp, "GET", "/v1/commune-maps/{province_code}/export", tag=TAG, access=OPERATOR, params=(PROVINCE,),
       query=ExportQuery, summary="Export a map version to Excel (xlsx) or CSV, to send to the tax authority",
       ok={200: Ok("The map as a file.", content_type=XLSX, schema={"type": "string", "contentMediaType": XLSX},
                   headers={"Content-Disposition": {"description": 'attachment; filename="anh-xa-ma-xa-<province>-'
                                                    'v<version>.xlsx|csv"', "schema": {"type": "string"}}})},
       problems={**BAD_PROVINCE, 404: ("COMMUNE_MAP_NOT_FOUND",)})
def export_commune_map(call: Call):
    from chalicelib.communes.services.maps import export_map

    q = call.query()
    data, content_type, name = export_map(call.ctx, call.path["province_code"], q.format, q.version)
    return Reply(data, headers={"Content-Disposition": f'attachment; filename="{name}"'}, content_type=content_type)
