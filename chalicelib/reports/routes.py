"""Report routes (M14 §4): collections (with deliveries and accounts) for province administrators and operators,
accounts created for officers too, and Excel/CSV exports. Each use case scopes what the caller may see."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, Ok, Reply, bearer, route
from chalicelib.reports.schemas import AccountsReport, CollectionsReport, ExportLink
from chalicelib.reports.services import AccountsQuery, ExportIn, ReportQuery

bp = Blueprint(__name__)
TAG = "reports"
SCOPE = {403: ("REPORT_FORBIDDEN", "REPORT_PROVINCE_FORBIDDEN", "REPORT_PROVINCE_UNKNOWN")}
OFFICER_SCOPE = {403: (*SCOPE[403], "REPORT_UNITS_MISSING", "UNIT_FORBIDDEN")}


def viewer(call: Call):
    from chalicelib.reports.domain import Viewer

    p = call.principal
    return Viewer(p.subject, frozenset(r.value for r in p.roles), p.province_code, tuple(p.unit_codes))


@route(bp, "GET", "/v1/reports/collections", tag=TAG, access=bearer("province_admin", "operator"), query=ReportQuery,
       summary="Collections of a province (or the country) over a range of days, with deliveries and accounts",
       description="Count and VND collected and refunded, per day or month, collecting unit, bank and sub-item "
       "(and per province for the country); deliveries to the province (delivered, failing, dead, median delay); "
       "accounts created per unit and officer. A province administrator sees their own province only; an "
       "operator any province, or the country without `province`. Test payments are never counted.",
       ok={200: Ok("The report.", CollectionsReport)}, problems=SCOPE)
def collections(call: Call):
    from chalicelib.reports.services import collections_report

    return collections_report(call.ctx, viewer(call), call.query_params())


@route(bp, "GET", "/v1/reports/accounts", tag=TAG, access=bearer("officer", "province_admin", "operator"),
       query=AccountsQuery, summary="Citizen accounts created per unit and officer (registration results)",
       description="An officer sees their own units only (`UNIT_FORBIDDEN` for another), a province administrator "
       "their province, an operator any province or the country.",
       ok={200: Ok("The report.", AccountsReport)}, problems=OFFICER_SCOPE)
def accounts(call: Call):
    from chalicelib.reports.services import accounts_report

    return accounts_report(call.ctx, viewer(call), call.query_params())


@route(bp, "POST", "/v1/reports/exports", tag=TAG, access=bearer("officer", "province_admin", "operator"),
       request=ExportIn, summary="Export a report to Excel (one sheet per breakdown) or CSV (UTF-8 with BOM)",
       description="The file is written to storage and handed out as a short-lived presigned link (expires_at). "
       "Excel: Vietnamese headers, VND number format, a totals row, the header row frozen. The same scoping as "
       "the reports (an officer: the accounts report of their units).",
       ok={201: Ok("Where to download the file.", ExportLink)}, problems=OFFICER_SCOPE)
def export(call: Call):
    from chalicelib.reports.services import export_report

    return Reply(export_report(call.ctx, viewer(call), call.body()), 201)
