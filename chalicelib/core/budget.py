"""State-budget sub-item codes (mã tiểu mục) of the land financial obligations the portal collects.

Notices carry a sub-item (MA_TMUC) per amount; knowing its kind lets us group items and label them on receipts. The
table lives in ``data/sub_items.json`` because several labels are unverified and must be fixable without a code
change; entries whose code or label no primary text confirmed carry ``verified = False``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

SubItemKind = Literal[
    "registration_fee", "personal_income_tax", "land_use_levy", "non_agricultural_land_use_tax", "land_rent"
]

_DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "sub_items.json"


@dataclass(frozen=True)
class SubItem:
    """One sub-item code with its Vietnamese label and the obligation kind it belongs to."""

    code: str
    name_vi: str
    kind: SubItemKind
    verified: bool


@cache
def _load_sub_items() -> dict[str, SubItem]:
    rows = json.loads(_DATA_FILE.read_text(encoding="utf-8"))["sub_items"]
    return {row["code"]: SubItem(**row) for row in rows}


def sub_items() -> dict[str, SubItem]:
    """All known sub-items by code; read once, and a copy so callers cannot alter the table."""
    return dict(_load_sub_items())


def sub_item(code: str) -> SubItem | None:
    """The sub-item for ``code`` (surrounding spaces ignored), or None when it is not in the table."""
    return _load_sub_items().get(code.strip()) if isinstance(code, str) else None


def is_known_sub_item(code: str) -> bool:
    """Whether ``code`` is in the sub-item table."""
    return sub_item(code) is not None
