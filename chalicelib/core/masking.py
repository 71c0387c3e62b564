"""Masking of personal data (ID numbers, phones, names) and secrets before anything is logged.

ID numbers, phone numbers and names are personal data (Decree 13/2023/ND-CP) and must never reach a log in clear.
The log formatter runs structured fields through ``mask_pii`` (by key name) and every free-text message through
``scrub_text`` (by shape), so a number is caught even when it sits in a key or sentence nobody anticipated.
Identifiers keep their last three digits so that support staff can still tell two records apart; names keep the
first letter of each word (``Nguyễn Văn An`` → ``N*** V*** A***``, nothing of the length); secrets keep nothing.

Shapes caught in text: 9/12-digit runs; 12-digit ID numbers in groups of 3 or 4 (``035.095.001.234``, ``035 095 001
234``, ``0350-9500-1234``) when they start with 0, as every CCCD of a birth in Vietnam does (so ``100.000.000.000
đồng`` stays readable); 9-digit CMNDs grouped by spaces or dashes (never dots: ``137.850.000`` is how an amount is
written); Vietnamese mobiles in every common layout (``(091) 234 5678``, ``+84 91 234 5678``). Full-width and other
Unicode digits are folded to ASCII before matching. ULIDs and UUIDs are left whole: their digit runs identify
records, not people. Names cannot be recognised by shape, so only names under a name key are masked.
Matching by shape still over-masks a little (a 10-digit tax code starting 03/05/07/08/09 looks like a mobile, a
12-digit bank reference like a CCCD): over-masking is the safe error in a log.
"""
from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

MASK_CHAR = "*"
SECRET_MASK = "***"
NAME_MASK = "***"
_KEEP = 3

# Keys are compared after normalisation (camelCase and dashes to snake_case, lower case), mostly word by word so
# that "otp" matches otp_code but not footprint. Besides these, any key ending in id_number / idNumber is an ID.
_ID_KEYS = frozenset({"so_dinh_danh", "ma_dinh_danh_ca_nhan", "so_giay_to", "personal_id", "national_id"})
_ID_WORDS = frozenset({"cmnd", "cccd"})
_PHONE_WORDS = frozenset({"phone", "phones", "mobile", "msisdn", "sdt"})
_SECRET_WORDS = frozenset({"password", "passwd", "otp", "secret", "token", "authorization", "cookie"})
# A person's name: "name" with a word saying whose (payer_name, account_holder_name), or a Vietnamese key (TEN_NNT is
# the tax authority's "tên người nộp thuế"). Names of things (province_name, bank_name, TEN_TMUC) stay readable.
_NAME_OWNER_WORDS = frozenset({"payer", "full", "holder", "citizen", "customer", "owner", "account", "person",
                               "recipient", "beneficiary", "taxpayer", "applicant", "contact", "officer", "given",
                               "family", "first", "last", "middle", "legal"})
_NAME_KEYS = frozenset({"ho_ten", "ho_va_ten", "hoten", "ten_nnt", "ten_nguoi_nop", "ten_nguoi_nop_thue", "ten_chu_tk",
                        "ten_chu_tai_khoan", "ten_khach_hang", "ten_cong_dan", "fullname", "payername", "holdername"})

# Text is matched after folding (see _FOLD), so these patterns only need ASCII. A separator inside a number: space,
# dot or dash (no-break and full-width spaces, full-width dots and dashes are folded to these).
# A Vietnamese mobile: 0, 84, 0084 or +84 (optionally in parentheses), then 3/5/7/8/9 and eight more digits,
# optionally split by separators or the closing parenthesis of an area prefix; not part of a longer digit run.
_MOBILE = re.compile(
    r"(?<![\d+])(?<!\d[.-])\(?(?:\+84|0084|84|0)(?:\)?[ .-]?|\))\(?[35789](?:(?:\)?[ .-]|\))?\d){8}(?!\d)", re.ASCII)
