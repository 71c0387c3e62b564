"""M14 §4 on the running local stack: payments made over HTTP show in the report exactly (sums of what the test
paid), every role's scope is enforced, and the exports download from their presigned link and read back (openpyxl
cell by cell, the csv module)."""
from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import date, datetime, timedelta

import pytest

from chalicelib.core.clock import VN_TZ
from tests.conftest import assert_problem

PROVINCE = "12"  # the current province holding agency code H35, the demo dossiers' province


_tokens: dict[tuple, dict] = {}


def token(role: str, province: str | None = None, unit: str | None = None) -> dict:
    """The headers of a real user of the local pool, signed in through the API once per module (a province
    administrator of ``province``, an officer of ``unit``)."""
    from chalicelib.local.identities import new_identity

    key = (role, province, unit)
    if key not in _tokens:
        raw = new_identity(None, role, province=province, unit=unit).access_token
        _tokens[key] = {"Authorization": f"Bearer {raw}"}
    return _tokens[key]


def operator() -> dict:
    return token("operator")


@pytest.fixture()
def paid_day(api):
    """Three payments paid on a day no other test uses; what the test paid, per bank."""
    day = date(2036, 1, 1) + timedelta(days=random.randrange(0, 3000))
    paid = []
    for i, (bank, amount) in enumerate((("VCB", 1_250_000), ("BIDV", 3_400_000), ("VCB", 780_000))):
        dossier, number, _ = api.new_notice(amounts=(amount,))
        payment = api.pay(dossier, number, bank).json()
        at = datetime(day.year, day.month, day.day, 9 + i, tzinfo=VN_TZ).isoformat()
        r = api.bank_callback(bank, {"payment_id": payment["payment_id"], "bank_txn_ref": f"FT{uuid.uuid4().int % 10**10}",
                                     "amount_vnd": amount, "currency": "VND", "status": "SUCCESS", "paid_at": at})
        assert r.status_code == 200, r.text
        paid.append((bank, amount))
    return day, paid


def report(api, day: date, headers: dict | None = None, **params):
    return api.s.get(f"{api.url}/v1/reports/collections", headers=operator() if headers is None else headers,
                     timeout=10,
                     params={"province": "H35", "date_from": day.isoformat(), "date_to": day.isoformat(), **params})


def test_report_figures_are_the_sums_of_the_payments_made(api, paid_day):
    day, paid = paid_day
    r = report(api, day)
    assert r.status_code == 200, r.text
    body = r.json()

    assert body["province"]["code"] == PROVINCE
    assert body["totals"] == {"paid_count": 3, "paid_vnd": sum(a for _, a in paid), "refunded_count": 0,
                              "refunded_vnd": 0, "net_vnd": sum(a for _, a in paid)}
    assert {b["bank_code"]: (b["paid_count"], b["paid_vnd"]) for b in body["by_bank"]} == {
        "VCB": (2, 1_250_000 + 780_000), "BIDV": (1, 3_400_000)}
    assert body["by_period"] == [{"period": day.isoformat(), **body["totals"]}]
    assert [(i["sub_item_code"], i["paid_vnd"]) for i in body["by_sub_item"]] == [("2801", 5_430_000)]
    # The province administrator of that province sees the same, in any form of its code.
    mine = report(api, day, token("province_admin", province="000.00.00.H35"), province=PROVINCE)
    assert mine.status_code == 200 and mine.json()["totals"] == body["totals"]


