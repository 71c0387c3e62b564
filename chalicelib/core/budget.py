"""State-budget sub-item codes (mã tiểu mục) a land notice may carry, with their Vietnamese labels.

Notices carry a sub-item (MA_TMUC) per amount; intake refuses a code outside this list, and the kind of the land
obligations (registration fee, personal income tax, land-use levy, non-agricultural land-use tax, land rent) lets us
group items and label them on receipts. The list lives in ``data/sub_items.json``, a subset of the state-budget code
list (Circular 324/2016/TT-BTC and its amendments): the sections the portal may receive. Most entries were
transcribed from secondary sources and carry ``verified = False`` and their source, so that a code or label can be
fixed without a code change.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

# "other": a real sub-item that is none of the land obligations a receipt groups by (a fee, another tax).
SubItemKind = Literal[
    "registration_fee", "personal_income_tax", "land_use_levy", "non_agricultural_land_use_tax", "land_rent",
    "other",
]

_DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "sub_items.json"


@dataclass(frozen=True)
class SubItem:
    """One sub-item code with its Vietnamese label, the obligation kind it belongs to, and where it comes from."""

    code: str
    name_vi: str
    kind: SubItemKind
    verified: bool
    source: str = ""  # where the code and label were read (a key of the file's "sources", written out)


@cache
def _load_sub_items() -> dict[str, SubItem]:
    data = json.loads(_DATA_FILE.read_text(encoding="utf-8"))
    sources = data.get("sources", {})
    items = {}
    for row in data["sub_items"]:
        source = row.get("source", "")
        items[row["code"]] = SubItem(**{**row, "source": sources.get(source, source)})
    return items


def sub_items() -> dict[str, SubItem]:
    """All known sub-items by code; read once, and a copy so callers cannot alter the table."""
    return dict(_load_sub_items())


def sub_item(code: str) -> SubItem | None:
    """The sub-item for ``code`` (surrounding spaces ignored), or None when it is not in the table."""
    return _load_sub_items().get(code.strip()) if isinstance(code, str) else None


def is_known_sub_item(code: str) -> bool:
    """Whether ``code`` is in the sub-item list (intake refuses any other)."""
    return sub_item(code) is not None
