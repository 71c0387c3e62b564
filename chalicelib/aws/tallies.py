"""Report tallies (``core.tallies``) as DynamoDB updates of the ledger's report items, for a repository to add to
the transaction of the change it records. Item: ``RPT#<province>`` / ``DAY#<yyyy-mm-dd>``, kind ``report_day``,
one numeric attribute per counter (ADD creates it at zero)."""
from __future__ import annotations

from typing import Any, Iterable

from chalicelib.core.tallies import Tally

KIND = "report_day"


def report_key(province: str, day_iso: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"RPT#{province}"}, "sk": {"S": f"DAY#{day_iso}"}}


def update_expression(tally: Tally) -> dict[str, Any]:
    """UpdateExpression, names and values adding the tally's counters (low-level client shape)."""
    names = {"#kind": "kind", "#prov": "province", "#day": "day"}
    values: dict[str, Any] = {":kind": {"S": KIND}, ":prov": {"S": tally.province},
                              ":day": {"S": tally.day.isoformat()}}
    adds = []
    for i, (name, value) in enumerate(sorted(tally.as_dict().items())):
        names[f"#c{i}"] = name
        values[f":c{i}"] = {"N": str(value)}
        adds.append(f"#c{i} :c{i}")
    expression = "SET #kind = :kind, #prov = :prov, #day = :day"
    if adds:
        expression += " ADD " + ", ".join(adds)
    return {"UpdateExpression": expression, "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}


def transact_update(table: str, tally: Tally) -> dict[str, Any]:
    """One ``TransactItems`` entry (client.transact_write_items)."""
    return {"Update": {"TableName": table, "Key": report_key(tally.province, tally.day.isoformat()),
                       **update_expression(tally)}}


def add_to_transaction(tx: Any, ledger_model: Any, tallies: Iterable[Tally]) -> int:
    """Add the tallies to a pynamodb ``TransactWrite`` as updates of ``ledger_model`` items; returns how many.
    (pynamodb sends updates after puts: callers that map cancellation reasons add these last.)"""
    from pynamodb.expressions.operand import Path

    count = 0
    for tally in tallies:
        item = ledger_model(f"RPT#{tally.province}", f"DAY#{tally.day.isoformat()}")
        actions = [ledger_model.kind.set(KIND), Path(["province"]).set(tally.province),
                   Path(["day"]).set(tally.day.isoformat())]
        actions += [Path([name]).add(value) for name, value in sorted(tally.as_dict().items())]
        tx.update(item, actions=actions)
        count += 1
    return count
