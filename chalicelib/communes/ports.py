"""What the commune-code map use cases need: the store of imports and published map versions (DynamoDB directory
table items, or the in-memory fake of the tests), and the part of the service context they read."""
from __future__ import annotations

from typing import Any, Callable, Protocol

from chalicelib.communes.review import CommuneImport, CommuneMap
from chalicelib.core.clock import Clock


class StaleImportError(Exception):
    """The import changed (another reviewer) or the map moved on (another publication) between read and write."""


class CommuneMapStore(Protocol):
    def put_import(self, draft: CommuneImport) -> None: ...

    def get_import(self, province_code: str, import_id: str) -> CommuneImport | None: ...

    def save_import(self, draft: CommuneImport, expected_rev: int) -> None:
        """Write the reviewed import if its stored rev is still ``expected_rev`` (StaleImportError otherwise)."""

    def publish(self, new_map: CommuneMap, draft: CommuneImport, expected_rev: int) -> None:
        """One transaction: the new version (must not exist), the current pointer moved from version - 1 to it,
        the import marked published. StaleImportError if any of them moved."""

    def current(self, province_code: str) -> CommuneMap | None:
        """The current map of the province: one read (the pointer item holds the whole map)."""

    def version(self, province_code: str, version: int) -> CommuneMap | None: ...

    def versions(self, province_code: str) -> list[CommuneMap]: ...


class CommunesContext(Protocol):
    settings: Any  # commune_map_cache_s
    clock: Clock
    commune_maps: CommuneMapStore
    new_id: Callable[[], str]
    caches: dict[str, Any]
