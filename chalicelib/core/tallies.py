"""Report tallies (M14 §4): what one state change adds to the report figures of its province and day.

A use case that moves money or creates an account builds a ``Tally`` and hands it to its repository, which adds it
to the province's day item in the same DynamoDB transaction as the change itself: the figures can neither miss a
committed change nor count a refused one, and a report never scans. One item per province (current statistics
code) and day holds every breakdown as flat counters, so a month's report for a province is one Query of at most
31 items.

Counter names are ``<group>|<key>...|<field>`` (keys escaped, see ``counter_name``):
- ``pay|c`` / ``pay|v``: payments collected (count, VND); ``ref|c`` / ``ref|v``: refunds done;
- ``pu|<unit>|c|v``, ``pb|<bank>|c|v``, ``pi|<sub-item>|c|v``: collected per collecting unit, bank, sub-item;
  ``ru|...``, ``rb|...``, ``ri|...`` the same for refunds (``ri`` only for full refunds: a partial refund is not
  attributable to the notice's items);
- ``au|<unit>|c``: citizen accounts created per unit; ``ao|<unit>|<officer>|c`` per unit and creating officer;
- ``dl|delivered`` / ``dl|failing`` / ``dl|dead``: province deliveries delivered, first failed, given up that day;
  ``dh|<bucket>``: how long delivered receipts took from issue (``DELAY_BUCKETS_S``), for the median.
Test payments (a province's self-test) are never tallied: the callers leave them out.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable

from chalicelib.core.admin_units import current_province
from chalicelib.core.clock import VN_TZ

__all__ = ["DELAY_BUCKETS_S", "Tally", "account_created", "counter_name", "delay_bucket", "delivery", "paid",
           "province_key", "refunded", "split_counter"]

# Upper bounds (seconds) of the delivery-delay histogram; the last bucket is open-ended.
DELAY_BUCKETS_S = (10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400, 172800, 259200)
DELIVERY_OUTCOMES = ("delivered", "failing", "dead")
_SAFE = re.compile(r"[^A-Za-z0-9._:@-]")


@dataclass(frozen=True)
class Tally:
    """Counters to add to the report item of ``province`` (current statistics code) for ``day`` (Vietnam time)."""

    province: str
    day: date
    adds: tuple[tuple[str, int], ...]

    def as_dict(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, value in self.adds:
            out[name] = out.get(name, 0) + value
        return out


def counter_name(*parts: str) -> str:
    """``pb|VCB|c``; a key's characters outside ``[A-Za-z0-9._:@-]`` are written ``%XX`` so that ``|`` splits."""
    return "|".join(_SAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), p) for p in parts)


def split_counter(name: str) -> list[str]:
    """The parts of a counter name, unescaped (the inverse of ``counter_name``)."""
    from urllib.parse import unquote

    return [unquote(part) for part in name.split("|")]


def province_key(agency_or_stats: str) -> str:
    """The current province's statistics code for any agency code under it (``000.00.43.H35``, ``H35``) or a
    statistics code of either code-list version (InvalidValueError PROVINCE_UNKNOWN otherwise)."""
    return current_province(agency_or_stats).stats_code


def _day(moment: datetime | str) -> date:
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(VN_TZ).date()


def _money(dims: Iterable[tuple[str, str]], amount_vnd: int) -> list[tuple[str, int]]:
    adds: list[tuple[str, int]] = []
    for group, key in dims:
        adds += [(counter_name(group, key, "c"), 1), (counter_name(group, key, "v"), amount_vnd)]
    return adds


def paid(collecting_unit: str, bank_code: str, items: Iterable[tuple[str, int]], amount_vnd: int,
         paid_at: datetime | str) -> Tally:
    """A payment collected: totals, its unit, its bank and each of its sub-items (count 1 and its amount each)."""
    adds = [("pay|c", 1), ("pay|v", amount_vnd)]
    adds += _money((("pu", collecting_unit), ("pb", bank_code)), amount_vnd)
    for sub_item, item_vnd in items:
        adds += [(counter_name("pi", sub_item, "c"), 1), (counter_name("pi", sub_item, "v"), item_vnd)]
    return Tally(province_key(collecting_unit), _day(paid_at), tuple(adds))


def refunded(collecting_unit: str, bank_code: str, items: Iterable[tuple[str, int]], amount_vnd: int,
             at: datetime | str, full: bool) -> Tally:
    """A refund done (the bank confirmed it), on the day it was done: never a deletion of the collection."""
    adds = [("ref|c", 1), ("ref|v", amount_vnd)]
    adds += _money((("ru", collecting_unit), ("rb", bank_code)), amount_vnd)
    if full:
        for sub_item, item_vnd in items:
            adds += [(counter_name("ri", sub_item, "c"), 1), (counter_name("ri", sub_item, "v"), item_vnd)]
    return Tally(province_key(collecting_unit), _day(at), tuple(adds))


def account_created(unit_code: str, officer: str, at: datetime | str) -> Tally:
    """A citizen account created by ``officer`` at ``unit_code`` (M9: units report registration results)."""
    adds = ((counter_name("au", unit_code, "c"), 1), (counter_name("ao", unit_code, officer, "c"), 1))
    return Tally(province_key(unit_code), _day(at), adds)


def delay_bucket(delay_s: float) -> int:
    """The histogram bucket of a delay: index into ``DELAY_BUCKETS_S``, or its length for the open bucket."""
    return bisect_left(DELAY_BUCKETS_S, max(0.0, delay_s))


def delivery(province: str, outcome: str, at: datetime | str, delay_s: float | None = None) -> Tally:
    """A delivery to a province delivered, failing for the first time, or given up (dead); a delivered receipt's
    delay since issue goes into the histogram."""
    if outcome not in DELIVERY_OUTCOMES:
        raise ValueError(f"delivery outcome must be one of {DELIVERY_OUTCOMES}")
    adds = [(f"dl|{outcome}", 1)]
    if outcome == "delivered" and delay_s is not None:
        adds.append((f"dh|{delay_bucket(delay_s)}", 1))
    return Tally(province_key(province), _day(at), tuple(adds))
