"""Money is an integer number of VND. Display uses the Vietnamese grouping with dots (1.378.500)."""
from __future__ import annotations


def format_vnd(amount: int) -> str:
    """1378500 -> '1.378.500'."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError("amount must be an int number of VND")
    sign = "-" if amount < 0 else ""
    return sign + f"{abs(amount):,}".replace(",", ".")
