"""M10 end to end on fakes: import a province's tax list, review, publish versions, export; intake translating
tax codes through the confirmed map and pre-2025 codes to today's, refusing what maps to nothing."""
from __future__ import annotations

import base64

import pytest

from chalicelib.communes.services.maps import current_map, export_map, get_import, import_list, list_versions, review
from chalicelib.communes.services.maps import publish as publish_map
from chalicelib.communes.tabular import import_xlsx
from chalicelib.core.errors import AppError
from chalicelib.payments.services.intake import ingest_notices
from chalicelib.payments.services.lookup import lookup
from tests.fakes import DOSSIER_CODE, ID_NUMBER, make_services, sample_batch

HANOI = "01"
HANOI_DOSSIER = "000.00.43.H26-260520-0001"  # H26: Hà Nội's level-1 agency code
# Today's Hà Nội communes, as the tax authority's list would name them (its own 7-digit codes).
ROWS = [
    ("1010101", "Phường Ba Đình"),
    ("1010102", "P. Ngọc Hà"),  # abbreviated unit word
    ("1010103", "Phuong Giang Vo"),  # typed without diacritics: a loose match, no review needed
    ("1010104", "Phường Hoàn Kiếm"),
    ("1010104", "Phường Hoàn Kiếm"),  # planted: the same line twice (DUPLICATE_CODE)
    ("1010105", "Phường Cửa Nam"),
    ("1010106", "Phường Cửa Nam"),  # planted: a second tax code on the same commune (DUPLICATE_NAME/SHARED_TARGET)
    ("1010107", "Xã Không Có Thật"),  # planted miss
]


def _csv(rows=ROWS) -> str:
    text = "Danh mục xã của cơ quan thuế\nMã xã;Tên xã;Tỉnh\n" + "".join(f"{c};{n};Hà Nội\n" for c, n in rows)
    return base64.b64encode(text.encode("utf-8-sig")).decode()


@pytest.fixture()
def svc():
    return make_services()


def _import(svc, rows=ROWS) -> dict:
    return import_list(svc, "operator-1", HANOI, {"file_name": "xa-thue.csv", "content_base64": _csv(rows)})


def _by_line(view: dict) -> dict[int, dict]:
    return {r["line"]: r for r in view["rows"]}


def test_import_matches_by_name_and_flags_planted_duplicates_and_misses(svc):
    view = _import(svc)
    rows = _by_line(view)
    assert [rows[n]["status"] for n in range(3, 11)] == ["MATCHED"] * 7 + ["MISSING"]
    assert rows[3]["candidates"][0]["code"] == "00004" and not rows[3]["needs_review"]
    assert rows[5]["flags"] == ["LOOSE_MATCH"] and not rows[5]["needs_review"]
    assert "DUPLICATE_CODE" in rows[6]["flags"] and "DUPLICATE_CODE" in rows[7]["flags"]
    assert {"DUPLICATE_NAME", "SHARED_TARGET"} <= set(rows[8]["flags"]) & set(rows[9]["flags"])
    assert rows[10]["needs_review"]
    assert view["summary"] == {"rows": 8, "matched": 7, "ambiguous": 0, "missing": 1, "needs_review": 5,
                               "undecided": 5, "errors": 0}


