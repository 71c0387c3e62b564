"""Vietnamese names of people and units: one stored form, one comparable form."""
from __future__ import annotations

import unicodedata

from chalicelib.core.validation import InvalidValueError


def name_key(text: str) -> str:
    """The comparable form of a Vietnamese name: NFC, case-folded, inner whitespace collapsed.

    NFC first, because the same "ụ" typed on two keyboards may be one code point or "u" + dot below + ...; case
    folding then maps "Đ" to "đ" and "TRUNG TÂM" to "trung tâm".
    """
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def clean_name(raw: str, field: str = "FULL_NAME") -> str:
    """A person's or unit's name as stored: NFC, single spaces, no control or invisible characters."""
    text = unicodedata.normalize("NFC", raw if isinstance(raw, str) else "")
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf"))
    text = " ".join(text.split())
    if not text or len(text) > 150:
        raise InvalidValueError(f"{field}_INVALID", "Họ tên/tên đơn vị không được để trống và tối đa 150 ký tự.")
    return text
