"""The sparse index of live payments (ledger gsi2) and the conditional bookkeeping on their items (ports.LivePayments).

A payment item carries ``gsi2pk = LIVE#<shard>`` / ``gsi2sk = <due epoch>#<payment id>`` while it is live (written by
payments' adapter with every save of the payment, dropped by the save that ends it). Here: read what is due (one
Query page per up to 100 payments per shard, projection ALL: no per-payment read), take the right to query a bank
(``query_after``, which also moves its due time behind the others), hold it longer, and mark the one alert, each a write
conditional on the payment still being live at the rev that was read - so a write here can never put a payment
that has just been paid back into the index.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Iterator

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.aws.tables import is_conditional, models
from chalicelib.outbox.domain import Intent
from chalicelib.payments.adapters.dynamo import LIVE_PREFIX, PAYMENT_SK, live_sort_key
from chalicelib.payments.domain.payments import LIVE_STATES, Payment
from chalicelib.reconciliation.ports import LivePayment

if TYPE_CHECKING:
    from chalicelib.config import Settings

PAGE_MAX = 100


class DynamoLivePayments:
    def __init__(self, settings: Settings, outbox: Any) -> None:
        _, self._item = models(settings)
        self._shards = max(1, settings.live_index_shards)
        self._outbox = outbox  # builds the alert intent's item, written with the "alerted" mark

    def due(self, now_epoch: int, limit: int) -> Iterator[LivePayment]:
        """Round-robin over the shards, oldest first in each, pages read as needed: a backlog in one shard cannot
        starve the others, and a small shard leaves its share to the rest."""
        upper = f"{now_epoch:010d}#~"  # "~" sorts after every payment id: everything due at or before now
        page = max(1, min(PAGE_MAX, -(-limit // self._shards)))
        shards = [iter(self._item.gsi2.query(f"{LIVE_PREFIX}{shard}", self._item.gsi2sk <= upper, page_size=page))
                  for shard in range(self._shards)]
        given = 0
        while shards and given < limit:
            for shard in list(shards):
                item = next(shard, None)
                if item is None:
                    shards.remove(shard)
                elif item.kind == "payment" and item.doc:
                    yield LivePayment(Payment.model_validate_json(item.doc), item.alerted_at is not None)
                    given += 1
                    if given >= limit:
                        return

    def claim(self, payment: Payment, now_epoch: int, interval_s: int) -> bool:
        # One write takes the right to ask and puts the payment behind the others in the index (never before its
        # expiry): an unanswered query then needs no second write.
        m, after = self._item, now_epoch + interval_s
        free = m.query_after.does_not_exist() | (m.query_after <= now_epoch)
        due = live_sort_key(max(payment.expires_at, after), payment.payment_id)
        return self._update(payment, [m.query_after.set(after), m.gsi2sk.set(due)], self._live(payment) & free)

    def unresolved(self, payment: Payment, next_due_epoch: int, alert: Intent | None = None) -> bool:
        m = self._item
        actions = [m.gsi2sk.set(live_sort_key(next_due_epoch, payment.payment_id)), m.query_after.set(next_due_epoch)]
        if alert is None:
            return self._update(payment, actions, self._live(payment))
        try:
            with TransactWrite(connection=m._get_connection().connection) as tx:
                tx.update(self._key(payment), actions=[*actions, m.alerted_at.set(int(time.time()))],
                          condition=self._live(payment) & m.alerted_at.does_not_exist())
                for item in self._outbox.items([alert]):
                    tx.save(item)
        except TransactWriteError:
            # Alerted already (another run), moved, or a conflict: still move the due time if it is live.
            return self._update(payment, actions, self._live(payment))
        return True

    # -- helpers -----------------------------------------------------------------------------------------------
    def _key(self, payment: Payment):
        return self._item(f"PAY#{payment.payment_id}", PAYMENT_SK)

    def _live(self, payment: Payment):
        m = self._item
        return (m.rev == payment.rev) & m.state.is_in(*(s.value for s in LIVE_STATES)) & m.gsi2pk.exists()

    def _update(self, payment: Payment, actions: list, condition) -> bool:
        try:
            self._key(payment).update(actions=actions, condition=condition)
        except UpdateError as error:
            if is_conditional(error):
                return False
            raise
        return True
