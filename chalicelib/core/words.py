"""Vietnamese amount in words for receipts (biên lai), in the tax authority's style.

Receipts must print the amount in words exactly as the tax authority writes it. ``num2words(n, lang="vi")`` differs
(it says "lẻ" and omits "không trăm"), so the three-digit group reader is written here. Conventions:

- "linh" (not "lẻ") for a zero tens digit: 105 → "một trăm linh năm";
- "không trăm" for a zero hundreds digit in any group after the first non-zero one: 1001 → "một nghìn không trăm linh
  một"; a group that is entirely zero is skipped: 1000001 → "một triệu không trăm linh một";
- "mười" for tens 1, "mươi" for tens ≥ 2; "mốt" for units 1 after tens ≥ 2 (21 → "hai mươi mốt", but 11 → "mười một");
  "lăm" for units 5 after tens ≥ 1 (15 → "mười lăm", but 105 → "một trăm linh năm");
- "tư" for units 4 after tens ≥ 2 (24 → "hai mươi tư", but 14 → "mười bốn", 104 → "một trăm linh bốn"). Both "tư"
  and "bốn" are correct Vietnamese; we choose "tư" because it is the form used on tax documents and printed invoices;
- scales "nghìn", "triệu", "tỷ"; amounts of a thousand tỷ and more are read as a number of tỷ
  (1.005.000.000.000 → "một nghìn không trăm linh năm tỷ");
- the first letter is upper-case and the text ends with " đồng"; 0 → "Không đồng".
"""
from __future__ import annotations

from chalicelib.core.validation import InvalidValueError

MAX_AMOUNT = 10**15 - 1
_BILLION = 10**9
_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
# Scales of the three-digit groups below one tỷ, from the lowest group up.
_SCALES = ("", "nghìn", "triệu")


def amount_in_words(n: int) -> str:
    """Return the VND amount ``n`` (0 … 10^15 − 1) in words: 1001 → "Một nghìn không trăm linh một đồng"."""
    _check_amount(n)
    words = _read_number(n) if n else "không"
    return words[0].upper() + words[1:] + " đồng"


def _check_amount(n: object) -> None:
    """Refuse anything but a non-negative integer in range; bool is an int in Python but never an amount."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise InvalidValueError("AMOUNT_INVALID", "Số tiền phải là một số nguyên (đồng).")
    if n < 0 or n > MAX_AMOUNT:
        raise InvalidValueError(
            "AMOUNT_OUT_OF_RANGE", "Số tiền phải nằm trong khoảng từ 0 đến 999.999.999.999.999 đồng."
        )


def _read_number(n: int, leading: bool = True) -> str:
    """Read a positive ``n``; ``leading`` is False when words for a higher scale were already said."""
    billions, rest = divmod(n, _BILLION)
    parts: list[str] = []
    if billions:
        parts.append(_read_number(billions, leading) + " tỷ")
        leading = False
    if rest:
        parts.append(_read_below_billion(rest, leading))
    return " ".join(parts)


def _read_below_billion(n: int, leading: bool) -> str:
    """Read 1 … 999.999.999 group by group, skipping groups that are entirely zero."""
    groups = [(n // 1000**i) % 1000 for i in range(len(_SCALES))]
    parts: list[str] = []
    for scale_index in reversed(range(len(_SCALES))):
        group = groups[scale_index]
        if not group:
            continue
        words = _read_group(group, leading)
        parts.append(f"{words} {_SCALES[scale_index]}".rstrip())
        leading = False
    return " ".join(parts)


def _read_group(group: int, leading: bool) -> str:
    """Read one group 1 … 999; a non-leading group always says its hundreds, even "không trăm"."""
    hundreds, tens, units = group // 100, (group // 10) % 10, group % 10
    parts: list[str] = []
    if hundreds or not leading:
        parts.append(f"{_DIGITS[hundreds]} trăm")
    if tens == 0:
        if units and parts:
            parts.append(f"linh {_DIGITS[units]}")
        elif units:
            parts.append(_DIGITS[units])
        return " ".join(parts)
    parts.append("mười" if tens == 1 else f"{_DIGITS[tens]} mươi")
    if units:
        parts.append(_units_after_tens(tens, units))
    return " ".join(parts)


def _units_after_tens(tens: int, units: int) -> str:
    """The units digit after a non-zero tens digit takes its euphonic form: mốt, tư, lăm."""
    if units == 1 and tens >= 2:
        return "mốt"
    if units == 4 and tens >= 2:
        return "tư"
    if units == 5:
        return "lăm"
    return _DIGITS[units]


def retry_text(seconds: int) -> str:
    """Vietnamese "after how long" for 429 messages: "30 giây", "15 phút", "2 giờ 5 phút"."""
    if seconds < 60:
        return f"{seconds} giây"
    minutes = (seconds + 59) // 60
    if minutes < 60:
        return f"{minutes} phút"
    hours, rest = divmod(minutes, 60)
    return f"{hours} giờ" + (f" {rest} phút" if rest else "")
