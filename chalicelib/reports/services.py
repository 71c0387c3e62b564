"""M14 §4 use cases: the collections report (with deliveries and accounts) of a province or the country over a range
of days, the accounts report officers may see, and their Excel/CSV exports. Reads only the report day items: a
month of one province is one Query; nothing is ever scanned."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chalicelib.core import admin_units
from chalicelib.core.errors import forbidden
from chalicelib.core.fields import AnyProvinceCode
from chalicelib.core.parsing import parse
from chalicelib.core.tallies import province_key
from chalicelib.core.validation import InvalidValueError, RuleError
from chalicelib.reports.domain import (
    OFFICER,
    OPERATOR,
    PROVINCE_ADMIN,
    Viewer,
    accounts_section,
    breakdowns,
    deliveries_section,
    period_key,
    province_row,
    sum_days,
    totals_of,
)
from chalicelib.reports.ports import ReportsContext

MAX_DAYS = 366
PROVINCE_FIELD = Field(None, max_length=35, description="The province in any form: statistics code (37), agency "
                       "code (H35 or 000.00.00.H35, pre-2025 codes too). Default: the province administrator's own; "
                       "for an operator, the whole country.")


class ReportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    __rules__ = ("DATE_RANGE_INVALID", "DATE_RANGE_TOO_LONG")  # one date against the other

    province: AnyProvinceCode | None = PROVINCE_FIELD
    date_from: date = Field(description="First day (YYYY-MM-DD, Vietnam time), inclusive.")
    date_to: date = Field(description="Last day, inclusive; at most 366 days after date_from.")
    group_by: Literal["day", "month"] = Field("day", description="Rows of by_period: per day or per month.")

    @model_validator(mode="after")
    def _range(self):
        if self.date_to < self.date_from:
            raise RuleError("DATE_RANGE_INVALID", "Ngày kết thúc phải từ ngày bắt đầu trở đi.")
        if (self.date_to - self.date_from).days >= MAX_DAYS:
            raise RuleError("DATE_RANGE_TOO_LONG", f"Mỗi báo cáo tối đa {MAX_DAYS} ngày.")
        return self


class AccountsQuery(ReportQuery):
    unit_code: str | None = Field(None, max_length=35, description="Only this unit (an officer: one of theirs).")


class ExportIn(AccountsQuery):
    report: Literal["collections", "accounts"] = Field("collections", description="Which report.")
    format: Literal["xlsx", "csv"] = Field(description="xlsx: one sheet per breakdown; csv: one breakdown.")
    breakdown: Literal["totals", "by_period", "by_unit", "by_bank", "by_sub_item", "by_province", "deliveries",
                       "accounts_by_unit", "accounts_by_officer"] | None = Field(
        None, description="The breakdown a CSV holds (default by_period; accounts_by_unit for the accounts report).")


def _province(requested: str) -> str:
    return province_key(requested)  # InvalidValueError PROVINCE_UNKNOWN: 422


def scope(who: Viewer, requested: str | None) -> list[str] | None:
    """The provinces ``who`` may read for this request: [one], or None for the whole country (operators)."""
    if who.has(OPERATOR):
        return [_province(requested)] if requested else None
    if who.has(PROVINCE_ADMIN):
        try:
            own = province_key(who.province_claim or "")
        except InvalidValueError:
            raise forbidden("REPORT_PROVINCE_UNKNOWN", "Tài khoản quản trị chưa được gắn với tỉnh, thành phố nào.") \
                from None
        if requested and _province(requested) != own:
            raise forbidden("REPORT_PROVINCE_FORBIDDEN", "Bạn chỉ được xem báo cáo của tỉnh, thành phố mình.")
        return [own]
    raise forbidden("REPORT_FORBIDDEN", "Bạn không có quyền xem báo cáo này.")


def _days(ctx: ReportsContext, provinces: list[str], q: ReportQuery) -> dict[str, list]:
    return {p: ctx.report_days.days(p, q.date_from, q.date_to) for p in provinces}


def _province_view(code: str | None) -> dict | None:
    if code is None:
        return None
    province = admin_units.province_by_stats_code(code)
    return {"code": code, "name": province.name if province else code,
            "agency_code": province.agency_code if province else None}


def collections_report(ctx: ReportsContext, who: Viewer, params: Any) -> dict:
    q = params if isinstance(params, ReportQuery) else parse(ReportQuery, params)
    provinces = scope(who, q.province)
    national = provinces is None
    read = _days(ctx, [p.stats_code for p in admin_units.provinces()] if national else provinces, q)
    every_day = [day for days in read.values() for day in days]
    sums = sum_days(every_day)
    periods: dict[str, list] = {}
    for day in every_day:
        periods.setdefault(period_key(day[0], q.group_by), []).append(day)
    report = {"province": _province_view(None if national else provinces[0]), "date_from": q.date_from.isoformat(),
              "date_to": q.date_to.isoformat(), "group_by": q.group_by, "totals": totals_of(sums),
              "by_period": [{"period": k, **totals_of(sum_days(v))} for k, v in sorted(periods.items())],
              **breakdowns(sums), "deliveries": deliveries_section(sums), "accounts": accounts_section(sums)}
    if national:
        report["by_province"] = [province_row(p, sum_days(days)) for p, days in sorted(read.items()) if days]
    return report


def accounts_report(ctx: ReportsContext, who: Viewer, params: Any) -> dict:
    q = params if isinstance(params, AccountsQuery) else parse(AccountsQuery, params)
    units: list[str] | None = [q.unit_code] if q.unit_code else None
    if who.has(OPERATOR) or who.has(PROVINCE_ADMIN):
        provinces = scope(who, q.province)
        national = provinces is None
        provinces = [p.stats_code for p in admin_units.provinces()] if national else provinces
    elif who.has(OFFICER):
        mine = list(who.unit_codes)
        if not mine:
            raise forbidden("REPORT_UNITS_MISSING", "Tài khoản cán bộ chưa được gắn với đơn vị nào.")
        if q.unit_code and q.unit_code not in mine:
            raise forbidden("UNIT_FORBIDDEN", "Bạn chỉ được xem kết quả đăng ký tài khoản của đơn vị mình.")
        units, national = units or mine, False
        provinces = sorted({_unit_province(u) for u in units} - {None})
    else:
        raise forbidden("REPORT_FORBIDDEN", "Bạn không có quyền xem báo cáo này.")
    sums = sum_days([day for days in _days(ctx, provinces, q).values() for day in days])
    return {"province": _province_view(provinces[0] if len(provinces) == 1 and not national else None),
            "date_from": q.date_from.isoformat(), "date_to": q.date_to.isoformat(), **accounts_section(sums, units)}


def _unit_province(unit_code: str) -> str | None:
    try:
        return province_key(unit_code)
    except InvalidValueError:
        return None


def export_report(ctx: ReportsContext, who: Viewer, body: Any) -> dict:
    from chalicelib.reports.exports import render

    req = parse(ExportIn, body)
    report = collections_report(ctx, who, req) if req.report == "collections" else accounts_report(ctx, who, req)
    content, content_type, file_name = render(report, req.report, req.format, req.breakdown)
    key = f"report-exports/{ctx.new_id()}/{file_name}"
    ttl = ctx.settings.report_link_ttl_s
    url = ctx.export_files.publish(key, content, content_type, file_name, ttl)
    ctx.count("ReportExports")
    return {"url": url, "expires_at": (ctx.clock.now() + timedelta(seconds=ttl)).isoformat(), "file_name": file_name,
            "content_type": content_type, "size_bytes": len(content), "format": req.format}
