"""Matching the tax authority's commune list to the statistics codes (M10): names, statuses, list checks."""
from __future__ import annotations

import pytest

from chalicelib.communes.domain import Flag, MatchStatus, TaxCommuneRow, confirm, parse_tax_code
from chalicelib.communes.matching import match_bench, match_name, match_rows, resolve_province
from chalicelib.communes.normalise import name_key
from chalicelib.core import admin_units as au
from chalicelib.core.validation import InvalidValueError


@pytest.mark.parametrize("variants", [
    ("Phường 01", "Phường 1", "P.1", "P1", "phường 1", "P. 01"),
    ("Xã Hòa An", "Xã Hoà An", "xã hòa an", "X.Hòa An", "Hòa An", "  Xã   Hòa  An "),
    ("Thị trấn Cái Dầu", "TT. Cái Dầu", "TT Cái Dầu", "Cái Dầu", "THỊ TRẤN CÁI DẦU"),
    ("Đặc khu Côn Đảo", "Côn Đảo", "đặc khu côn đảo"),
    ("Xã Ea Kar", "X.Ea-Kar", "Xã Ea-Kar", "Xã EaKar"),
    ("Phường Thủy Châu", "Phường Thuỷ Châu"),
])
def test_spellings_of_one_name_share_the_exact_key(variants: tuple[str, ...]) -> None:
    assert len({name_key(v).exact for v in variants}) == 1


def test_diacritics_distinguish_in_the_exact_key_only() -> None:
    assert name_key("Tân Hòa").exact != name_key("Tân Hóa").exact
    assert name_key("Tân Hòa").loose == name_key("Tân Hóa").loose == name_key("Tan Hoa").loose == "tanhoa"


def test_unit_word_is_recognised_but_not_inside_names() -> None:
    assert name_key("Xã Xuân Lộc").unit_type == "xa"
    assert name_key("Xuân Lộc").unit_type is None and name_key("Xuân Lộc").loose == "xuanloc"
    assert name_key("P. Mỹ Đình 1").unit_type == "phuong"
    assert name_key("Xã Xa Dung").exact == name_key("xa dung").loose_whole  # typed plain, "xa" is a name word too


def test_exact_name_matches_with_the_statistics_code() -> None:
    status, candidates, loose = match_name("Phường Hạ Long", "22")
    assert status is MatchStatus.MATCHED and not loose
    assert [(c.code, c.name) for c in candidates] == [("06688", "Phường Hạ Long")]


@pytest.mark.parametrize("name", ["P. Bãi Cháy", "Bãi Cháy", "Phuong Bai Chay", "bai chay"])
def test_prefix_and_diacritics_variants_match(name: str) -> None:
    status, candidates, _ = match_name(name, "22")
    assert status is MatchStatus.MATCHED and candidates[0].code == "06673"


def test_numbered_wards_match_whatever_the_zero_padding() -> None:
    # Phường 1 of Bảo Lộc is "Phường 1 Bảo Lộc" today (Lâm Đồng, 68).
    status, candidates, _ = match_name("P.01 Bảo Lộc", "68")
    assert status is MatchStatus.MATCHED and candidates[0].name == "Phường 1 Bảo Lộc"


def test_same_name_twice_in_a_province_is_ambiguous_with_both_candidates() -> None:
    # Đồng Tháp (82) has both "Phường Mỹ Tho" and "Xã Mỹ Thọ": typed without diacritics (and with the unit word
    # dropped, as both sides are) they cannot be told apart.
    status, candidates, loose = match_name("Phuong My Tho", "82")
    assert status is MatchStatus.AMBIGUOUS and loose
    assert {c.name for c in candidates} == {"Phường Mỹ Tho", "Xã Mỹ Thọ"}
    assert candidates[0].name == "Phường Mỹ Tho"  # the unit the row named first
    # With its diacritics the name is unique.
    assert match_name("Xã Mỹ Thọ", "82")[0] is MatchStatus.MATCHED


def test_unknown_name_is_missing_with_nearest_candidates() -> None:
    status, candidates, _ = match_name("Phường Bãi Chảy Mới", "22")
    assert status is MatchStatus.MISSING
    assert 1 <= len(candidates) <= 3 and candidates[0].code == "06673"
    assert all(0 < c.score < 1 for c in candidates)
    assert match_name("Zzzz Qqqq", "22") == (MatchStatus.MISSING, (), False)


def test_match_is_limited_to_the_row_s_province() -> None:
    # Phường Hạ Long exists in Quảng Ninh only: asked in Hà Nội it is missing.
    assert match_name("Phường Hạ Long", "01")[0] is MatchStatus.MISSING


def _row(code: str, name: str, province: str = "Quảng Ninh") -> TaxCommuneRow:
    return TaxCommuneRow(code, name, province)