# A 9-digit CMND or 12-digit CCCD: exactly that many digits, not part of a longer run (timestamps, references).
_ID_RUN = re.compile(r"(?<!\d)(?:\d{12}|\d{9})(?!\d)", re.ASCII)
# The same in groups, one separator throughout, not part of a longer grouped number.
_ID_GROUPED = re.compile(
    r"(?<!\d)(?<!\d[ .-])"
    r"(?:0\d\d([ .-])\d{3}\1\d{3}\1\d{3}|0\d{3}([ .-])\d{4}\2\d{4}|\d{3}([ -])\d{3}\3\d{3})"
    r"(?![ .-]?\d)", re.ASCII)
# Record identifiers whose digit runs are not personal numbers: ULIDs (Crockford base32, at least one letter) and
# UUIDs (the last group can be 12 digits).
_RECORD_ID = re.compile(
    r"\b(?:(?=[0-9A-Z]{0,25}[A-Z])[0-7][0-9A-HJKMNP-TV-Z]{25}"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b", re.ASCII | re.IGNORECASE)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


class _Fold(dict):
    """``str.translate`` table folding every Unicode decimal digit and the full-width ``+ . - ( )`` and spaces to
    ASCII, one character for one (positions stay aligned with the original text); filled on demand."""

    _FIXED = {"\uff0b": "+", "\uff0e": ".", "\uff0d": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-",
              "\u2013": "-", "\uff08": "(", "\uff09": ")", "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u3000": " "}

    def __missing__(self, codepoint: int) -> str:
        char = chr(codepoint)
        folded = self._FIXED.get(char)
        if folded is None:
            folded = str(unicodedata.decimal(char)) if char.isdecimal() else char
        self[codepoint] = folded
        return folded


_FOLD = _Fold()


def _mask_keep_last(value: str) -> str:
    """Replace every character but the last three by ``*``; a value of three characters or fewer is fully masked."""
    if len(value) <= _KEEP:
        return MASK_CHAR * len(value)
    return MASK_CHAR * (len(value) - _KEEP) + value[-_KEEP:]


def _as_text(value: Any) -> str:
    """A value as text: bytes are decoded (UTF-8, undecodable bytes replaced) rather than shown as ``b'...'``."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)


def mask_id_number(s: Any) -> str:
    """Mask an ID number, keeping its last three digits: ``001234567234`` → ``*********234``."""
    return _mask_keep_last(_as_text(s).translate(_FOLD))


def mask_phone(s: Any) -> str:
    """Mask a phone number, keeping its last three digits: ``+84912345678`` → ``*********678``."""
    return _mask_keep_last(_as_text(s).translate(_FOLD))


def mask_name(s: Any) -> str:
    """Mask a person's name to the first letter of each word: ``Nguyễn Văn An`` → ``N*** V*** A***``."""
    words = unicodedata.normalize("NFC", _as_text(s)).split()
    return " ".join(word[0] + NAME_MASK for word in words)


def is_personal_number(tax_code: Any) -> bool:
    """Whether a tax code is an individual's 12-digit personal ID number (Circular 86/2024/TT-BTC), i.e. personal
    data to be keyed-hashed at rest and masked in views, unlike a company's 10- or 13-digit tax code.

    Decided by shape (12 digits once separators are removed), whether or not the number is otherwise valid."""
    from chalicelib.core.identity import normalise_id_number
    from chalicelib.core.validation import InvalidValueError

    try:
        return len(normalise_id_number(tax_code)) == 12
    except InvalidValueError:
        return False


def mask_tax_code(tax_code: str) -> str:
    """A tax code for display: a personal ID number masked like one, a company's tax code as it is."""
    return mask_id_number(tax_code) if is_personal_number(tax_code) else tax_code


def _mask_digits_keep_last(match: re.Match[str]) -> str:
    """Mask a number found in text, keeping only its last three digits (separators are masked too)."""
    text = match.group(0)
    digits_seen = 0
    out = []
    for char in reversed(text):
        keep = char.isdigit() and digits_seen < _KEEP
        digits_seen += char.isdigit()
        out.append(char if keep else MASK_CHAR)
    return "".join(reversed(out))


def _scrub_ascii(text: str) -> str:
    text = _MOBILE.sub(_mask_digits_keep_last, text)
    text = _ID_GROUPED.sub(_mask_digits_keep_last, text)
    return _ID_RUN.sub(_mask_digits_keep_last, text)


def scrub_text(text: str) -> str:
    """Mask every Vietnamese mobile number and every 9- or 12-digit ID number (plain or grouped) inside free text.

    Matching runs on a folded copy (Unicode digits as ASCII); characters outside a match are returned as given."""
    folded = text if text.isascii() else text.translate(_FOLD)
    pieces, start = [], 0
    for record_id in _RECORD_ID.finditer(folded):
        pieces += [_scrub_ascii(folded[start:record_id.start()]), record_id.group(0)]
        start = record_id.end()
    pieces.append(_scrub_ascii(folded[start:]))
    scrubbed = "".join(pieces)
    if folded is text:
        return scrubbed
    # Same length throughout: digits come out as ASCII (the kept last three read the same whatever the input method),
    # masked characters as ``*``, everything else as it was given.
    return "".join(new if new != fold or orig.isdecimal() else orig
                   for orig, fold, new in zip(text, folded, scrubbed, strict=True))


def _normalise_key(key: object) -> str:
    """``payerPhone``, ``Payer-Phone`` and ``payer_phone`` all become ``payer_phone``."""
    return _CAMEL.sub("_", str(key)).lower().replace("-", "_").replace(" ", "_")


def _key_kind(key: object) -> str | None:
    """Classify a key as holding an ID number, a phone, a name, a secret, or nothing sensitive."""
    name = _normalise_key(key)
    words = set(name.split("_"))
    compact = name.replace("_", "")  # payerIDNumber -> payer_idnumber -> payeridnumber
    if words & _SECRET_WORDS or "apikey" in compact or "privatekey" in compact:
        return "secret"
    if name in _ID_KEYS or words & _ID_WORDS or compact.endswith("idnumber"):
        return "id"
    if words & _PHONE_WORDS or "dienthoai" in compact:
        return "phone"
    if name in _NAME_KEYS or compact in _NAME_KEYS or ("name" in words and words & _NAME_OWNER_WORDS):
        return "name"
    return None


_MASKERS = {"id": mask_id_number, "phone": mask_phone, "name": mask_name}


def _as_plain(obj: Any) -> Any:
    """A dataclass or pydantic model as its dict of fields (so its field names are checked); anything else as is."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    dump = getattr(obj, "model_dump", None)
    if callable(dump) and not isinstance(obj, type):
        return dump(mode="json")
    return obj


def _mask_value(kind: str, value: Any) -> Any:
    """Mask a value held under a sensitive key; lists and dicts under it are masked element by element."""
    if value is None:
        return None
    if kind == "secret":
        return SECRET_MASK
    value = _as_plain(value)
    if isinstance(value, Mapping):
        return {k: _mask_value(kind, v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_mask_value(kind, v) for v in value]
    return _MASKERS[kind](value)


def mask_pii(obj: Any) -> Any:
    """Return a copy of ``obj`` (dicts, lists, dataclasses, models, bytes, scalars) with personal data and secrets
    masked, at any depth.

    Values under sensitive keys are masked by key; every other string is also run through ``scrub_text`` so an ID or
    phone hidden in a message or an unexpected key is still caught. The input is never modified.
    """
    obj = _as_plain(obj)
    if isinstance(obj, Mapping):
        return {key: _mask_entry(key, value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [mask_pii(item) for item in obj]
    if isinstance(obj, (str, bytes, bytearray, memoryview)):
        return scrub_text(_as_text(obj))
    return obj


def _mask_entry(key: object, value: Any) -> Any:
    kind = _key_kind(key)
    return mask_pii(value) if kind is None else _mask_value(kind, value)