def test_publishing_waits_for_every_flagged_row_then_versions_are_kept_and_exported(svc):
    view = _import(svc)
    with pytest.raises(AppError) as refused:
        publish_map(svc, "operator-1", HANOI, view["import_id"])
    assert (refused.value.status, refused.value.code) == (409, "IMPORT_NOT_REVIEWED")
    assert refused.value.extra["lines"] == [6, 7, 8, 9, 10]

    # Accept both copies of the duplicated line (same target: they collapse), drop the second code of Cửa Nam,
    # correct the miss to a chosen commune.
    review(svc, "operator-2", HANOI, view["import_id"], {"decisions": [
        {"line": 6, "action": "accept"}, {"line": 7, "action": "accept"}, {"line": 8, "action": "accept"},
        {"line": 9, "action": "exclude"}, {"line": 10, "action": "choose", "standard_code": "91"}]})
    first = publish_map(svc, "operator-2", HANOI, view["import_id"])
    assert first["version"] == 1 and first["entry_count"] == 6
    entries = {e["tax_code"]: e["standard_code"] for e in first["entries"]}
    assert entries == {"1010101": "00004", "1010102": "00008", "1010103": "00025", "1010104": "00070",
                       "1010105": "00082", "1010107": "00091"}

    again = _import(svc, ROWS[:4])
    second = publish_map(svc, "operator-1", HANOI, again["import_id"])
    assert second["version"] == 2 and current_map(svc, HANOI)["version"] == 2
    versions = list_versions(svc, HANOI)
    assert versions["current_version"] == 2 and [v["version"] for v in versions["versions"]] == [2, 1]
    assert current_map(svc, HANOI, 1)["entry_count"] == 6  # the old version is kept, unchanged

    data, content_type, name = export_map(svc, HANOI, "xlsx", 1)
    assert content_type.endswith("spreadsheetml.sheet") and name == "anh-xa-ma-xa-01-v1.xlsx"
    assert {(r.tax_code, r.name) for r in import_xlsx(data).rows} >= {("1010107", "Xã Không Có Thật")}
    csv_bytes, _, _ = export_map(svc, HANOI, "csv", None)
    assert csv_bytes.startswith(b"\xef\xbb\xbf") and "Phường Ba Đình".encode() in csv_bytes


def test_a_choice_outside_the_province_and_a_conflicting_duplicate_are_refused(svc):
    view = _import(svc)
    with pytest.raises(AppError) as outside:
        review(svc, "operator-1", HANOI, view["import_id"], {"decisions": [
            {"line": 10, "action": "choose", "standard_code": "26734"}]})  # a ward of Hồ Chí Minh City
    assert outside.value.errors[0].code == "COMMUNE_NOT_IN_PROVINCE"
    assert get_import(svc, HANOI, view["import_id"])["summary"]["undecided"] == 5  # nothing of that call was kept
    review(svc, "operator-1", HANOI, view["import_id"], {"decisions": [
        {"line": 6, "action": "accept"}, {"line": 7, "action": "choose", "standard_code": "00082"},
        {"line": 8, "action": "accept"}, {"line": 9, "action": "accept"}, {"line": 10, "action": "exclude"}]})
    with pytest.raises(AppError) as clash:
        publish_map(svc, "operator-1", HANOI, view["import_id"])
    assert clash.value.code == "TAX_CODE_CONFLICT" and clash.value.extra["lines"] == [6, 7]
    assert svc.commune_maps.current(HANOI) is None


def _publish_hanoi(svc) -> None:
    view = _import(svc, ROWS[:4])
    publish_map(svc, "operator-1", HANOI, view["import_id"])


def test_a_tax_coded_notice_is_translated_and_keeps_both_codes(svc):
    _publish_hanoi(svc)
    result = ingest_notices(svc, sample_batch(dossier_code=HANOI_DOSSIER, commune_code="1010102",
                                              commune_code_system="tax"))
    assert result.accepted == 1
    expected = {"commune_code": "1010102", "commune_code_system": "tax", "standard_commune_code": "00008",
                "standard_commune_version": "2025-07-01", "mapped_by": "tax_map", "map_version": 1}
    assert {k: result.commune[k] for k in expected} == expected
    stored = svc.dossiers.get(HANOI_DOSSIER)
    assert (stored.commune_code, stored.commune_code_system, stored.standard_commune_code) == ("1010102", "tax",
                                                                                               "00008")
    answer = lookup(svc, {"dossier_code": HANOI_DOSSIER, "id_number": ID_NUMBER})
    assert answer["commune"]["commune_code"] == "1010102" and answer["commune"]["standard_commune_code"] == "00008"
    province, notice = svc.forwarding.notices[-1]  # what the province's notice API will receive
    assert (notice["commune_code"], notice["standard_commune_code"]) == ("1010102", "00008")


def test_an_unknown_tax_code_names_code_and_province_and_stores_nothing(svc):
    _publish_hanoi(svc)
    with pytest.raises(AppError) as err:
        ingest_notices(svc, sample_batch(dossier_code=HANOI_DOSSIER, commune_code="1019999",
                                         commune_code_system="tax"))
    assert (err.value.status, err.value.code) == (422, "COMMUNE_CODE_UNKNOWN")
    assert "1019999" in err.value.detail and "Hà Nội" in err.value.detail
    assert err.value.extra["province_code"] == HANOI
    assert svc.dossiers.get(HANOI_DOSSIER) is None and svc.sms.sent == []