def test_planted_duplicates_and_misses_in_a_list() -> None:
    rows = [
        _row("2210101", "Phường Hạ Long"),
        _row("2210102", "P. Bãi Cháy"),
        _row("2210102", "Phường Cao Xanh"),  # the same tax code twice
        _row("2210104", "Phường Bãi Cháy"),  # the same commune twice: two tax codes on one statistics code
        _row("2210105", "Phường Không Tồn Tại"),
        _row("2210106", "Hạ Long", "Tỉnh Quảng Ninh"),
    ]
    results = match_rows(rows)
    assert [r.status for r in results] == [MatchStatus.MATCHED, MatchStatus.MATCHED, MatchStatus.MATCHED,
                                           MatchStatus.MATCHED, MatchStatus.MISSING, MatchStatus.MATCHED]
    assert Flag.DUPLICATE_CODE in results[1].flags and Flag.DUPLICATE_CODE in results[2].flags
    assert Flag.DUPLICATE_NAME in results[1].flags and Flag.DUPLICATE_NAME in results[3].flags
    assert Flag.SHARED_TARGET in results[1].flags and Flag.SHARED_TARGET in results[3].flags
    assert Flag.SHARED_TARGET in results[0].flags and Flag.SHARED_TARGET in results[5].flags
    assert all(r.needs_review for r in results)  # every row here shares a code, a name or a target, or is missing
    assert all(r.province_code == "22" for r in results)


def test_a_clean_match_needs_no_review_and_confirms() -> None:
    [result] = match_rows([_row("2210101", "Phường Hạ Long")])
    assert not result.needs_review
    entry = confirm(result)
    assert (entry.tax_code, entry.standard_code, entry.province_code, entry.version) == \
        ("2210101", "06688", "22", au.CURRENT_VERSION)


def test_confirming_a_commune_of_another_province_is_refused() -> None:
    [result] = match_rows([_row("2210105", "Phường Không Tồn Tại")])
    with pytest.raises(InvalidValueError) as err:
        confirm(result)
    assert err.value.code == "COMMUNE_NOT_CHOSEN"
    with pytest.raises(InvalidValueError) as err:
        confirm(result, "00004")  # Phường Ba Đình, Hà Nội
    assert err.value.code == "COMMUNE_NOT_IN_PROVINCE"
    assert confirm(result, "06673").standard_name == "Phường Bãi Cháy"


def test_other_diacritics_never_match_silently() -> None:
    # "Bắ Sơn" (a slip for Bắc Sơn) is loosely equal to Xã Ba Sơn: matched, but a person must look.
    [result] = match_rows([TaxCommuneRow("2010101", "Xã Bắ Sơn", "20")])
    assert result.status is MatchStatus.MATCHED and result.matched.name == "Xã Ba Sơn"
    assert Flag.DIACRITICS_DIFFER in result.flags and result.needs_review
    [plain] = match_rows([TaxCommuneRow("2010102", "Xa Ba Son", "20")])
    assert Flag.LOOSE_MATCH in plain.flags and not plain.needs_review


def test_province_of_the_rows_by_code_name_or_old_name() -> None:
    assert resolve_province("22") == resolve_province("Quảng Ninh") == resolve_province("H49") == "22"
    assert resolve_province("Hà Giang") == "08"  # merged into Tuyên Quang
    assert resolve_province("Hà Giang", au.LEGACY_VERSION) == "02"
    assert resolve_province("Nowhere") is None and resolve_province("") is None
    [unknown] = match_rows([_row("1", "Phường Hạ Long", "Nowhere")])
    assert unknown.province_code is None and Flag.PROVINCE_UNKNOWN in unknown.flags


def test_fixed_province_flags_rows_of_another_province() -> None:
    results = match_rows([_row("1", "Phường Hạ Long"), _row("2", "Phường Ba Đình", "Hà Nội")], province="22")
    assert results[0].status is MatchStatus.MATCHED and not results[0].flags
    assert Flag.PROVINCE_MISMATCH in results[1].flags and results[1].province_code == "22"
    with pytest.raises(InvalidValueError):
        match_rows([], province="Nowhere")


def test_matching_against_the_pre_2025_list() -> None:
    [result] = match_rows([TaxCommuneRow("1010104", "Phường Trúc Bạch", "Hà Nội")], version=au.LEGACY_VERSION)
    assert result.status is MatchStatus.MATCHED and result.matched.code == "00004"
    assert confirm(result).version == au.LEGACY_VERSION


@pytest.mark.parametrize("raw", ["7010917", "1", "0123456789", " 42 "])
def test_tax_codes_of_one_to_ten_digits(raw: str) -> None:
    assert parse_tax_code(raw) == raw.strip()


@pytest.mark.parametrize("raw", ["", "12345678901", "70109-17", "abc", "７０１", None])
def test_other_tax_codes_are_refused(raw: object) -> None:
    with pytest.raises(InvalidValueError):
        parse_tax_code(raw)


def test_bench_on_part_of_the_real_list() -> None:
    result = match_bench(n=600)
    assert result["rows"] >= 600
    assert result["wrong_automatic"] == 0
    assert 0.7 < result["share_matched_automatically"] < 1
    assert result["flagged_duplicate_codes"] >= 2
    assert result["seconds"] < 10


def test_same_written_name_twice_in_a_pre_2025_province_is_ambiguous() -> None:
    # Before 2025 Hồ Chí Minh City had a "Phường 1" in several districts; the name alone cannot choose.
    [result] = match_rows([TaxCommuneRow("7010101", "P.01", "79")], version=au.LEGACY_VERSION)
    assert result.status is MatchStatus.AMBIGUOUS and len(result.candidates) > 2
    assert {au.commune(c.code, au.LEGACY_VERSION).name for c in result.candidates} == {"Phường 1"}
    assert result.needs_review and result.matched is None
