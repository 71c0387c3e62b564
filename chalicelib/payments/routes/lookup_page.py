"""The lookup as an HTML page, for a browser without JavaScript: the site's lookup form posts here
(application/x-www-form-urlencoded) when no script intercepts it, and gets the property and the notices table as the
seed shows it (paid notices marked), or the form again with each Vietnamese message beside its field. Read-only:
paying needs the page's script (it keeps the payment's access secret in the tab), and the page says so.

Same use case, limits and answers as POST /v1/lookup; every value is HTML-escaped; the stylesheet is the site's
(`/assets/site.css`, and the emblem, under the build's stable names), and there is no script, so the site's CSP holds.
"""
from __future__ import annotations

from datetime import date, datetime
from html import escape
from typing import Any

from chalicelib.core.clock import VN_TZ
from chalicelib.core.money import format_vnd

FIELDS = {"dossier_code": ("Mã hồ sơ", "Ví dụ: 000.00.43.H35-210520-0001", 'autocapitalize="characters"'),
          "id_number": ("Số CMND/CCCD", "9 hoặc 12 chữ số", 'inputmode="numeric"')}
STATUS = {"paid": "✓ Đã nộp", "in_payment": "Đang thanh toán", "payable": "Chưa nộp"}


def _date(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(VN_TZ).date()
    return value.strftime("%d/%m/%Y")


def _form(values: dict[str, str], field_errors: dict[str, str], general: str | None) -> str:
    rows = []
    for name, (label, hint, extra) in FIELDS.items():
        error = field_errors.get(name)
        described = f"{name}-hint" + (f" {name}-error" if error else "")
        value = escape(values.get(name, "")) if name == "dossier_code" else ""  # the ID number is not echoed back
        invalid = ' aria-invalid="true"' if error else ""
        rows.append(
            f'<div class="field{" field--error" if error else ""}"><label for="{name}">{label}</label>'
            f'<p class="hint" id="{name}-hint">{hint}</p>'
            + (f'<p class="field__error" id="{name}-error">{escape(error)}</p>' if error else "")
            + f'<input id="{name}" name="{name}" type="text" autocomplete="off" spellcheck="false" {extra} '
            f'value="{value}" aria-describedby="{described}"{invalid}></div>')
    alert = f'<div class="alert alert--error" role="alert"><p>{escape(general)}</p></div>' if general else ""
    return (f'<section class="step" aria-labelledby="buoc-tra-cuu"><h2 id="buoc-tra-cuu">Tra cứu nghĩa vụ tài chính'
            f'</h2><form action="/v1/lookup/page" method="post">{alert}{"".join(rows)}'
            '<button class="btn" type="submit">Tra cứu</button></form></section>')


def _notices(notices: list[dict]) -> str:
    rows = []
    for n in notices:
        items = n.get("items") or []
        span = len(items) + 1
        status = STATUS.get(n.get("status"), "")
        for i, item in enumerate(items):
            lead = (f'<td rowspan="{span}"><strong>{escape(n["notice_number"])}</strong><br>'
                    f'{escape(n["payer_name"])}<br><span class="badge badge--{escape(n.get("status", ""))}">'
                    f'{status}</span></td>') if i == 0 else ""
            rows.append(f'<tr>{lead}<td>{escape(item["description"])} <span class="muted">(tiểu mục '
                        f'{escape(item["sub_item_code"])})</span></td><td class="num">{format_vnd(item["amount_vnd"])}'
                        '</td></tr>')
        rows.append(f'<tr><th scope="row">Tổng tiền</th><td class="num"><strong>{format_vnd(n["total_vnd"])}'
                    '</strong></td></tr>')
    return ('<table class="items"><caption>Thông tin nộp nghĩa vụ tài chính</caption><thead><tr>'
            '<th scope="col">Số thông báo, người nộp thuế</th>'
            '<th scope="col">Nội dung các khoản nộp NSNN</th><th scope="col" class="num">Số tiền (VNĐ)</th>'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _result(result: dict) -> str:
    p = result.get("property") or {}
    area = p.get("area_m2")
    facts = [("Mã hồ sơ", result["dossier_code"]), ("Địa chỉ", p.get("address")), ("Số thửa", p.get("parcel_number")),
             ("Số tờ bản đồ", p.get("map_sheet_number")),
             ("Diện tích", f"{area:g} m²".replace(".", ",") if area is not None else None),
             ("Số giấy chứng nhận", p.get("land_use_certificate"))]
    dl = "".join(f"<dt>{t}</dt><dd>{escape(str(v))}</dd>" for t, v in facts if v not in (None, ""))
    dates = "".join(f'<li>{escape(n["notice_number"])}: ngày thông báo {_date(n.get("issued_at"))}, hạn nộp '
                    f'{_date(n.get("due_date"))}</li>' for n in result["notices"] if n.get("due_date"))
    return ('<section class="step" aria-labelledby="ket-qua-h"><h2 id="ket-qua-h">Kết quả tra cứu</h2>'
            f'<h3>Thông tin tài sản</h3><dl class="facts">{dl}</dl>{_notices(result["notices"])}'
            + (f'<ul class="muted">{dates}</ul>' if dates else "")
            + '<div class="alert alert--warn"><p><strong>Để thanh toán trực tuyến, vui lòng bật JavaScript</strong> '
            'rồi mở lại <a href="/thanh-toan-dat-dai.html">trang thanh toán</a>: mã giao dịch của bạn chỉ được giữ '
            'trong trình duyệt.</p></div></section>')


def render(values: dict[str, str], result: dict | None = None, problem: Any = None) -> str:
    """The whole page: the form (with the problem's messages, if any) and the result (if any)."""
    field_errors = {e.field.split(".")[0]: e.message for e in getattr(problem, "errors", None) or []}
    general = problem.detail if problem is not None and not (field_errors.keys() & FIELDS.keys()) else None
    title = "Kết quả tra cứu" if result else "Tra cứu nghĩa vụ tài chính"
    return ('<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{title} – Cổng Dịch vụ công quốc gia</title>'
            '<link rel="icon" href="/assets/img/emblem.svg" type="image/svg+xml">'
            '<link rel="stylesheet" href="/assets/site.css"></head><body>'
            '<a class="skip" href="#noi-dung">Bỏ qua, đến nội dung chính</a><header class="site"><div class="wrap '
            'site__bar"><a class="site__brand" href="/"><img src="/assets/img/emblem.svg" alt="" width="40" '
            'height="40"><span class="site__name">Cổng Dịch vụ công quốc gia</span></a></div></header><main id="noi-dung" class="wrap"><h1>Thanh toán nghĩa vụ tài chính về đất đai</h1>'
            f'{_form(values, field_errors, general)}{_result(result) if result else ""}</main>'
            '<footer class="site-foot"><div class="wrap"><p>Giờ trên trang là giờ Việt Nam (GMT+7).</p></div>'
            '</footer></body></html>')
