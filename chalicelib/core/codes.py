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
