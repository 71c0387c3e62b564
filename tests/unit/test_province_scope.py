"""Province scope comes from the one authoritative province table (agency code <-> statistics code, closed pre-2025
codes mapped to their successor), never from a request and never from comparing strings (issue 8 §1): for every one
of the 34 provinces, whose agency and statistics codes mostly differ (Quảng Ninh is 22 and H49)."""
from __future__ import annotations

import pytest

from chalicelib.accounts.ports import Caller
from chalicelib.accounts.services.officers import may_manage_unit
from chalicelib.core import admin_units
from chalicelib.core.validation import InvalidValueError
from chalicelib.provinces.domain.registry import in_scope, validate_province_agency_code

PROVINCES = admin_units.provinces()


def _admin(province: str) -> Caller:
    return Caller(subject="pa", roles=frozenset({"province_admin"}), province_code=province)


def test_the_table_has_34_provinces_with_distinct_codes():
    assert len(PROVINCES) == 34
    assert len({p.agency_code for p in PROVINCES}) == len({p.stats_code for p in PROVINCES}) == 34


@pytest.mark.parametrize("province", PROVINCES, ids=lambda p: f"{p.agency_code}-{p.stats_code}")
def test_an_administrator_manages_their_own_province_and_no_other(province):
    agency = f"000.00.00.{province.agency_code}"
    neighbour = next(p for p in PROVINCES if p.stats_code != province.stats_code)
    for claim in (agency, province.agency_code, province.stats_code):  # however the record names it
        assert may_manage_unit(_admin(claim), f"000.00.15.{province.agency_code}")
        assert in_scope(claim, agency)
        assert not may_manage_unit(_admin(claim), f"000.00.15.{neighbour.agency_code}")
        assert not in_scope(claim, f"000.00.00.{neighbour.agency_code}")


def test_quang_ninh_manages_h49_not_h22():
    """The old bug: the statistics code read as an agency suffix ("22" -> H22)."""
    assert may_manage_unit(_admin("000.00.00.H49"), "000.00.15.H49")
    assert not may_manage_unit(_admin("000.00.00.H49"), "000.00.15.H22")
    assert not may_manage_unit(_admin("22"), "000.00.15.H22")


def test_a_closed_code_counts_for_the_province_it_became_part_of():
    closed = next(p for p in admin_units.provinces(admin_units.LEGACY_VERSION) if p.agency_code_closed)
    successor = admin_units.successor_of(closed)
    assert may_manage_unit(_admin(f"000.00.00.{successor.agency_code}"), f"000.00.43.{closed.agency_code}")
    with pytest.raises(InvalidValueError) as exc:  # but a province's API is registered under today's code only
        validate_province_agency_code(f"000.00.00.{closed.agency_code}")
    assert exc.value.code == "PROVINCE_CODE_CLOSED" and successor.agency_code in exc.value.message


def test_unknown_codes_are_in_nobodys_scope():
    assert not in_scope("000.00.00.H99", "000.00.00.H99")
    assert not may_manage_unit(_admin("000.00.00.H99"), "000.00.15.H99")
    assert not in_scope(None, "000.00.00.H49") and not in_scope("", "000.00.00.H49")
    with pytest.raises(InvalidValueError) as exc:
        validate_province_agency_code("000.00.00.H99")
    assert exc.value.code == "PROVINCE_UNKNOWN"
