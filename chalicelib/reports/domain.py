"""M14 §4 reports, computed from the report day items (``core.tallies``): sums of counters over a range of days,
broken down by collecting unit, bank, sub-item, period and province; deliveries with the median delay; accounts
per unit and officer. Pure: the day items come in as (day, counters) pairs.

Who sees what (``Viewer``): an operator any province or the whole country; a province administrator their own
province only (their token's province, in any form ``core.admin_units.current_province`` reads); an officer only
the accounts of their own units.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Mapping

from chalicelib.core import banks, budget
from chalicelib.core.admin_units import province_by_stats_code
from chalicelib.core.tallies import DELAY_BUCKETS_S, split_counter

__all__ = ["DayCounters", "Viewer", "accounts_section", "breakdowns", "deliveries_section", "median_delay",
           "period_key", "province_row", "sum_days", "totals_of"]

DayCounters = tuple[date, Mapping[str, int]]
OPERATOR, PROVINCE_ADMIN, OFFICER = "operator", "province_admin", "officer"


@dataclass(frozen=True)
class Viewer:
    subject: str
    roles: frozenset[str]
    province_claim: str | None = None
    unit_codes: tuple[str, ...] = field(default_factory=tuple)

    def has(self, role: str) -> bool:
        return role in self.roles


def sum_days(days: Iterable[DayCounters]) -> Counter:
    total: Counter = Counter()
    for _, counters in days:
        total.update(counters)
    return total


def period_key(day: date, group_by: str) -> str:
    return day.strftime("%Y-%m") if group_by == "month" else day.isoformat()


def totals_of(sums: Mapping[str, int]) -> dict[str, int]:
    paid_c, paid_v, ref_c, ref_v = (sums.get(k, 0) for k in ("pay|c", "pay|v", "ref|c", "ref|v"))
    return {"paid_count": paid_c, "paid_vnd": paid_v, "refunded_count": ref_c, "refunded_vnd": ref_v,
            "net_vnd": paid_v - ref_v}


def _money_rows(sums: Mapping[str, int], paid_group: str, refund_group: str) -> dict[str, dict[str, int]]:
    rows: dict[str, dict[str, int]] = defaultdict(lambda: {"paid_count": 0, "paid_vnd": 0, "refunded_count": 0,
                                                           "refunded_vnd": 0})
    fields = {(paid_group, "c"): "paid_count", (paid_group, "v"): "paid_vnd", (refund_group, "c"): "refunded_count",
              (refund_group, "v"): "refunded_vnd"}
    for name, value in sums.items():
        parts = split_counter(name)
        if len(parts) == 3 and (parts[0], parts[2]) in fields:
            rows[parts[1]][fields[(parts[0], parts[2])]] += value
    return dict(rows)


def breakdowns(sums: Mapping[str, int]) -> dict[str, list[dict]]:
    """Collections per collecting unit, bank and sub-item (count and VND, paid vs refunded), with names."""
    units = [{"unit_code": k, **v} for k, v in sorted(_money_rows(sums, "pu", "ru").items())]
    registry = banks.bank_registry()
    by_bank = [{"bank_code": k, "bank_name": registry[k].short_name if k in registry else k, **v}
               for k, v in sorted(_money_rows(sums, "pb", "rb").items())]
    items = []
    for code, row in sorted(_money_rows(sums, "pi", "ri").items()):
        known = budget.sub_item(code)
        items.append({"sub_item_code": code, "sub_item_name": known.name_vi if known else code, **row})
    return {"by_unit": units, "by_bank": by_bank, "by_sub_item": items}


def median_delay(histogram: Mapping[int, int]) -> dict | None:
    """The histogram bucket holding the median delivery delay: ``{"from_s", "to_s"}`` (``to_s`` None for the
    open-ended last bucket), or None without deliveries. Bucket bounds: ``core.tallies.DELAY_BUCKETS_S``."""
    total = sum(histogram.values())
    if not total:
        return None
    seen, half = 0, (total + 1) // 2
    for index in range(len(DELAY_BUCKETS_S) + 1):
        seen += histogram.get(index, 0)
        if seen >= half:
            low = DELAY_BUCKETS_S[index - 1] if index else 0
            return {"from_s": low, "to_s": DELAY_BUCKETS_S[index] if index < len(DELAY_BUCKETS_S) else None}
    return None  # unreachable: the loop covers every bucket


def deliveries_section(sums: Mapping[str, int]) -> dict:
    histogram = {int(split_counter(k)[1]): v for k, v in sums.items() if k.startswith("dh|")}
    median = median_delay(histogram)
    return {"delivered": sums.get("dl|delivered", 0), "failing": sums.get("dl|failing", 0),
            "dead": sums.get("dl|dead", 0), "median_delay": median,
            "median_delay_s": median["to_s"] if median else None}


def accounts_section(sums: Mapping[str, int], units: Iterable[str] | None = None) -> dict:
    """Accounts created per unit and per (unit, officer); only ``units`` when given (an officer's own)."""
    keep = set(units) if units is not None else None
    by_unit: Counter = Counter()
    by_officer: Counter = Counter()
    for name, value in sums.items():
        parts = split_counter(name)
        if parts[0] == "au" and len(parts) == 3 and (keep is None or parts[1] in keep):
            by_unit[parts[1]] += value
        elif parts[0] == "ao" and len(parts) == 4 and (keep is None or parts[1] in keep):
            by_officer[(parts[1], parts[2])] += value
    return {"total": sum(by_unit.values()),
            "by_unit": [{"unit_code": u, "accounts": n} for u, n in sorted(by_unit.items())],
            "by_officer": [{"unit_code": u, "officer": o, "accounts": n} for (u, o), n in sorted(by_officer.items())]}


def province_row(stats_code: str, sums: Mapping[str, int]) -> dict:
    province = province_by_stats_code(stats_code)
    return {"province_code": stats_code, "province_name": province.name if province else stats_code,
            **totals_of(sums)}
