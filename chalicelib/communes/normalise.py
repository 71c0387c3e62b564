"""Comparable forms of Vietnamese commune names, so that a tax-authority list and the statistics list can be matched.

The same commune is written many ways: "Phường 01", "P.1", "Phường 1"; "Xã Hoà An" (old tone placement) and "Xã Hòa
An"; "Thị trấn", "TT.", or no unit word at all; stray hyphens, dots and double spaces; text typed without
diacritics. Two keys come out of a name:

* ``exact``: the name with its diacritics, tone marks moved to one canonical place per syllable, case-folded, unit
  word and punctuation dropped, spaces removed. Equal exact keys are the same written name.
* ``loose``: the same without any diacritics. Diacritics do distinguish communes (Tân Hòa and Tân Hóa are two
  names), so a loose match counts only when the exact key finds nothing, and several loose hits are ambiguous.

The original text is never replaced: callers keep it and show it.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from chalicelib.core.admin_units import strip_diacritics

# Combining marks that carry the tone (huyền, sắc, hỏi, ngã, nặng); the vowel-quality marks (circumflex, breve,
# horn) stay on their letter.
_TONES = {"\u0300", "\u0301", "\u0309", "\u0303", "\u0323"}
# Unit words at the start of a name. Written with diacritics they are unmistakable; a name typed without any
# diacritics is read loosely ("xa", "phuong"). "p"/"x"/"tt" count only before a dot, a space or a number (no
# Vietnamese word is a lone "p", "x" or "tt"), so "Xuân" is safe, and "Xa" without its tilde is a unit word only in a name typed without diacritics ("Xã Xa Dung").
_UNIT_RE = re.compile(r"^(?:(?P<type>thị trấn|dặc khu|phường|xã)(?!\w)\.?|(?P<abbr>tt|p|x)(?:\.|\s|(?=\d)))\s*")
_UNIT_LOOSE_RE = re.compile(r"^(?:(?P<type>thi tran|dac khu|phuong|xa)(?!\w)\.?|(?P<abbr>tt|p|x)(?:\.|\s|(?=\d)))\s*")
_UNIT_TYPES = {"thị trấn": "thi tran", "dặc khu": "dac khu", "phường": "phuong", "xã": "xa",
               "thi tran": "thi tran", "dac khu": "dac khu", "phuong": "phuong", "xa": "xa",
               "tt": "thi tran", "p": "phuong", "x": "xa"}
_PUNCT_RE = re.compile(r"[^\w\s]|_")


@dataclass(frozen=True)
class NameKey:
    """The comparable forms of one commune name, and the unit word it was written with (if any)."""

    exact: str
    loose: str
    display: str  # the loose form with single spaces, for similarity and for people to read
    unit_type: str | None  # "xa", "phuong", "thi tran", "dac khu" or None
    # A name typed without diacritics may begin with a name word that looks like a unit word ("Xa Dung" for
    # "Xã Xa Dung"): the loose key of the whole name is kept as a fallback.
    loose_whole: str = ""


def _canonical_tones(word: str) -> str:
    """One spelling per syllable: its letters with quality marks, then its tone mark, wherever it was typed."""
    tone = ""
    letters = []
    for ch in unicodedata.normalize("NFD", word):
        if ch in _TONES:
            tone = ch
        else:
            letters.append(ch)
    return unicodedata.normalize("NFC", "".join(letters)) + (f"~{ord(tone):x};" if tone else "")


def _split_unit(text: str) -> tuple[str | None, str]:
    """The unit type a (case-folded, NFC) name starts with, and the rest of the name."""
    has_diacritics = strip_diacritics(text) != text
    match = (_UNIT_RE if has_diacritics else _UNIT_LOOSE_RE).match(text)
    if not match:
        return None, text
    return _UNIT_TYPES[match.group("type") or match.group("abbr")], text[match.end():]


def _number(text: str) -> str:
    # Numbered wards: "01" and "1" are the same ward.
    return str(int(text)) if text.isdigit() else text


def name_key(name: str) -> NameKey:
    """The comparable forms of ``name`` (see the module docstring); an empty name gives empty keys."""
    text = " ".join(unicodedata.normalize("NFC", name or "").casefold().split())
    text = text.replace("đ", "d")  # "đ" is a letter of its own, not a diacritic: keep it equal in both keys
    unit_type, rest = _split_unit(text)
    words = [_number(w) for w in _PUNCT_RE.sub(" ", rest).split()]
    exact = "".join(_canonical_tones(w) for w in words)
    loose_words = [strip_diacritics(w) for w in words]
    whole = "".join(strip_diacritics(w) for w in _PUNCT_RE.sub(" ", text).split()) if unit_type else ""
    return NameKey(exact=exact, loose="".join(loose_words), display=" ".join(loose_words), unit_type=unit_type,
                   loose_whole=whole)
