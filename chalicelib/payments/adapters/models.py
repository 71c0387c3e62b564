"""pynamodb models bound to the table names of the running stage (built once per container, lazily).

Tables (declared once in infra/resources.json):
- dossiers: one item per dossier code, holding the keyed hash of the ID number and the notices (one read per lookup);
- ledger: payments, receipts, receipt counters, idempotency records and anomalies (pk/sk, gsi1, ttl).
"""
from __future__ import annotations

from functools import cache

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

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

    Gsi1 = gsi1_index()

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
        gsi1 = Gsi1()

    if host:
        DossierItem.Meta.host = host
        LedgerItem.Meta.host = host
    return DossierItem, LedgerItem