def test_the_map_is_read_once_per_cache_period_and_a_miss_reads_it_again(svc):
    _publish_hanoi(svc)
    store = svc.commune_maps
    batch = sample_batch(dossier_code=HANOI_DOSSIER, commune_code="1010101", commune_code_system="tax")
    ingest_notices(svc, batch)
    reads = store.current_reads
    for i in range(5):
        ingest_notices(svc, sample_batch(dossier_code=f"000.00.43.H26-260520-{i + 2:04d}", commune_code="1010101",
                                         commune_code_system="tax"))
    assert store.current_reads == reads  # served from the per-container cache
    # A map published by another container after this one cached: a code it does not know yet costs one re-read.
    later = _import(svc, [*ROWS[:4], ("1010199", "Phường Tây Hồ")])
    publish_map(svc.replace(caches={}), "operator-1", HANOI, later["import_id"])
    reads = store.current_reads
    result = ingest_notices(svc, sample_batch(dossier_code="000.00.43.H26-260520-0099", commune_code="1010199",
                                              commune_code_system="tax"))
    assert result.commune["standard_commune_code"] == "00103" and store.current_reads == reads + 1


@pytest.mark.parametrize(("code", "version", "address", "expected", "how"), [
    ("13387", None, "", "13396", "legacy"),  # only in the pre-2025 list: Xã Nguyễn Úy -> Phường Nguyễn Úy
    ("00070", None, "", "00070", "as_sent"),  # today's code (also a reused pre-2025 one): taken as today's
    ("00070", "2025-06-30", "Số 5 phố Hàng Trống, Phường Cửa Nam, Hà Nội", "00082", "legacy_address"),
    ("00007", None, "12 Cống Vị, phường Giảng Võ", "00025", "legacy_address"),
])
def test_standard_codes_of_either_list_are_translated_to_todays(svc, code, version, address, expected, how):
    batch = sample_batch(commune_code=code, **({"commune_code_version": version} if version else {}))
    batch["property"] = {**batch["property"], "address": address}
    result = ingest_notices(svc, batch)
    assert (result.commune["standard_commune_code"], result.commune["mapped_by"]) == (expected, how)
    assert svc.dossiers.get(DOSSIER_CODE).commune_code == code  # the code it came with is kept


def test_a_split_pre_2025_commune_the_address_does_not_decide_is_refused(svc):
    batch = sample_batch(commune_code="00007")
    batch["property"] = {**batch["property"], "address": "12 phố Cống Vị"}
    with pytest.raises(AppError) as err:
        ingest_notices(svc, batch)
    assert (err.value.status, err.value.code) == (422, "COMMUNE_CODE_AMBIGUOUS")
    assert {c["code"] for c in err.value.extra["candidates"]} == {"00008", "00025"}
    assert svc.dossiers.get(DOSSIER_CODE) is None


def test_a_code_in_neither_list_is_refused(svc):
    with pytest.raises(AppError) as err:
        ingest_notices(svc, sample_batch(commune_code="99999"))
    assert err.value.code == "COMMUNE_CODE_UNKNOWN" and "99999" in err.value.detail


def test_an_unreadable_file_is_a_field_error(svc):
    with pytest.raises(AppError) as err:
        import_list(svc, "operator-1", HANOI, {"file_name": "x.csv", "content_base64": "%%%%%%"})
    # Not base64 at all: outside the document's pattern, a malformed request.
    assert (err.value.code, err.value.errors[0].field) == ("VALIDATION_FAILED", "content_base64")
    xlsx_like = base64.b64encode(b"PK\x03\x04 not really a workbook").decode()
    with pytest.raises(AppError) as bad:
        import_list(svc, "operator-1", HANOI, {"file_name": "x.xlsx", "content_base64": xlsx_like})
    # Valid base64 whose content is not a workbook: a rule beyond the schema, its own (declared) code.
    assert bad.value.code == "FILE_NOT_XLSX" and bad.value.errors[0].code == "FILE_NOT_XLSX"
