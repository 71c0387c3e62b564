"""Vietnamese names of people and units: one stored form, one comparable form."""
from __future__ import annotations

import re
import unicodedata

from chalicelib.core.validation import InvalidValueError

# Vietnamese names of people and units are written in the Latin script (quốc ngữ, also for ethnic minority names):
# a name holds at least one Latin letter, with or without diacritics (Basic Latin, Latin-1, Latin Extended-A/B and
# Latin Extended Additional, where the precomposed Vietnamese vowels ạ ả ấ ầ ... ỹ live). Also the JSON Schema
# pattern of a name (unanchored: "contains"), spelled with \\u escapes that every regular expression engine reads.
LATIN_LETTER_PATTERN = "[A-Za-z\\u00c0-\\u00d6\\u00d8-\\u00f6\\u00f8-\\u024f\\u1e00-\\u1eff]"
_LATIN_LETTER = re.compile(LATIN_LETTER_PATTERN)


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
    if not text or len(text) > 150 or not _LATIN_LETTER.search(text):
        raise InvalidValueError(f"{field}_INVALID", "Họ tên/tên đơn vị phải có chữ cái (không được để trống) và tối đa 150 ký tự.")
    return text
