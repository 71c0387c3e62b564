"""How many SMS segments a text takes: GSM 7-bit when every character is in its basic set (160 characters, 153 per
segment when split), else UCS-2 (70, then 67 per segment). Vietnamese with diacritics always needs UCS-2."""
from __future__ import annotations

UCS2_SINGLE, UCS2_PART = 70, 67
GSM_SINGLE, GSM_PART = 160, 153
_GSM7 = frozenset("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ"
                  "§¿abcdefghijklmnopqrstuvwxyzäöñüà")


def sms_segments(text: str) -> int:
    if all(c in _GSM7 for c in text):
        return 1 if len(text) <= GSM_SINGLE else -(-len(text) // GSM_PART)
    units = len(text.encode("utf-16-le")) // 2  # characters outside the BMP count twice
    return 1 if units <= UCS2_SINGLE else -(-units // UCS2_PART)
