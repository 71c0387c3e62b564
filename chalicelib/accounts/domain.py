"""Citizen accounts created at a one-stop desk, and the officers who may create them (M9).

Pure rules: which units are one-stop units, who may hold the right "create citizen accounts", what a scan of the ID
card must be, what a password must be. Storage and permissions checks against stored data live in the services.
"""
from __future__ import annotations

import io
import re
import secrets
import string
import zipfile
from enum import Enum

from chalicelib.core.names import name_key
from chalicelib.core.validation import InvalidValueError

RIGHT_CREATE_CITIZEN_ACCOUNTS = "create_citizen_accounts"
RIGHT_NAMES = {RIGHT_CREATE_CITIZEN_ACCOUNTS: "Quyền tạo tài khoản công dân"}

# A unit qualifies when its name contains one of these (compared NFC-normalised and case-folded).
ONE_STOP_MARKERS = ("Trung tâm phục vụ hành chính công", "Bộ phận một cửa")


class Issuer(str, Enum):
    """Who issued a portal account. Accounts issued by Vietnam Post can never receive officer rights."""

    PORTAL = "portal"
    VNPOST = "vnpost"


_MARKER_KEYS = tuple(name_key(m) for m in ONE_STOP_MARKERS)


def is_one_stop_unit(unit_name: str) -> bool:
    """True when the unit's name contains "Trung tâm phục vụ hành chính công" or "Bộ phận một cửa", in any case
    and any Unicode normalisation."""
    key = name_key(unit_name)
    return any(marker in key for marker in _MARKER_KEYS)


# --- scans of the ID card ------------------------------------------------------------------------------------------

MAX_SCAN_BYTES = 5 * 1024 * 1024


class ScanKind(str, Enum):
    PDF = "pdf"
    DOC = "doc"
    DOCX = "docx"


_OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_ZIP_MAGIC = b"PK\x03\x04"


def scan_kind_of_name(file_name: str) -> ScanKind:
    """The kind a file name claims (by extension); anything but .pdf/.doc/.docx is refused."""
    ext = file_name.rsplit(".", 1)[-1].lower() if isinstance(file_name, str) and "." in file_name else ""
    try:
        return ScanKind(ext)
    except ValueError:
        raise InvalidValueError("SCAN_TYPE_NOT_ALLOWED",
                                "Tệp ảnh chụp giấy tờ phải là tệp .pdf, .doc hoặc .docx.") from None


def detect_scan_kind(content: bytes) -> ScanKind | None:
    """What the bytes really are: PDF (%PDF-), Word 97-2003 (OLE2 compound file) or Word 2007+ (a ZIP package with
    word/document.xml). None for anything else, whatever its name says."""
    if content.startswith(b"%PDF-"):
        return ScanKind.PDF
    if content.startswith(_OLE2_MAGIC):
        return ScanKind.DOC
    if content.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as package:
                names = set(package.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return None
        if "word/document.xml" in names and "[Content_Types].xml" in names:
            return ScanKind.DOCX
    return None


# --- passwords -----------------------------------------------------------------------------------------------------

_TEMP_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


def temporary_password(length: int = 12) -> str:
    """A random first password (letters and digits without look-alikes), always with both a letter and a digit."""
    while True:
        candidate = "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(length))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate


def check_new_password(password: str) -> str:
    """8 to 128 characters with at least one letter and one digit."""
    if not isinstance(password, str) or not (MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH):
        raise InvalidValueError("PASSWORD_TOO_WEAK", "Mật khẩu phải dài từ 8 đến 128 ký tự.")
    if not re.search(r"[^\W\d_]", password) or not re.search(r"\d", password):
        raise InvalidValueError("PASSWORD_TOO_WEAK", "Mật khẩu phải có ít nhất một chữ cái và một chữ số.")
    return password
