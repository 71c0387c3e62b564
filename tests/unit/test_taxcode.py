"""Tax codes: check digit, branch form, personal ID number as tax code."""
from __future__ import annotations

import pytest

from chalicelib.core.taxcode import tax_code_check_digit, validate_tax_code
from chalicelib.core.validation import InvalidValueError


def _code(raw, **kwargs) -> str:
    with pytest.raises(InvalidValueError) as err:
        validate_tax_code(raw, **kwargs)
    return err.value.code


def test_check_digit_worked_by_hand() -> None:
    # 0100109106: 0·31 + 1·29 + 0·23 + 0·19 + 1·17 + 0·13 + 9·7 + 1·5 + 0·3 = 114; 114 mod 11 = 4; 10 − 4 = 6.
    assert tax_code_check_digit("010010910") == 6
    # 0101245486: 0 + 29 + 0 + 19 + 34 + 52 + 35 + 20 + 24 = 213; 213 mod 11 = 4; 10 − 4 = 6.
    assert tax_code_check_digit("010124548") == 6
    # 031234567: 0 + 87 + 23 + 38 + 51 + 52 + 35 + 30 + 21 = 337; 337 mod 11 = 7; 10 − 7 = 3.
    assert tax_code_check_digit("031234567") == 3
    # 010000005: 29 + 15 = 44; 44 mod 11 = 0; c = 10: no digit can be valid.
    assert tax_code_check_digit("010000005") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0100109106", "0100109106"),
        (" 0101245486 ", "0101245486"),
        ("0312345673", "0312345673"),
        ("0100109106-001", "0100109106-001"),
        ("0100109106001", "0100109106-001"),  # 13 digits without the dash: stored in the printed form
        ("0100109106 - 012", "0100109106-012"),
    ],
)
def test_valid_tax_codes(raw: str, expected: str) -> None:
    assert validate_tax_code(raw) == expected


@pytest.mark.parametrize("raw", ["0100109107", "0100109100", "0312345678", "0100109105-001", "0100109105001"])
def test_wrong_check_digit_is_refused(raw: str) -> None:
    assert _code(raw) == "TAX_CODE_CHECK_DIGIT"


@pytest.mark.parametrize("last", "0123456789")
def test_base_whose_check_would_be_ten_is_always_refused(last: str) -> None:
    assert _code("010000005" + last) == "TAX_CODE_CHECK_DIGIT"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "010010910",  # 9 digits
        "01001091061",  # 11 digits
        "0100109106-000",  # branch suffix 000 is the head office, never a branch
        "0100109106000",
        "0100109106-01",
        "0100109106--001",
        "0100.109.106",
        "MST0100109106",
        "01001091060011",
        None,
    ],
)
def test_malformed_tax_codes_are_refused(raw: str) -> None:
    assert _code(raw) == "TAX_CODE_FORMAT"


def test_personal_id_number_is_a_tax_code_when_allowed() -> None:
    assert validate_tax_code("001085012345") == "001085012345"
    assert validate_tax_code("001 085 012 345") == "001085012345"


def test_personal_id_number_is_refused_when_not_allowed() -> None:
    assert _code("001085012345", allow_personal_id=False) == "TAX_CODE_FORMAT"


def test_invalid_personal_id_reports_the_id_rule() -> None:
    assert _code("999085012345") == "ID_NUMBER_PROVINCE"


def test_nine_digit_cmnd_is_not_a_tax_code() -> None:
    assert _code("123456789") == "TAX_CODE_FORMAT"
