"""In-memory CommuneMapStore (the DynamoDB adapter's contract: optimistic revs, one current version per province)."""
from __future__ import annotations

import threading

from chalicelib.communes.ports import StaleImportError
from chalicelib.communes.review import CommuneImport, CommuneMap


class InMemoryCommuneMaps:
    def __init__(self) -> None:
        self.imports: dict[tuple[str, str], str] = {}
        self.maps: dict[tuple[str, int], str] = {}
        self.pointer: dict[str, int] = {}
        self.current_reads = 0
        self._lock = threading.Lock()

    def put_import(self, draft: CommuneImport) -> None:
        with self._lock:
            key = (draft.province_code, draft.import_id)
            if key in self.imports:
                raise StaleImportError(draft.import_id)
            self.imports[key] = draft.model_dump_json()

    def get_import(self, province_code: str, import_id: str) -> CommuneImport | None:
        raw = self.imports.get((province_code, import_id))
        return CommuneImport.model_validate_json(raw) if raw else None

    def save_import(self, draft: CommuneImport, expected_rev: int) -> None:
        with self._lock:
            stored = self.get_import(draft.province_code, draft.import_id)
            if stored is None or stored.rev != expected_rev:
                raise StaleImportError(draft.import_id)
            self.imports[(draft.province_code, draft.import_id)] = draft.model_dump_json()

    def publish(self, new_map: CommuneMap, draft: CommuneImport, expected_rev: int) -> None:
        with self._lock:
            stored = self.get_import(draft.province_code, draft.import_id)
            if ((new_map.province_code, new_map.version) in self.maps or stored is None or stored.rev != expected_rev
                    or self.pointer.get(new_map.province_code, 0) != new_map.version - 1):
                raise StaleImportError(draft.import_id)
            self.maps[(new_map.province_code, new_map.version)] = new_map.model_dump_json()
            self.pointer[new_map.province_code] = new_map.version
            self.imports[(draft.province_code, draft.import_id)] = draft.model_dump_json()

    def current(self, province_code: str) -> CommuneMap | None:
        self.current_reads += 1
        version = self.pointer.get(province_code)
        return self.version(province_code, version) if version else None

    def version(self, province_code: str, version: int) -> CommuneMap | None:
        raw = self.maps.get((province_code, version))
        return CommuneMap.model_validate_json(raw) if raw else None

    def versions(self, province_code: str) -> list[CommuneMap]:
        return [CommuneMap.model_validate_json(v) for (p, _), v in self.maps.items() if p == province_code]
