"""DynamoDB dossiers (M1, M2): one item per dossier, conditional on its rev; the ledger is in ``ledger.py``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.aws.clients import client
from chalicelib.aws.tables import cancellation_reasons, failed_at, models, transient
from chalicelib.payments.domain.lookups import LookupAttempts
from chalicelib.payments.domain.notices import Dossier
from chalicelib.payments.ports import (
    ConcurrentUpdateError,
    LookupRead,
)

if TYPE_CHECKING:
    from chalicelib.config import Settings

PAYMENT_SK, RECEIPT_SK, COUNTER_SK, IDEM_SK = "PAYMENT", "RECEIPT", "COUNTER", "IDEM"


# pynamodb sends a transaction's items grouped by kind - condition checks, deletes, puts, then updates - whatever
# the order they were added in; cancellation reasons follow that order. The index maps below rely on it.


class _Retry(Exception):
    pass


def _dossier(item) -> Dossier:
    return Dossier(
        dossier_code=item.dossier_code,
        id_hash=item.id_hash,
        commune_code=item.commune_code,
        commune_code_system=item.commune_code_system,
        property=item.property.as_dict() if hasattr(item.property, "as_dict") else dict(item.property or {}),
        notices=item.notices.as_dict() if hasattr(item.notices, "as_dict") else dict(item.notices or {}),
        rev=int(item.rev or 0),
        updated_at=item.updated_at or "",
        commune_code_version=item.commune_code_version,
        standard_commune_code=item.standard_commune_code,
        standard_commune_version=item.standard_commune_version,
        commune_mapped_by=item.commune_mapped_by,
        test=bool(item.test),
    )


_DOSSIER_FIELDS = ("dossier_code, id_hash, commune_code, commune_code_system, #p, notices, rev, updated_at, "
                   "commune_code_version, standard_commune_code, standard_commune_version, commune_mapped_by, test")


class DynamoDossiers:
    def __init__(self, settings: Settings, outbox=None, reminders=None) -> None:
        self._model, _ = models(settings)
        self._settings = settings
        self._outbox = outbox  # builds the intent items written with the dossier
        self._reminders = reminders  # builds the reminder items written with it (reminders.adapters)

    def get(self, dossier_code: str) -> Dossier | None:
        try:
            item = self._model.get(dossier_code, consistent_read=True)
        except DoesNotExist:
            return None
        return _dossier(item)

    def get_for_lookup(self, dossier_code: str) -> LookupRead:
        """One BatchGetItem: the dossier and the code's failure counter (ledger LKF#<code> / LOOKUP). The dossier is
        parsed only if the caller's hash matched: an unknown code and a wrong ID number cost the same."""
        s = self._settings
        keys = {s.dossiers_table: {"Keys": [{"dossier_code": {"S": dossier_code}}], "ConsistentRead": True,
                                   "ProjectionExpression": _DOSSIER_FIELDS, "ExpressionAttributeNames": {"#p": "property"}},
                s.ledger_table: {"Keys": [{"pk": {"S": f"LKF#{dossier_code}"}, "sk": {"S": "LOOKUP"}}],
                                 "ConsistentRead": True}}
        got = client("dynamodb", s.region).batch_get_item(RequestItems=keys)["Responses"]
        dossier_raw = next(iter(got.get(s.dossiers_table, [])), None)
        counter = next(iter(got.get(s.ledger_table, [])), {})
        attempts = LookupAttempts(int(counter.get("failures", {}).get("N", "0")),
                                  int(counter.get("last_failure_at", {}).get("N", "0")))
        if dossier_raw is None:
            return LookupRead(None, attempts, lambda: None)
        return LookupRead(dossier_raw["id_hash"]["S"], attempts,
                          lambda: _dossier(self._model.from_raw_data(dossier_raw)))

    def record_lookup_failure(self, dossier_code: str, now_epoch: int, reset: bool) -> None:
        count = "failures = :one" if reset else "failures = if_not_exists(failures, :zero) + :one"
        client("dynamodb", self._settings.region).update_item(
            TableName=self._settings.ledger_table, Key={"pk": {"S": f"LKF#{dossier_code}"}, "sk": {"S": "LOOKUP"}},
            UpdateExpression=f"SET {count}, last_failure_at = :now, kind = :kind, #ttl = :ttl",
            ExpressionAttributeNames={"#ttl": "ttl"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":zero": {"N": "0"}, ":now": {"N": str(now_epoch)},
                                       ":kind": {"S": "lookup_failures"}, ":ttl": {"N": str(now_epoch + 2 * 86_400)}})

    def save(self, dossier: Dossier, expected_rev: int | None, intents=(), reminders=()) -> None:
        m = self._model
        item = m(
            dossier.dossier_code,
            id_hash=dossier.id_hash,
            commune_code=dossier.commune_code,
            commune_code_system=dossier.commune_code_system,
            property=dossier.property,
            notices={k: v.model_dump(exclude_none=True) for k, v in dossier.notices.items()},
            rev=dossier.rev,
            updated_at=dossier.updated_at,
            commune_code_version=dossier.commune_code_version,
            standard_commune_code=dossier.standard_commune_code,
            standard_commune_version=dossier.standard_commune_version,
            commune_mapped_by=dossier.commune_mapped_by,
            test=True if dossier.test else None,
        )
        condition = m.dossier_code.does_not_exist() if expected_rev is None else (m.rev == expected_rev)
        try:
            with TransactWrite(connection=m._get_connection().connection) as tx:
                tx.save(item, condition=condition)
                for intent_item in self._outbox.items(intents) if intents else ():
                    tx.save(intent_item)
                for reminder in reminders:
                    tx.save(self._reminders.item(reminder))
        except TransactWriteError as exc:
            reasons = cancellation_reasons(exc)  # puts: the dossier, then the intents and reminders
            if failed_at(reasons, 0) or transient(reasons):
                raise ConcurrentUpdateError(dossier.dossier_code) from None
            raise
