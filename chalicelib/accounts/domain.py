"""Citizen accounts created at a one-stop desk, and the officers who may create them (M9).

Pure rules: which units are one-stop units, who may hold the right "create citizen accounts", what a scan of the ID
card must be, what a password must be, how long a wrong password makes the next attempt wait. Storage and
permissions checks against stored data live in the services.
"""
from __future__ import annotations

import gzip
import io
import json
import re
import secrets
import string
import zipfile
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path

from chalicelib.core.names import name_key
from chalicelib.core.validation import InvalidValueError, RuleError

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


def check_new_password(password: str, id_number: str | None = None) -> str:
    """8 to 128 characters with at least one letter and one digit, not one of the commonly used passwords (a bundled
    list: no network), and not containing the citizen's own ID number when it is known."""
    if not isinstance(password, str) or not (MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH):
        raise InvalidValueError("PASSWORD_TOO_WEAK", "Mật khẩu phải dài từ 8 đến 128 ký tự.")
    if not re.search(r"[^\W\d_]", password) or not re.search(r"\d", password):
        # Beyond the schema (a letter of any script): a rule, with its own code.
        raise RuleError("PASSWORD_TOO_WEAK", "Mật khẩu phải có ít nhất một chữ cái và một chữ số.")
    if is_common_password(password):
        raise RuleError("PASSWORD_TOO_COMMON", "Mật khẩu này quá phổ biến và dễ bị đoán. Vui lòng chọn "
                        "mật khẩu khác.")
    if id_number and id_number in password:
        raise RuleError("PASSWORD_CONTAINS_ID", "Mật khẩu không được chứa số định danh cá nhân của bạn.")
    return password


_DATA = Path(__file__).resolve().parents[1] / "data"


@cache
def _common_passwords() -> frozenset[str]:
    """Django's list of 20,000 common passwords (BSD-3-Clause, see data/common-passwords.LICENSE.txt), lower-cased,
    plus a short list of Vietnamese ones; read once per container, on the first password change."""
    with gzip.open(_DATA / "common-passwords.txt.gz", "rt", encoding="utf-8") as f:
        words = {line.strip() for line in f if line.strip()}
    words |= set(json.loads((_DATA / "common_passwords_vi.json").read_text(encoding="utf-8"))["passwords"])
    return frozenset(words)


def is_common_password(password: str) -> bool:
    """Compared lower-cased and stripped, as the list is (``MatKhau123`` is ``matkhau123``)."""
    return password.strip().lower() in _common_passwords()


# --- sign-in: progressive delays ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignInPolicy:
    """How wrong passwords slow the next attempt down (per account), and how many a client may make (per IP).

    No hard lock-out: after ``free_failures`` wrong passwords each further attempt waits ``first_delay_s``, doubling
    per failure up to ``max_delay_s``, so someone who knows an ID number can slow its owner down but never keep them
    out (and a password reset by OTP to the account's phone clears the count). ``client_failures_per_hour`` caps
    wrong passwords per client IP across all accounts (password spraying). Temporary passwords live
    ``temporary_password_ttl_s``."""

    free_failures: int = 5
    first_delay_s: int = 30
    max_delay_s: int = 900
    client_failures_per_hour: int = 30
    temporary_password_ttl_s: int = 72 * 3600


def delay_after(failures: int, policy: SignInPolicy) -> int:
    """Seconds the next attempt must wait after ``failures`` wrong passwords in a row."""
    if failures < policy.free_failures:
        return 0
    return min(policy.max_delay_s, policy.first_delay_s * 2 ** (failures - policy.free_failures))


# --- tax codes at rest ----------------------------------------------------------------------------------------------
# Since 1 July 2025 an individual's tax code is their 12-digit personal ID number (Circular 86/2024/TT-BTC): such a
# tax code is an ID number and is kept like one. A 10/13-digit enterprise or household business code is not personal
# data of that kind and stays as it is.

TAX_CODE_MASK = "*********"


def kept_tax_code(code: str | None, id_hash, seal=None) -> dict:
    """The record fields a tax code is kept as: ``tax_code`` for a 10/13-digit code; for a 12-digit personal number
    only its keyed hash (``tax_code_hash``, what a search matches), the last three digits a masked view shows and,
    when ``seal`` is given (a citizen's own: the tax authority lookup sends it on), its sealed copy. Never the number
    in clear."""
    from chalicelib.core.masking import is_personal_number

    if code and is_personal_number(code):
        return {"tax_code": None, "tax_code_hash": id_hash(code), "tax_code_last3": code[-3:],
                "tax_code_sealed": seal(code.encode()) if seal is not None else None}
    return {"tax_code": code or None, "tax_code_hash": None, "tax_code_last3": None, "tax_code_sealed": None}


def masked_tax_code(tax_code: str | None, last3: str | None) -> str | None:
    """How officers, administrators and search results see a tax code: a personal number as ``*********234``."""
    from chalicelib.core.masking import is_personal_number

    if last3:
        return TAX_CODE_MASK + last3
    if tax_code and is_personal_number(tax_code):  # a record read without the keys to upgrade it: masked all the same
        return TAX_CODE_MASK + tax_code[-3:]
    return tax_code
