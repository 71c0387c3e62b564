"""Personal ID numbers: normalisation, CCCD structure, agreement with date of birth and sex."""
from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from chalicelib.core.identity import decode_personal_id, normalise_id_number, validate_id_number
from chalicelib.core.validation import InvalidValueError

MALE_1985_HANOI = "001085012345"  # 001 Hà Nội, 0 = male 1900s, 85
FEMALE_2001_HCMC = "079301234567"  # 079 TP Hồ Chí Minh, 3 = female 2000s, 01


def _code(call, *args, **kwargs) -> str:
    with pytest.raises(InvalidValueError) as err:
        call(*args, **kwargs)
    return err.value.code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("001085012345", "001085012345"),
        (" 001 085 012 345 ", "001085012345"),
        ("001.085.012.345", "001085012345"),
        ("001-085-012-345\t\n", "001085012345"),
        ("０７９３０１２３４５６７", "079301234567"),  # full-width digits
        ("123456789\u200b", "123456789"),
    ],
)
def test_normalise_strips_separators_and_dirt(raw: str, expected: str) -> None:
    assert normalise_id_number(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "CCCD 001085012345", "001085012345A", "12345678/9", "٠٠١٠٨٥٠١٢٣٤٥"])
def test_normalise_refuses_anything_but_digits_and_separators(raw: str) -> None:
    assert _code(normalise_id_number, raw) == "ID_NUMBER_FORMAT"


def test_normalise_refuses_non_strings() -> None:
    # An int has already lost its leading zeros: never guess them back.
    assert _code(normalise_id_number, 1085012345) == "ID_NUMBER_FORMAT"


def test_accepts_cccd_and_cmnd() -> None:
    assert validate_id_number(" 001085012345 ") == MALE_1985_HANOI
    assert validate_id_number(FEMALE_2001_HCMC) == FEMALE_2001_HCMC
    assert validate_id_number("123 456 789") == "123456789"


@pytest.mark.parametrize("raw", ["12345678", "1234567890", "12345678901", "0010850123456"])
def test_refuses_other_lengths(raw: str) -> None:
    assert _code(validate_id_number, raw) == "ID_NUMBER_FORMAT"


@pytest.mark.parametrize("raw", ["000085012345", "003085012345", "097085012345", "100085012345", "840085012345"])
def test_refuses_unknown_province_of_birth(raw: str) -> None:
    assert _code(validate_id_number, raw) == "ID_NUMBER_PROVINCE"


def test_province_table_has_the_63_pre_2025_codes() -> None:
    path = Path(__file__).resolve().parents[2] / "chalicelib" / "data" / "cccd_province_codes.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    codes = set(data["provinces"])
    assert len(codes) == 63
    assert {"001", "031", "048", "079", "092", "096"} <= codes
    assert all(len(c) == 3 and c.startswith("0") for c in codes)
    assert data["abroad_codes"] == {}  # no country code is accepted until a verified one is added


@pytest.mark.parametrize(
    ("number", "year", "sex"),
    [
        ("001085012345", 1985, "male"),
        ("001185012345", 1985, "female"),
        ("079201012345", 2001, "male"),
        ("079301234567", 2001, "female"),
        ("096400012345", 2100, "male"),
        ("096599012345", 2199, "female"),
        ("036699012345", 2299, "male"),
        ("036799012345", 2299, "female"),
        ("036800012345", 2300, "male"),
        ("036900012345", 2300, "female"),
    ],
)
def test_decode_century_sex_and_year(number: str, year: int, sex: str) -> None:
    info = decode_personal_id(number)
    assert (info.birth_year, info.sex, info.place_code) == (year, sex, number[:3])


def test_date_of_birth_and_sex_that_agree_are_accepted() -> None:
    assert validate_id_number(MALE_1985_HANOI, datetime.date(1985, 3, 1), "male") == MALE_1985_HANOI
    assert validate_id_number(FEMALE_2001_HCMC, datetime.date(2001, 12, 31), "female") == FEMALE_2001_HCMC


def test_birth_year_mismatch_is_refused() -> None:
    assert _code(validate_id_number, MALE_1985_HANOI, datetime.date(1986, 1, 1)) == "ID_NUMBER_BIRTH_MISMATCH"
    # Same two digits, wrong century: 2085 is not 1985.
    assert _code(validate_id_number, "001285012345", datetime.date(1985, 1, 1)) == "ID_NUMBER_BIRTH_MISMATCH"


def test_sex_mismatch_is_refused() -> None:
    assert _code(validate_id_number, MALE_1985_HANOI, None, "female") == "ID_NUMBER_SEX_MISMATCH"
    assert _code(validate_id_number, FEMALE_2001_HCMC, datetime.date(2001, 1, 1), "male") == "ID_NUMBER_SEX_MISMATCH"


def test_unknown_sex_value_is_refused() -> None:
    assert _code(validate_id_number, MALE_1985_HANOI, None, "M") == "SEX_INVALID"


def test_cmnd_encodes_nothing_so_birth_and_sex_are_not_compared() -> None:
    assert validate_id_number("123456789", datetime.date(1970, 1, 1), "female") == "123456789"


def test_messages_are_vietnamese() -> None:
    with pytest.raises(InvalidValueError) as err:
        validate_id_number("12")
    assert "Số CMND/CCCD không hợp lệ" in err.value.message


# --- a birth year that has not come yet ----------------------------------------------------------------------------

TODAY = datetime.date(2026, 5, 20)


def test_a_birth_year_in_the_future_is_refused() -> None:
    # 2 = male 2000s, 27: born in 2027, a year after "today".
    with pytest.raises(InvalidValueError) as err:
        validate_id_number("001227012345", today=TODAY)
    assert err.value.code == "ID_NUMBER_BIRTH_YEAR"
    assert "năm sinh" in err.value.message and "chữ số thứ 4 đến thứ 6" in err.value.message


@pytest.mark.parametrize("number", ["001226012345", "001326012345", "001225012345", "001085012345", "001100012345"])
def test_this_year_and_earlier_are_accepted(number: str) -> None:
    assert validate_id_number(number, today=TODAY) == number  # a newborn gets a number in its birth year


@pytest.mark.parametrize("number", ["096400012345", "096599012345", "036699012345", "036800012345", "036999012345"])
def test_a_century_digit_of_a_century_not_begun_is_refused(number: str) -> None:
    # Digit 4 of 4-9 encodes the 2100s-2300s (DOMAIN.md): impossible for anyone alive before 2100.
    with pytest.raises(InvalidValueError) as err:
        validate_id_number(number, today=TODAY)
    assert err.value.code == "ID_NUMBER_BIRTH_YEAR"
    assert "chữ số thứ 4" in err.value.message


def test_the_year_is_vietnam_time_by_default(monkeypatch) -> None:
    import chalicelib.core.identity as identity

    # 31 Dec 2026 18:00 UTC is already 1 Jan 2027 01:00 in Vietnam: a child born in 2027 can have a number.
    class _Clock(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.datetime(2026, 12, 31, 18, 0, tzinfo=datetime.timezone.utc).astimezone(tz)

    monkeypatch.setattr(identity.datetime, "datetime", _Clock)
    assert validate_id_number("001227012345") == "001227012345"
    assert _code(validate_id_number, "001228012345") == "ID_NUMBER_BIRTH_YEAR"


def test_lookups_do_not_check_the_birth_year() -> None:
    assert normalise_id_number("001 227 012 345") == "001227012345"
    assert normalise_id_number("096999012345") == "096999012345"
