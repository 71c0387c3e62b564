"""The pynamodb models of the three tables, bound to the running stage's table names (built once per container,
lazily), and the helpers every repository uses to read a cancelled transaction.

Tables (declared once in infra/resources.json):
- dossiers: one item per dossier code, holding the keyed hash of the ID number and the notices (one read per lookup);
- ledger: payments, receipts, receipt counters, idempotency records, anomalies, delivery state and refunds (pk/sk,
  gsi1, ttl), and gsi2: the sparse index of live payments by due time (stale-payment resolution);
- directory: OTP records and send counters, units, officers, citizen accounts and bank links, the province API
  registry, alert contacts and audit trails (pk/sk, gsi1, ttl).

pynamodb sends a transaction's items grouped by kind - condition checks, deletes, puts, then updates - whatever the
order they were added in; cancellation reasons follow that order, and the repositories' index maps rely on it.
"""
from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

if TYPE_CHECKING:
    from chalicelib.config import Settings



def gsi1_index() -> type[GlobalSecondaryIndex]:
    """The generic `gsi1` (gsi1pk/gsi1sk, all attributes) of the ledger and directory tables. A fresh class per
    model: pynamodb binds an index class to the model it is declared on."""

    class Gsi1(GlobalSecondaryIndex):
        class Meta:
            index_name = "gsi1"
            projection = AllProjection()

        gsi1pk = UnicodeAttribute(hash_key=True)
        gsi1sk = UnicodeAttribute(range_key=True)

    return Gsi1


def gsi2_index() -> type[GlobalSecondaryIndex]:
    """The ledger's sparse `gsi2` (gsi2pk ``LIVE#<shard>`` / gsi2sk ``<due epoch>#<payment id>``): only payments
    still waiting for the bank carry its keys, so the stale-payment job reads what is due and nothing else."""

    class Gsi2(GlobalSecondaryIndex):
        class Meta:
            index_name = "gsi2"
            projection = AllProjection()

        gsi2pk = UnicodeAttribute(hash_key=True)
        gsi2sk = UnicodeAttribute(range_key=True)

    return Gsi2


def models(settings: Settings) -> tuple[type[Model], type[Model]]:
    return _models(settings.dossiers_table, settings.ledger_table, settings.region, settings.aws_endpoint_url or None)


@cache
def _models(dossiers_table: str, ledger_table: str, region: str, host: str | None) -> tuple[type[Model], type[Model]]:
    region_ = region

    class DossierItem(Model):
        class Meta:
            table_name = dossiers_table
            region = region_

        dossier_code = UnicodeAttribute(hash_key=True)
        id_hash = UnicodeAttribute()
        commune_code = UnicodeAttribute()
        commune_code_system = UnicodeAttribute()
        property = MapAttribute(default=dict)
        notices = MapAttribute(default=dict)
        rev = NumberAttribute(default=0)
        updated_at = UnicodeAttribute(default="")

    Gsi1, Gsi2 = gsi1_index(), gsi2_index()

    class LedgerItem(Model):
        class Meta:
            table_name = ledger_table
            region = region_

        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)
        kind = UnicodeAttribute()
        state = UnicodeAttribute(null=True)
        rev = NumberAttribute(null=True)
        seq = NumberAttribute(null=True)
        doc = UnicodeAttribute(null=True)  # the entity as JSON: conditions only ever look at state/rev/seq
        gsi1pk = UnicodeAttribute(null=True)
        gsi1sk = UnicodeAttribute(null=True)
        ttl = NumberAttribute(null=True)
        intent_kind = UnicodeAttribute(null=True)  # outbox intents: their kind and reference, unsealed
        ref = UnicodeAttribute(null=True)
        # Live payments: the stale-payment index and its bookkeeping (outside `doc`: never part of a payment's rev)
        gsi2pk = UnicodeAttribute(null=True)
        gsi2sk = UnicodeAttribute(null=True)
        query_after = NumberAttribute(null=True)  # no status query before this epoch (claimed by the last one)
        alerted_at = NumberAttribute(null=True)  # when operators were told it is still unresolved
        bank_code = UnicodeAttribute(null=True)  # refunds: filterable without opening `doc`
        gsi1 = Gsi1()
        gsi2 = Gsi2()

    if host:
        DossierItem.Meta.host = host
        LedgerItem.Meta.host = host
    return DossierItem, LedgerItem


def directory_model(settings: Settings) -> type[Model]:
    return _directory_model(settings.directory_table, settings.region, settings.aws_endpoint_url or None)


@cache
def _directory_model(table: str, region: str, host: str | None) -> type[Model]:
    region_ = region

    Gsi1 = gsi1_index()

    class DirectoryItem(Model):
        class Meta:
            table_name = table
            region = region_

        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)
        kind = UnicodeAttribute(null=True)
        doc = UnicodeAttribute(null=True)  # the record as JSON; conditions only look at the attributes below
        rev = NumberAttribute(null=True)
        gsi1pk = UnicodeAttribute(null=True)
        gsi1sk = UnicodeAttribute(null=True)
        ttl = NumberAttribute(null=True)
        # OTP
        code_hash = UnicodeAttribute(null=True)
        issued_at = NumberAttribute(null=True)
        expires_at = NumberAttribute(null=True)
        used = NumberAttribute(null=True)
        attempts = NumberAttribute(null=True)
        last_attempt_at = NumberAttribute(null=True)
        last_sent_at = NumberAttribute(null=True)
        token_hash = UnicodeAttribute(null=True)
        token_expires_at = NumberAttribute(null=True)
        # counters and sign-in failures
        count = NumberAttribute(null=True)
        failures = NumberAttribute(null=True)
        last_failure_at = NumberAttribute(null=True)
        blocked_until = NumberAttribute(null=True)  # sign-in guard: the next attempt waits until then
        # sessions: tokens issued before valid_after (or in that second, outside kept_session) are refused
        valid_after = NumberAttribute(null=True)
        kept_session = UnicodeAttribute(null=True)
        gsi1 = Gsi1()

    if host:
        DirectoryItem.Meta.host = host
    return DirectoryItem


def cancellation_reasons(exc: TransactWriteError) -> list[str | None]:
    return [getattr(r, "code", None) if r is not None else None for r in (exc.cancellation_reasons or [])]


# Reasons that say "someone else was writing the same items", not "your condition is false": retry.
# (moto, which is not thread-safe, may report an internal error under concurrency; real DynamoDB reports
# TransactionConflict.)
CONDITION_FAILED = "ConditionalCheckFailed"


def transient(reasons: list[str | None]) -> bool:
    return any(r not in (None, "None", CONDITION_FAILED) for r in reasons)


def failed_at(reasons: list[str | None], index: int) -> bool:
    return index < len(reasons) and reasons[index] == "ConditionalCheckFailed"


def is_conditional(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class DirectoryTable:
    """A repository over the directory table's pynamodb model (conditional writes, transactions)."""

    def __init__(self, settings: Settings) -> None:
        self.M = directory_model(settings)

    def _tx(self) -> TransactWrite:
        return TransactWrite(connection=self.M._get_connection().connection)

    def _get(self, pk: str, sk: str):
        try:
            return self.M.get(pk, sk, consistent_read=True)
        except DoesNotExist:
            return None
