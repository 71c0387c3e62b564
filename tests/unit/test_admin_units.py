"""The province and commune tables the product keys on: codes, versions, successors, agency codes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.core import admin_units as au
from chalicelib.core.validation import InvalidValueError

DATA = Path(au.__file__).resolve().parent.parent / "data" / "admin_units"


def test_34_current_provinces_with_unique_codes() -> None:
    current = au.provinces()
    assert len(current) == 34
    assert len({p.stats_code for p in current}) == 34
    assert len({p.agency_code for p in current}) == 34
    assert len({p.name for p in current}) == 34
    assert all(p.is_current and len(p.stats_code) == 2 and p.stats_code.isdigit() for p in current)
    assert au.province_by_stats_code("01").name == "Thành phố Hà Nội"
    assert au.province_by_stats_code("22").name == "Tỉnh Quảng Ninh"


def test_63_pre_2025_provinces_each_with_a_current_successor() -> None:
    legacy = au.provinces(au.LEGACY_VERSION)
    assert len(legacy) == 63
    assert len({p.stats_code for p in legacy}) == 63
    assert len({p.agency_code for p in legacy}) == 63
    current_codes = {p.stats_code for p in au.provinces()}
    assert all(p.successor_code in current_codes for p in legacy)
    closed = [p for p in legacy if p.agency_code_closed]
    assert len(closed) == 63 - 34
    for p in closed:
        successor = au.successor_of(p)
        assert successor.is_current and successor.agency_code != p.agency_code
    # A current province carries the agency code of the pre-2025 province of its name, which merged into it.
    for p in au.provinces():
        namesake = au._agency_index()[p.agency_code]
        assert namesake.short_name == p.short_name and namesake.successor_code == p.stats_code
        assert not namesake.agency_code_closed
    # Every current province is formed from pre-2025 ones whose successor it is, and from all of them.
    for p in au.provinces():
        assert {q.stats_code for q in legacy if q.successor_code == p.stats_code} == set(p.formed_from)


def test_quang_ninh_is_h49_and_22_both_ways() -> None:
    qn = au.province_by_agency_code("000.00.00.H49")
    assert qn is not None and qn.stats_code == "22" and qn.is_current
    assert au.province_by_agency_code("H49") == qn
    assert au.province_by_agency_code(" h49 ") == qn
    assert au.province_by_stats_code("22").agency_code == "H49"
    assert au.province_by_stats_code("22").agency_id == "000.00.00.H49"
    assert qn.agency_code_verified is True  # Decision 3739/QĐ-UBND 2016 says so


def test_hue_keeps_h57() -> None:
    hue = au.current_province("H57")
    assert hue.name == "Thành phố Huế" and hue.stats_code == "46"
    assert au.current_province("46") == hue
    assert au.province_by_name("Thừa Thiên Huế").stats_code == "46"


def test_an_agency_code_below_the_province_names_the_province() -> None:
    # Dossier codes carry the receiving unit's code, e.g. 000.00.32.H19 (a unit of Đồng Nai).
    assert au.current_province("000.00.32.H19").name == "Tỉnh Đồng Nai"
    assert au.province_by_agency_code("000.00.32.X19") is None
    assert au.province_by_agency_code("H99") is None


def test_h_number_and_statistics_code_are_different_numbers() -> None:
    differ = [p for p in au.provinces() if p.agency_code[1:] != p.stats_code]
    assert len(differ) >= 5
    for agency, stats in [("H49", "22"), ("H26", "01"), ("H29", "79"), ("H19", "75"), ("H57", "46")]:
        assert au.current_province(agency).stats_code == stats


def test_closed_agency_code_maps_to_the_successor() -> None:
    hau_giang = au.province_by_agency_code("H30")
    assert hau_giang.short_name == "Hậu Giang" and hau_giang.agency_code_closed and not hau_giang.is_current
    assert au.current_province("H30").name == "Thành phố Cần Thơ"
    assert au.current_province("000.00.00.H30") == au.current_province("92")


def test_reused_province_code_resolves_to_the_same_current_province() -> None:
    # 24 was Bắc Giang and is now Bắc Ninh (seat in Bắc Giang); old 27 (Bắc Ninh) is closed.
    assert au.province_by_stats_code("24", au.LEGACY_VERSION).short_name == "Bắc Giang"
    assert au.province_by_stats_code("24").short_name == "Bắc Ninh"
    assert au.current_province("24").short_name == "Bắc Ninh"
    assert au.current_province("27").short_name == "Bắc Ninh"
    assert au.province_by_stats_code("27") is None
    # Bắc Ninh keeps the agency code of the pre-2025 Bắc Ninh, not of its seat's province.
    assert au.province_by_stats_code("24").agency_code == au.province_by_stats_code("27", au.LEGACY_VERSION).agency_code


def test_unknown_province_is_refused() -> None:
    with pytest.raises(InvalidValueError) as err:
        au.current_province("99")
    assert err.value.code == "PROVINCE_UNKNOWN"
    with pytest.raises(InvalidValueError):
        au.current_province("")
    with pytest.raises(InvalidValueError):
        au.provinces("2024-01-01")


@pytest.mark.parametrize(("name", "code"), [
    ("Tỉnh Quảng Ninh", "22"), ("quang ninh", "22"), ("TP. Hồ Chí Minh", "79"), ("Thành phố Hà Nội", "01"),
    ("HÀ NỘI", "01"), ("Hà Giang", "02"),
])
def test_name_lookup(name: str, code: str) -> None:
    found = au.province_by_name(name)
    assert found is not None and found.stats_code == code
    assert au.province_by_name("Hà Giang").successor_code == "08"
    assert au.province_by_name("Atlantis") is None


def test_agency_codes_data_marks_what_is_unverified() -> None:
    rows = json.loads((DATA / "agency_codes.json").read_text(encoding="utf-8"))["agency_codes"]
    assert len(rows) == 63
    for row in rows:
        assert row["verified"] == (row["evidence"] == "primary")
        assert row["source"]
    assert sum(r["verified"] for r in rows) < 63  # most codes are not confirmed by a primary text
    provinces = json.loads((DATA / "provinces.json").read_text(encoding="utf-8"))
    assert provinces["successors_verified"] is False


def test_today_s_communes() -> None:
    communes = [c for p in au.provinces() for c in au.communes_of_province(p.stats_code)]
    assert len(communes) == 3321
    assert len({c.code for c in communes}) == 3321
    assert all(len(c.code) == 5 and c.code.isdigit() and c.version == au.CURRENT_VERSION for c in communes)
    assert len(au.communes_of_province("22")) == 54
    assert au.commune("06688").name == "Phường Hạ Long"
    assert au.commune("99999") is None and au.commune("abc") is None


def test_reused_commune_code_is_read_in_its_version() -> None:
    # 00004 was Phường Trúc Bạch (Quận Ba Đình) and is now Phường Ba Đình.
    assert au.commune("00004").name == "Phường Ba Đình"
    old = au.commune("00004", au.LEGACY_VERSION)
    assert old.name == "Phường Trúc Bạch" and old.district_name == "Quận Ba Đình"
    assert au.commune("4", au.LEGACY_VERSION) == old
    assert [c.code for c in au.translate_legacy_commune("00004")] == ["00004"]


def test_merged_commune_translates_to_one() -> None:
    found = au.translate_legacy_commune("00013")  # Phường Quán Thánh went whole into Phường Ba Đình
    assert [(c.code, c.name, c.version) for c in found] == [("00004", "Phường Ba Đình", au.CURRENT_VERSION)]
    assert au.legacy_commune("00013").ambiguous is False


def test_split_commune_translates_to_several_and_is_ambiguous() -> None:
    # Xã Cổ Bi (Gia Lâm) was divided between three new communes.
    legacy = au.legacy_commune("00553")
    assert legacy.commune.name == "Xã Cổ Bi" and legacy.split and legacy.ambiguous
    found = au.translate_legacy_commune("00553")
    assert {c.code for c in found} == {"00136", "00541", "00565"}
    assert found[0].code == legacy.successor_codes[0]  # the package's default successor first
    assert all(c.province_code == "01" for c in found)


def test_every_legacy_commune_has_a_current_successor() -> None:
    legacy = au._legacy()
    assert len(legacy) == 10035
    current = {c.code for p in au.provinces() for c in au.communes_of_province(p.stats_code)}
    assert all(set(lc.successor_codes) <= current for lc in legacy.values())
    assert all(lc.ambiguous == lc.split for lc in legacy.values())
    assert sum(lc.split for lc in legacy.values()) == 471
    # The successor lies in the successor of the old commune's province.
    for lc in list(legacy.values())[::97]:
        successor = au.successor_of(lc.commune.province_code).stats_code
        assert all(au.commune(c).province_code == successor for c in lc.successor_codes)


def test_unknown_legacy_commune_is_refused() -> None:
    with pytest.raises(InvalidValueError) as err:
        au.translate_legacy_commune("99999")
    assert err.value.code == "COMMUNE_UNKNOWN"
