"""A report as an Excel workbook (one sheet per breakdown) or a CSV (one breakdown), with Vietnamese headers, VND
columns and a totals row, through the generic writers of ``reconciliation.exports``."""
from __future__ import annotations

import io
from datetime import date
from typing import Any

from chalicelib.reconciliation.exports import Column, SheetSpec, write_csv, write_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"

MONEY = (Column("paid_count", "Số giao dịch đã thu", "int"), Column("paid_vnd", "Số tiền đã thu (đồng)", "vnd"),
         Column("refunded_count", "Số giao dịch hoàn tiền", "int"),
         Column("refunded_vnd", "Số tiền đã hoàn (đồng)", "vnd"), Column("net_vnd", "Thực thu (đồng)", "vnd"))
_MONEY_NO_NET = MONEY[:4]

# breakdown -> (sheet title, its columns, where its rows are in the report)
SHEETS: dict[str, tuple[str, tuple[Column, ...]]] = {
    "totals": ("Tổng hợp", (Column("scope", "Phạm vi"), Column("date_from", "Từ ngày", "date"),
                            Column("date_to", "Đến ngày", "date"), *MONEY)),
    "by_period": ("Theo kỳ", (Column("period", "Kỳ (ngày/tháng)"), *MONEY)),
    "by_province": ("Theo tỉnh", (Column("province_code", "Mã tỉnh"), Column("province_name", "Tỉnh, thành phố"),
                                  *MONEY)),
    "by_unit": ("Theo đơn vị thu", (Column("unit_code", "Mã đơn vị thu"), *_MONEY_NO_NET)),
    "by_bank": ("Theo ngân hàng", (Column("bank_code", "Mã ngân hàng"), Column("bank_name", "Ngân hàng"),
                                   *_MONEY_NO_NET)),
    "by_sub_item": ("Theo tiểu mục", (Column("sub_item_code", "Mã tiểu mục"), Column("sub_item_name", "Tiểu mục"),
                                      *_MONEY_NO_NET)),
    "deliveries": ("Chuyển biên lai về tỉnh", (
        Column("delivered", "Đã chuyển thành công", "int"), Column("failing", "Lỗi lần đầu", "int"),
        Column("dead", "Không chuyển được", "int"),
        Column("median_delay_s", "Thời gian chuyển trung vị (giây, tối đa)", "int", total=False))),
    "accounts_by_unit": ("Tài khoản theo đơn vị", (Column("unit_code", "Mã đơn vị"),
                                                   Column("accounts", "Số tài khoản đã tạo", "int"))),
    "accounts_by_officer": ("Tài khoản theo cán bộ", (Column("unit_code", "Mã đơn vị"),
                                                      Column("officer", "Cán bộ tạo"),
                                                      Column("accounts", "Số tài khoản đã tạo", "int"))),
}
COLLECTIONS = ("totals", "by_period", "by_province", "by_unit", "by_bank", "by_sub_item", "deliveries",
               "accounts_by_unit", "accounts_by_officer")
ACCOUNTS = ("accounts_by_unit", "accounts_by_officer")


def rows(report: dict[str, Any], breakdown: str) -> list[dict[str, Any]]:
    if breakdown == "totals":
        scope = report["province"]["name"] if report.get("province") else "Toàn quốc"
        return [{"scope": scope, "date_from": date.fromisoformat(report["date_from"]),
                 "date_to": date.fromisoformat(report["date_to"]), **report["totals"]}]
    if breakdown == "deliveries":
        return [report["deliveries"]]
    if breakdown.startswith("accounts_"):
        section = report.get("accounts", report)
        return section[breakdown[len("accounts_"):]]
    return report.get(breakdown, [])


def render(report: dict[str, Any], kind: str, fmt: str, breakdown: str | None) -> tuple[bytes, str, str]:
    """(content, content type, file name) of the report as ``fmt``."""
    names = COLLECTIONS if kind == "collections" else ACCOUNTS
    where = report["province"]["code"] if report.get("province") else "ca-nuoc"
    stem = f"bao-cao-{'thu' if kind == 'collections' else 'tai-khoan'}-{where}-{report['date_from']}-{report['date_to']}"
    out = io.BytesIO()
    if fmt == "xlsx":
        sheets = [SheetSpec(SHEETS[n][0], SHEETS[n][1], rows(report, n), totals=n not in ("totals", "deliveries"))
                  for n in names if n != "by_province" or "by_province" in report]
        write_xlsx(out, sheets)
        return out.getvalue(), XLSX, f"{stem}.xlsx"
    chosen = breakdown or ("by_period" if kind == "collections" else "accounts_by_unit")
    if chosen not in names:
        from chalicelib.core.validation import InvalidValueError

        raise InvalidValueError("BREAKDOWN_NOT_IN_REPORT", "Báo cáo này không có bảng đã chọn.")
    title, columns = SHEETS[chosen]
    write_csv(out, columns, rows(report, chosen), totals=chosen not in ("totals", "deliveries"))
    return out.getvalue(), CSV, f"{stem}-{chosen}.csv"
