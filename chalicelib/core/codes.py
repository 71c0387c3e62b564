"""Dossier codes (mã hồ sơ) and agency identification codes (mã định danh cơ quan).

A dossier code is ``<agency code>-YYMMDD-NNNN``: the receiving agency, the receiving date and a daily sequence, e.g.
``000.00.32.H19-210708-0032``. It is the other half of the lookup key, and its agency tells which province the
receipt goes back to. Short provincial forms (``H35.22-…``) are aliases that must be resolved before they get here:
this module accepts only the full form.
"""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from chalicelib.core.validation import InvalidValueError

_DOSSIER_CODE = re.compile(r"^([0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z]\d{2})-(\d{6})-(\d{4})$", re.ASCII)
# Levels 4.3.2.1 (V1V2V3.Z1Z2.Y1Y2.MX1X2); level 1 is a group letter (H = province, G = ministry) and two digits.
_AGENCY_CODE = re.compile(r"^[0-9A-Z]+\.[0-9A-Z]+\.[0-9A-Z]+\.[A-Z]\d{2}$", re.ASCII)
AGENCY_CODE_MAX_LENGTH = 35
_PROVINCE_GROUP = "H"


# JSON Schema patterns (ECMA-262 and Python alike: ASCII classes only) of the forms a client should send. A receiving
# date must exist: YYMMDD spelled out month by month, 29 February only in years divisible by 4 (the two-digit years
# strptime reads are 1969-2068, where that is the leap-year rule).
_YYMMDD = (r"(?:[0-9]{2}(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])|[0-9]{2}(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)"
           r"|[0-9]{2}02(?:0[1-9]|1[0-9]|2[0-8])|(?:[02468][048]|[13579][26])0229)")
_AGENCY_PARTS = r"[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.LEVEL_ONE[0-9]{2}"
AGENCY_CODE_PATTERN = r"^[0-9A-Z]+\.[0-9A-Z]+\.[0-9A-Z]+\.[A-Z][0-9]{2}$"
PROVINCE_AGENCY_CODE_PATTERN = r"^000\.00\.00\.H[0-9]{2}$"


def dossier_code_pattern(provincial: bool = False) -> str:
    """``<agency>-YYMMDD-NNNN`` with a real receiving date; ``provincial``: the agency is a province's (level 1 H)."""
    agency = _AGENCY_PARTS.replace("LEVEL_ONE", "H" if provincial else "[A-Z]")
    return rf"^{agency}-{_YYMMDD}-[0-9]{{4}}$"


@dataclass(frozen=True)
class DossierCode:
    """The three parts of a dossier code."""

    agency_code: str
    received_on: datetime.date
    sequence: int


def parse_dossier_code(raw: str) -> DossierCode:
    """Split a dossier code into agency, receiving date and daily sequence, refusing impossible dates."""
    if not isinstance(raw, str):
        raise _dossier_format_error()
    match = _DOSSIER_CODE.fullmatch(raw.strip().upper())
    if match is None:
        raise _dossier_format_error()
    agency, yymmdd, sequence = match.groups()
    try:
        received_on = datetime.datetime.strptime(yymmdd, "%y%m%d").date()
    except ValueError:
        raise _dossier_format_error() from None
    return DossierCode(agency, received_on, int(sequence))


def validate_dossier_code(raw: str) -> str:
    """Return the dossier code upper-cased and stripped, e.g. ``000.00.43.h35-210520-0001 `` → ``000.00.43.H35-…``."""
    parse_dossier_code(raw)
    return raw.strip().upper()


def validate_agency_code(raw: str) -> str:
    """Return an agency identification code upper-cased: four dot-separated levels, at most 35 characters."""
    code = raw.strip().upper() if isinstance(raw, str) else ""
    if len(code) > AGENCY_CODE_MAX_LENGTH or not _AGENCY_CODE.fullmatch(code):
        raise InvalidValueError(
            "AGENCY_CODE_FORMAT",
            "Mã định danh cơ quan không hợp lệ: gồm 4 cấp cách nhau bởi dấu chấm (ví dụ 000.00.00.H49),"
            " tối đa 35 ký tự chữ in hoa và chữ số.",
        )
    return code


def province_agency_code(dossier_code: str) -> str:
    """Return the level-1 province agency code of the dossier's agency: ``000.00.43.H35-…`` → ``000.00.00.H35``."""
    level_one = parse_dossier_code(dossier_code).agency_code.rsplit(".", 1)[1]
    if not level_one.startswith(_PROVINCE_GROUP):
        raise InvalidValueError(
            "DOSSIER_CODE_NOT_PROVINCIAL",
            "Mã hồ sơ không thuộc một cơ quan cấp tỉnh nên không xác định được địa phương nhận kết quả.",
        )
    return f"000.00.00.{level_one}"


def _dossier_format_error() -> InvalidValueError:
    return InvalidValueError(
        "DOSSIER_CODE_FORMAT",
        "Mã hồ sơ không hợp lệ: phải có dạng <mã cơ quan>-YYMMDD-NNNN với ngày tiếp nhận có thật,"
        " ví dụ 000.00.32.H19-210708-0032.",
    )
