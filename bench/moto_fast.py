"""For benchmarks only: moto's TransactWriteItems rolled back item by item instead of table by table.

moto snapshots every table a transaction touches (``copy.deepcopy`` of the whole table) so that it can roll a
cancelled transaction back: each transaction costs O(table size), which makes a run over 10,000 payments (each with
its dossier) quadratic in moto and says nothing about DynamoDB, where a transaction costs the same whatever the table
holds. ``install()`` keeps moto's transaction logic and its conditions as they are, turns the table snapshot into a
no-op, and restores instead the items the transaction names (their values before it) when it fails: the same
outcome for the items, O(items in the transaction). The embedded server serialises DynamoDB calls
(chalicelib/local/moto.py), so no other write can interleave with a transaction and its rollback.
"""
from __future__ import annotations

import copy
from typing import Any

_installed = False


class _NoTableSnapshot:
    """Stands in for the ``copy`` module inside moto's DynamoDB models: tables are not copied, anything else is."""

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def install() -> None:
    global _installed
    if _installed:
        return
    import moto.dynamodb.models as models

    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:
        before = []
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            table = self.get_table(op["TableName"])
            key = op.get("Key") or {name: op["Item"][name] for name in (table.hash_key_attr, table.range_key_attr)
                                    if name is not None}
            item = self.get_item(op["TableName"], key)
            before.append((op["TableName"], key, copy.deepcopy(item.to_json()["Attributes"]) if item else None))
        try:
            return original(self, transact_items)
        except Exception:
            for table_name, key, attributes in reversed(before):
                table = self.get_table(table_name)
                if attributes is not None:
                    table.put_item(attributes)
                elif table.get_item(*_keys(table, key)) is not None:
                    table.delete_item(*_keys(table, key))
            raise

    models.copy = _NoTableSnapshot()
    models.DynamoDBBackend.transact_write_items = transact_write_items
    _installed = True


def _keys(table, key: dict[str, Any]):
    from moto.dynamodb.models.dynamo_type import DynamoType

    range_key = key.get(table.range_key_attr) if table.range_key_attr else None
    return DynamoType(key[table.hash_key_attr]), DynamoType(range_key) if range_key else None
