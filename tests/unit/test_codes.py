"""Dossier codes and agency identification codes."""
from __future__ import annotations

import datetime

import pytest

from chalicelib.core.codes import (
    parse_dossier_code,
    province_agency_code,
    validate_agency_code,
    validate_dossier_code,
)
from chalicelib.core.validation import InvalidValueError


def _code(call, *args) -> str:
    with pytest.raises(InvalidValueError) as err:
        call(*args)
    return err.value.code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("000.00.32.H19-210708-0032", "000.00.32.H19-210708-0032"),
        ("000.A0.01.H26-210212-9090", "000.A0.01.H26-210212-9090"),
        ("  000.a0.01.h26-210212-9090\n", "000.A0.01.H26-210212-9090"),
        ("000.00.43.H35-240229-0001", "000.00.43.H35-240229-0001"),  # 2024 is a leap year
    ],
)
def test_valid_dossier_codes_are_normalised(raw: str, expected: str) -> None:
    assert validate_dossier_code(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "H35.22-210520-0001",  # short provincial alias: must be resolved before validation
        "000.00.32.H19-210708-032",  # 3-digit sequence
        "000.00.32.H19-21070-0032",  # 5-digit date
        "000.00.32.19-210708-0032",  # level 1 without its letter
        "000.00.32.H1A-210708-0032",
        "0000.00.32.H19-210708-0032",
        "000.00.32.H19_210708_0032",
        "000.00.32.H19-210708-0032-1",
        "000.00.3-.H19-210708-0032",
        "000.00.32.H19-٢١٠٧٠٨-0032",  # non-ASCII digits
    ],
)
def test_malformed_dossier_codes_are_refused(raw: str) -> None:
    assert _code(validate_dossier_code, raw) == "DOSSIER_CODE_FORMAT"


@pytest.mark.parametrize("date_part", ["211301", "210000", "210230", "230229", "210431"])
def test_dossier_code_date_must_be_real(date_part: str) -> None:
    assert _code(validate_dossier_code, f"000.00.32.H19-{date_part}-0032") == "DOSSIER_CODE_FORMAT"


def test_non_string_dossier_code_is_refused() -> None:
    assert _code(validate_dossier_code, None) == "DOSSIER_CODE_FORMAT"


def test_parse_dossier_code() -> None:
    parsed = parse_dossier_code("000.00.32.H19-210708-0032")
    assert parsed.agency_code == "000.00.32.H19"
    assert parsed.received_on == datetime.date(2021, 7, 8)
    assert parsed.sequence == 32


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("000.00.43.H35-210520-0001", "000.00.00.H35"),
        ("000.A0.01.h26-210212-9090", "000.00.00.H26"),
        ("000.00.00.H49-250101-0001", "000.00.00.H49"),
    ],
)
def test_province_agency_code(raw: str, expected: str) -> None:
    assert province_agency_code(raw) == expected


def test_province_agency_code_refuses_non_provincial_agency() -> None:
    assert _code(province_agency_code, "000.00.00.G10-210520-0001") == "DOSSIER_CODE_NOT_PROVINCIAL"


def test_province_agency_code_refuses_bad_dossier_code() -> None:
    assert _code(province_agency_code, "000.00.43.H35-211340-0001") == "DOSSIER_CODE_FORMAT"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("000.00.00.H49", "000.00.00.H49"),
        (" 000.a0.01.h26 ", "000.A0.01.H26"),
        ("000.00.00.G10", "000.00.00.G10"),
        ("A" * 25 + ".00.00.H49", "A" * 25 + ".00.00.H49"),  # exactly 35 characters
    ],
)
def test_valid_agency_codes(raw: str, expected: str) -> None:
    assert validate_agency_code(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "000.00.H49",  # three levels
        "000.00.00.00.H49",  # five levels
        "000..00.H49",  # empty level
        "000.00.00.H4",
        "000.00.00.49",
        "000-00-00-H49",
        "000.00.00.H49 X",
        "A" * 26 + ".00.00.H49",  # 36 characters
        None,
    ],
)
def test_invalid_agency_codes(raw: str) -> None:
    assert _code(validate_agency_code, raw) == "AGENCY_CODE_FORMAT"