def test_each_role_sees_only_its_scope(api, paid_day):
    day, _ = paid_day
    # (An administrator without a province, an officer without units: the directory cannot make one; the use
    # case's refusals of those are unit tests, tests/unit/test_reports.py.)
    assert_problem(report(api, day, token("province_admin", province="01")), 403, "REPORT_PROVINCE_FORBIDDEN")
    assert_problem(report(api, day, token("officer")), 403, "ROLE_FORBIDDEN")
    assert_problem(report(api, day, token("citizen")), 403, "ROLE_FORBIDDEN")
    assert_problem(report(api, day, {}), 401, "TOKEN_MISSING")
    accounts = f"{api.url}/v1/reports/accounts"
    officer = token("officer", unit="000.00.43.H35")
    params = {"date_from": day.isoformat(), "date_to": day.isoformat()}
    assert api.s.get(accounts, headers=officer, params=params).status_code == 200
    assert_problem(api.s.get(accounts, headers=officer, params={**params, "unit_code": "000.00.44.H35"}), 403,
                   "UNIT_FORBIDDEN")
    assert_problem(api.s.post(f"{api.url}/v1/reports/exports", headers=officer,
                              json={**params, "format": "xlsx"}), 403, "REPORT_FORBIDDEN")
    # One date against the other: a rule beyond the schema, its own declared code.
    assert_problem(report(api, day, date_to=(day - timedelta(days=1)).isoformat()), 422, "DATE_RANGE_INVALID")
    assert_problem(report(api, day, date_to="20-01-2031"), 422, "VALIDATION_FAILED")  # not an ISO date at all


def test_excel_export_downloads_and_reads_back_cell_by_cell(api, paid_day):
    from openpyxl import load_workbook

    day, paid = paid_day
    r = api.s.post(f"{api.url}/v1/reports/exports", headers=operator(),
                   json={"province": "H35", "date_from": day.isoformat(), "date_to": day.isoformat(),
                         "format": "xlsx"})
    assert r.status_code == 201, r.text
    link = r.json()
    assert link["file_name"] == f"bao-cao-thu-{PROVINCE}-{day}-{day}.xlsx"
    got = api.s.get(link["url"], timeout=10)
    assert got.status_code == 200 and len(got.content) == link["size_bytes"]

    book = load_workbook(io.BytesIO(got.content))
    totals = book["Tổng hợp"]
    assert [c.value for c in totals[1]] == ["Phạm vi", "Từ ngày", "Đến ngày", "Số giao dịch đã thu",
                                            "Số tiền đã thu (đồng)", "Số giao dịch hoàn tiền",
                                            "Số tiền đã hoàn (đồng)", "Thực thu (đồng)"]
    assert totals["B2"].value == datetime(day.year, day.month, day.day)
    assert totals["D2"].value == 3 and totals["E2"].value == 5_430_000 and totals["H2"].value == 5_430_000
    assert totals["E2"].number_format == "#,##0" and totals["A1"].font.b and totals.freeze_panes == "A2"
    banks = book["Theo ngân hàng"]
    assert [[c.value for c in row][:4] for row in banks.iter_rows(min_row=2, max_row=4)] == [
        ["BIDV", "BIDV", 1, 3_400_000], ["VCB", "Vietcombank", 2, 2_030_000], ["Tổng cộng", None, 3, 5_430_000]]
    assert "Chuyển biên lai về tỉnh" in book.sheetnames and "Tài khoản theo cán bộ" in book.sheetnames


def test_csv_export_reads_back_with_the_csv_module(api, paid_day):
    day, _ = paid_day
    r = api.s.post(f"{api.url}/v1/reports/exports", headers=token("province_admin", province="H35"),
                   json={"date_from": day.isoformat(), "date_to": day.isoformat(), "format": "csv",
                         "breakdown": "by_period"})
    assert r.status_code == 201, r.text
    got = api.s.get(r.json()["url"], timeout=10)
    assert got.content.startswith(b"\xef\xbb\xbf")  # Excel reads the diacritics
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows == [["Kỳ (ngày/tháng)", "Số giao dịch đã thu", "Số tiền đã thu (đồng)", "Số giao dịch hoàn tiền",
                     "Số tiền đã hoàn (đồng)", "Thực thu (đồng)"],
                    [day.isoformat(), "3", "5430000", "0", "0", "5430000"],
                    ["Tổng cộng", "3", "5430000", "0", "0", "5430000"]]
