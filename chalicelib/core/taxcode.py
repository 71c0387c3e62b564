"""Tax codes (mã số thuế, MST) of payers and collecting organisations.

Forms: 10 digits with a check digit; 13 digits for a branch, printed ``NNNNNNNNNN-NNN`` (the last three never
``000``); and, since 1 July 2025 (Circular 86/2024/TT-BTC), an individual's 12-digit personal ID number. The check
digit is the de-facto rule (as in python-stdnum ``stdnum.vn.mst``): ``c = 10 − (Σ wᵢ·dᵢ mod 11)`` over the first nine
digits with weights 31, 29, 23, 19, 17, 13, 7, 5, 3, where c = 10 is never valid.

Branch codes are returned in the printed form ``NNNNNNNNNN-NNN`` whichever way they were typed, so that one tax code
is always stored and compared as one string.
"""
from __future__ import annotations

import re

from chalicelib.core.identity import personal_id_pattern, validate_id_number
from chalicelib.core.validation import InvalidValueError, RuleError

_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)
_TEN_DIGITS = re.compile(r"[0-9]{10}", re.ASCII)
_BRANCH = re.compile(r"([0-9]{10})-?([0-9]{3})", re.ASCII)
_PERSONAL_ID = re.compile(r"[0-9]{12}", re.ASCII)
_SPACES = re.compile(r"\s+")


def tax_code_check_digit(first_nine: str) -> int | None:
    """Return the check digit for the first nine digits of a tax code, or None when no digit can be valid."""
    total = sum(weight * int(digit) for weight, digit in zip(_WEIGHTS, first_nine, strict=True))
    check = 10 - total % 11
    return None if check == 10 else check


def tax_code_pattern(allow_personal_id: bool = True) -> str:
    """The JSON Schema pattern of a tax code: 10 digits, or a branch NNNNNNNNNN-NNN (not -000), or (if allowed) a
    personal ID number's pattern. The check digit is a rule beyond any pattern (``TAX_CODE_CHECK_DIGIT``)."""
    forms = r"[0-9]{10}|[0-9]{10}-?(?:00[1-9]|0[1-9][0-9]|[1-9][0-9]{2})"
    if allow_personal_id:
        forms += "|" + personal_id_pattern()
    return rf"^(?:{forms})$"


def validate_tax_code(raw: str, allow_personal_id: bool = True) -> str:
    """Return a valid tax code: ``0100109106``, ``0100109106-001``, or (if allowed) a 12-digit personal ID number.

    A 12-digit personal ID is checked by ``identity.validate_id_number`` and its errors (``ID_NUMBER_*``) are passed
    on unchanged because they say more precisely what is wrong.
    """
    code = _SPACES.sub("", raw) if isinstance(raw, str) else ""
    if allow_personal_id and _PERSONAL_ID.fullmatch(code):
        return validate_id_number(code)
    if _TEN_DIGITS.fullmatch(code):
        _check_base(code)
        return code
    branch = _BRANCH.fullmatch(code)
    if branch is None or branch.group(2) == "000":
        raise InvalidValueError("TAX_CODE_FORMAT", _format_message(allow_personal_id))
    _check_base(branch.group(1))
    return f"{branch.group(1)}-{branch.group(2)}"


def _check_base(ten_digits: str) -> None:
    """The tenth digit must be the check digit of the first nine."""
    if tax_code_check_digit(ten_digits[:9]) != int(ten_digits[9]):
        raise RuleError(
            "TAX_CODE_CHECK_DIGIT", "Mã số thuế không hợp lệ: chữ số kiểm tra không đúng. Vui lòng kiểm tra lại."
        )


def _format_message(allow_personal_id: bool) -> str:
    forms = "10 chữ số, 13 chữ số dạng NNNNNNNNNN-NNN"
    if allow_personal_id:
        forms += " hoặc số định danh cá nhân 12 chữ số"
    return f"Mã số thuế không hợp lệ: phải gồm {forms}."
