"""The commune-code maps in the directory table: imports under review, published versions and the current pointer.

Items (pk ``CMAP#<province statistics code>``):
- ``IMPORT#<import id>``: an import with its rows, matches and decisions (rev: optimistic review);
- ``V#<000001>``: a published version, never changed;
- ``CURRENT``: a copy of the latest version (rev = its version number), so intake reads the whole map in one
  GetItem (and then caches it per container).
Documents are JSON, zlib-compressed and base64-encoded: a province's import with its candidates stays far below
DynamoDB's 400 KB item limit.
"""
from __future__ import annotations

import base64
import json
import zlib
from typing import TYPE_CHECKING

from pynamodb.exceptions import PutError, TransactWriteError

from chalicelib.aws.tables import DirectoryTable, is_conditional
from chalicelib.communes.ports import StaleImportError
from chalicelib.communes.review import CommuneImport, CommuneMap

if TYPE_CHECKING:
    from chalicelib.config import Settings

CURRENT_SK = "CURRENT"


def _pk(province_code: str) -> str:
    return f"CMAP#{province_code}"


def _version_sk(version: int) -> str:
    return f"V#{version:06d}"


def _pack(model) -> str:
    return "z1:" + base64.b64encode(zlib.compress(model.model_dump_json().encode("utf-8"), 6)).decode("ascii")


def _unpack(doc: str) -> dict:
    if doc.startswith("z1:"):
        return json.loads(zlib.decompress(base64.b64decode(doc[3:])))
    return json.loads(doc)


class DynamoCommuneMaps(DirectoryTable):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)

    def _import_item(self, draft: CommuneImport):
        return self.M(_pk(draft.province_code), f"IMPORT#{draft.import_id}", kind="commune_import", doc=_pack(draft),
                      rev=draft.rev)

    def put_import(self, draft: CommuneImport) -> None:
        self._import_item(draft).save(condition=self.M.pk.does_not_exist())

    def get_import(self, province_code: str, import_id: str) -> CommuneImport | None:
        item = self._get(_pk(province_code), f"IMPORT#{import_id}")
        return None if item is None else CommuneImport.model_validate({**_unpack(item.doc), "rev": int(item.rev or 0)})

    def save_import(self, draft: CommuneImport, expected_rev: int) -> None:
        try:
            self._import_item(draft).save(condition=self.M.rev == expected_rev)
        except PutError as exc:
            if is_conditional(exc):
                raise StaleImportError(draft.import_id) from None
            raise

    def publish(self, new_map: CommuneMap, draft: CommuneImport, expected_rev: int) -> None:
        M, pk = self.M, _pk(new_map.province_code)
        doc = _pack(new_map)
        previous = new_map.version - 1
        try:
            with self._tx() as tx:
                tx.save(M(pk, _version_sk(new_map.version), kind="commune_map", doc=doc, rev=new_map.version),
                        condition=M.pk.does_not_exist())
                tx.save(M(pk, CURRENT_SK, kind="commune_map_current", doc=doc, rev=new_map.version),
                        condition=M.pk.does_not_exist() if previous == 0 else (M.rev == previous))
                tx.save(self._import_item(draft), condition=M.rev == expected_rev)
        except TransactWriteError:
            raise StaleImportError(draft.import_id) from None

    def current(self, province_code: str) -> CommuneMap | None:
        item = self._get(_pk(province_code), CURRENT_SK)
        return None if item is None else CommuneMap.model_validate(_unpack(item.doc))

    def version(self, province_code: str, version: int) -> CommuneMap | None:
        item = self._get(_pk(province_code), _version_sk(version))
        return None if item is None else CommuneMap.model_validate(_unpack(item.doc))

    def versions(self, province_code: str) -> list[CommuneMap]:
        items = self.M.query(_pk(province_code), self.M.sk.startswith("V#"))
        return [CommuneMap.model_validate(_unpack(i.doc)) for i in items]
