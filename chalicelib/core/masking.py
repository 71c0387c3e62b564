"""Masking of personal data (ID numbers, phones) and secrets before anything is logged.

ID numbers and phone numbers are personal data (Decree 13/2023/ND-CP) and must never reach a log in clear. The log
formatter runs structured fields through ``mask_pii`` (by key name) and every free-text message through
``scrub_text`` (by shape), so a number is caught even when it sits in a key or sentence nobody anticipated.
Identifiers keep their last three digits so that support staff can still tell two records apart; secrets keep
nothing. Matching by shape over-masks a little (a 10-digit tax code starting 03/05/07/08/09 looks like a mobile, a
12-digit bank reference like a CCCD): over-masking is the safe error in a log.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK_CHAR = "*"
SECRET_MASK = "***"
_KEEP = 3

# Keys are compared after normalisation (camelCase and dashes to snake_case, lower case), mostly word by word so
# that "otp" matches otp_code but not footprint. Besides these, any key ending in id_number / idNumber is an ID.
_ID_KEYS = frozenset({"so_dinh_danh", "ma_dinh_danh_ca_nhan", "so_giay_to", "personal_id", "national_id"})
_ID_WORDS = frozenset({"cmnd", "cccd"})
_PHONE_WORDS = frozenset({"phone", "phones", "mobile", "msisdn", "sdt"})
_SECRET_WORDS = frozenset({"password", "passwd", "otp", "secret", "token", "authorization", "cookie"})

# A Vietnamese mobile: 0, 84, 0084 or +84, then 3/5/7/8/9 and eight more digits, optionally split by space, dot or
# dash; not part of a longer digit run.
_MOBILE = re.compile(r"(?<![\d+])(?<!\d[.-])(?:\+84|0084|84|0)[ .-]?[35789](?:[ .-]?\d){8}(?!\d)", re.ASCII)
# A 9-digit CMND or 12-digit CCCD: exactly that many digits, not part of a longer run (timestamps, references).
_ID_RUN = re.compile(r"(?<!\d)(?:\d{12}|\d{9})(?!\d)", re.ASCII)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _mask_keep_last(value: str) -> str:
    """Replace every character but the last three by ``*``; a value of three characters or fewer is fully masked."""
    if len(value) <= _KEEP:
        return MASK_CHAR * len(value)
    return MASK_CHAR * (len(value) - _KEEP) + value[-_KEEP:]


def mask_id_number(s: str) -> str:
    """Mask an ID number, keeping its last three digits: ``001234567234`` → ``*********234``."""
    return _mask_keep_last(str(s))


def mask_phone(s: str) -> str:
    """Mask a phone number, keeping its last three digits: ``+84912345678`` → ``*********678``."""
    return _mask_keep_last(str(s))


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


def scrub_text(text: str) -> str:
    """Mask every Vietnamese mobile number and every 9- or 12-digit run inside free text."""
    text = _MOBILE.sub(_mask_digits_keep_last, text)
    return _ID_RUN.sub(_mask_digits_keep_last, text)


def _normalise_key(key: object) -> str:
    """``payerPhone``, ``Payer-Phone`` and ``payer_phone`` all become ``payer_phone``."""
    return _CAMEL.sub("_", str(key)).lower().replace("-", "_").replace(" ", "_")


def _key_kind(key: object) -> str | None:
    """Classify a key as holding an ID number, a phone, a secret, or nothing sensitive."""
    name = _normalise_key(key)
    words = set(name.split("_"))
    compact = name.replace("_", "")  # payerIDNumber -> payer_idnumber -> payeridnumber
    if words & _SECRET_WORDS or "apikey" in compact or "privatekey" in compact:
        return "secret"
    if name in _ID_KEYS or words & _ID_WORDS or compact.endswith("idnumber"):
        return "id"
    if words & _PHONE_WORDS or "dienthoai" in compact:
        return "phone"
    return None


def _mask_value(kind: str, value: Any) -> Any:
    """Mask a value held under a sensitive key; lists and dicts under it are masked element by element."""
    if value is None:
        return None
    if kind == "secret":
        return SECRET_MASK
    if isinstance(value, Mapping):
        return {k: _mask_value(kind, v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_mask_value(kind, v) for v in value]
    return mask_id_number(value) if kind == "id" else mask_phone(value)


def mask_pii(obj: Any) -> Any:
    """Return a copy of ``obj`` (dicts, lists, scalars) with personal data and secrets masked.

    Values under sensitive keys are masked by key; every other string is also run through ``scrub_text`` so an ID or
    phone hidden in a message or an unexpected key is still caught. The input is never modified.
    """
    if isinstance(obj, Mapping):
        return {key: _mask_entry(key, value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [mask_pii(item) for item in obj]
    if isinstance(obj, str):
        return scrub_text(obj)
    return obj


def _mask_entry(key: object, value: Any) -> Any:
    kind = _key_kind(key)
    return mask_pii(value) if kind is None else _mask_value(kind, value)
