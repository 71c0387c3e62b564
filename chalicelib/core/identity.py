"""Personal ID numbers: 12-digit CCCD / số định danh cá nhân and 9-digit CMND.

The ID number is half of the lookup key (with the dossier code) and the proof that a bank account belongs to the
citizen, so it is normalised the same way everywhere before it is compared or hashed. A 12-digit number has no check
digit, but its first six digits encode the province of birth registration, the century and sex, and the birth year:
we check them, and check them against a date of birth and sex when those are known. A birth year after the current
year in Vietnam is impossible, and so is a century digit (digit 4) of a century not begun yet (4-9: the 2100s to
2300s); a year before 1900 cannot be written at all (digit 4 = 0 or 1 is the 1900s). Lookups
(``normalise_id_number``) do not check any of this: a stored number is found as it was stored.

Births registered abroad carry a country code in digits 1–3. No primary text lists those codes, so we accept none
until someone adds verified codes to ``abroad_codes`` in ``data/cccd_province_codes.json`` (a data change, not a code
change); until then such a number is refused with ``ID_NUMBER_PROVINCE`` and a message that says what to check.
"""
from __future__ import annotations

import datetime
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from chalicelib.core.clock import VN_TZ
from chalicelib.core.validation import InvalidValueError, RuleError

Sex = Literal["male", "female"]

_DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "cccd_province_codes.json"
# Separators and dirt seen in typed and tax-system data: any whitespace, zero-width characters, dots, dashes.
_SEPARATORS = re.compile(r"[\s\u200b\u200c\u200d\ufeff.\-\u2010-\u2015]+")
_DIGITS = re.compile(r"[0-9]+")

_FORMAT_MESSAGE = "Số CMND/CCCD không hợp lệ: phải gồm 9 chữ số (CMND) hoặc 12 chữ số (CCCD/số định danh cá nhân)."


@dataclass(frozen=True)
class PersonalIdInfo:
    """What the first six digits of a 12-digit personal ID number say about its holder."""

    place_code: str
    birth_year: int
    sex: Sex


@cache
def _place_codes() -> frozenset[str]:
    """Province-of-birth codes plus any verified country codes, read once from the data file."""
    data = json.loads(_DATA_FILE.read_text(encoding="utf-8"))
    return frozenset(data["provinces"]) | frozenset(data["abroad_codes"])


def id_number_pattern() -> str:
    """The JSON Schema pattern of an ID number as a client should send it: 9 digits (CMND), or 12 whose first three are
    a province-of-birth code of the data file and whose century digit (digit 4) is of a century begun (1900s, 2000s).
    A birth year not yet come cannot be a pattern (it moves with today): that is ``ID_NUMBER_BIRTH_YEAR``, a rule."""
    return rf"^(?:[0-9]{{9}}|{personal_id_pattern()})$"


def personal_id_pattern() -> str:
    """The 12-digit part of ``id_number_pattern`` (unanchored), also a personal tax code."""
    places = "|".join(sorted(_place_codes()))
    return rf"(?:{places})[0-3][0-9]{{8}}"


def normalise_id_number(raw: str) -> str:
    """Return the digits of ``raw`` once separators (spaces, dots, dashes) are removed; anything else is refused.

    Full-width digits are folded to ASCII (NFKC) because they come from some Vietnamese input methods.
    """
    if not isinstance(raw, str):
        raise InvalidValueError("ID_NUMBER_FORMAT", _FORMAT_MESSAGE)
    cleaned = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    if not _DIGITS.fullmatch(cleaned):
        raise InvalidValueError("ID_NUMBER_FORMAT", _FORMAT_MESSAGE)
    return cleaned


def decode_personal_id(number: str) -> PersonalIdInfo:
    """Decode digits 1–6 of a normalised 12-digit number: place code, birth year (century from digit 4) and sex."""
    century_sex = int(number[3])
    birth_year = 1900 + 100 * (century_sex // 2) + int(number[4:6])
    return PersonalIdInfo(number[:3], birth_year, "female" if century_sex % 2 else "male")


def validate_id_number(
    raw: str, date_of_birth: datetime.date | None = None, sex: Sex | None = None,
    today: datetime.date | None = None,
) -> str:
    """Return the normalised 9-digit CMND or 12-digit CCCD, refusing a number that contradicts what is known.

    A 9-digit CMND encodes nothing we can check (its first two digits are a police code), so ``date_of_birth`` and
    ``sex`` are only compared with a 12-digit number. ``today`` (default: today in Vietnam) bounds the birth year.
    """
    number = normalise_id_number(raw)
    if len(number) == 9:
        return number
    if len(number) != 12:
        raise InvalidValueError("ID_NUMBER_FORMAT", _FORMAT_MESSAGE)
    if number[:3] not in _place_codes():
        raise InvalidValueError(
            "ID_NUMBER_PROVINCE",
            "Số CCCD/định danh cá nhân không hợp lệ: 3 chữ số đầu không phải mã tỉnh nơi đăng ký khai sinh."
            " Vui lòng kiểm tra lại số trên thẻ căn cước.",
        )
    info = decode_personal_id(number)
    _check_agrees(info, date_of_birth, sex)
    _check_born(info, today or datetime.datetime.now(VN_TZ).date())
    return number


def _check_born(info: PersonalIdInfo, today: datetime.date) -> None:
    """Digits 4–6 must encode a year that has come: not a later century (digit 4), not a later year."""
    if info.birth_year // 100 > today.year // 100:
        raise InvalidValueError(
            "ID_NUMBER_BIRTH_YEAR",
            f"Số CCCD/định danh cá nhân không hợp lệ: chữ số thứ 4 chỉ người sinh trong các năm"
            f" {info.birth_year // 100 * 100}–{info.birth_year // 100 * 100 + 99}, những năm này chưa đến."
            " Vui lòng kiểm tra lại số trên thẻ căn cước.",
        )
    if info.birth_year > today.year:
        raise RuleError(
            "ID_NUMBER_BIRTH_YEAR",
            f"Số CCCD/định danh cá nhân không hợp lệ: năm sinh {info.birth_year} (chữ số thứ 4 đến thứ 6) chưa đến."
            " Vui lòng kiểm tra lại số trên thẻ căn cước.",
        )


def _check_agrees(info: PersonalIdInfo, date_of_birth: datetime.date | None, sex: Sex | None) -> None:
    """Digits 4–6 must agree with the stated birth year and sex."""
    if date_of_birth is not None and date_of_birth.year != info.birth_year:
        raise RuleError(
            "ID_NUMBER_BIRTH_MISMATCH",
            "Năm sinh không khớp với số CCCD/định danh cá nhân (chữ số thứ 4 đến thứ 6). Vui lòng kiểm tra lại.",
        )
    if sex is not None and sex not in ("male", "female"):
        raise InvalidValueError("SEX_INVALID", "Giới tính không hợp lệ.")
    if sex is not None and sex != info.sex:
        raise RuleError(
            "ID_NUMBER_SEX_MISMATCH",
            "Giới tính không khớp với số CCCD/định danh cá nhân (chữ số thứ 4). Vui lòng kiểm tra lại.",
        )
