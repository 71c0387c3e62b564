"""Self-test runs and per-province limits as ledger items (the outbox intent that starts the job is written in
the same transaction, and the ledger's stream sends it).

- ``SELFTEST#<run id> / RUN``: the run (doc JSON, state = status, rev), gsi1 ``SELFTEST#<province> / <created at>``
  (a province's runs, newest first), ``test`` set: reports and reconciliation skip it;
- ``STLIMIT#<province> / LIMIT``: the run in progress, its lease and the start times of the last hour (rev).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Sequence

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.aws.tables import is_conditional, models
from chalicelib.selftest.domain import Limiter, SelfTestRun
from chalicelib.selftest.ports import StaleRunError

if TYPE_CHECKING:
    from chalicelib.config import Settings

RUN_SK, LIMIT_SK = "RUN", "LIMIT"
RUN_TTL_S = 400 * 86400  # evidence of an integration is kept beyond a year of operation


class DynamoSelfTests:
    def __init__(self, settings: Settings, outbox) -> None:
        _, self.M = models(settings)
        self._outbox = outbox

    def _limiter_item(self, province: str, limiter: Limiter):
        doc = {"running": limiter.running, "running_until": limiter.running_until, "starts": list(limiter.starts)}
        return self.M(f"STLIMIT#{province}", LIMIT_SK, kind="selftest_limit", doc=json.dumps(doc), rev=limiter.rev)

    def _run_item(self, run: SelfTestRun):
        return self.M(f"SELFTEST#{run.run_id}", RUN_SK, kind="selftest_run", state=run.status, rev=run.rev,
                      doc=run.model_dump_json(), gsi1pk=f"SELFTEST#{run.province}", gsi1sk=f"{run.created_at}#{run.run_id}",
                      test=True)

    def _condition(self, expected_rev: int):
        return self.M.pk.does_not_exist() if expected_rev == 0 else (self.M.rev == expected_rev)

    def limiter(self, province: str) -> Limiter:
        try:
            item = self.M.get(f"STLIMIT#{province}", LIMIT_SK, consistent_read=True)
        except DoesNotExist:
            return Limiter()
        doc = json.loads(item.doc)
        return Limiter(doc.get("running"), int(doc.get("running_until") or 0), tuple(doc.get("starts") or ()),
                       int(item.rev or 0))

    def start(self, run: SelfTestRun, limiter: Limiter, expected_rev: int, intents: Sequence) -> None:
        try:
            with TransactWrite(connection=self.M._get_connection().connection) as tx:
                tx.save(self._limiter_item(run.province, limiter), condition=self._condition(expected_rev))
                tx.save(self._run_item(run), condition=self.M.pk.does_not_exist())
                for item in self._outbox.items(intents):
                    tx.save(item)
        except TransactWriteError:
            raise StaleRunError(run.run_id) from None

    def save_limiter(self, province: str, limiter: Limiter, expected_rev: int) -> None:
        try:
            self._limiter_item(province, limiter).save(condition=self._condition(expected_rev))
        except PutError as exc:
            if is_conditional(exc):
                raise StaleRunError(province) from None
            raise

    def get(self, run_id: str) -> SelfTestRun | None:
        try:
            item = self.M.get(f"SELFTEST#{run_id}", RUN_SK, consistent_read=True)
        except DoesNotExist:
            return None
        return SelfTestRun.model_validate_json(item.doc).model_copy(update={"rev": int(item.rev or 0)})

    def save(self, run: SelfTestRun, expected_rev: int) -> None:
        try:
            self._run_item(run).save(condition=self.M.rev == expected_rev)
        except PutError as exc:
            if is_conditional(exc):
                raise StaleRunError(run.run_id) from None
            raise

    def list(self, province: str, limit: int = 20) -> list[SelfTestRun]:
        items = self.M.gsi1.query(f"SELFTEST#{province}", scan_index_forward=False, limit=limit)
        return [SelfTestRun.model_validate_json(i.doc).model_copy(update={"rev": int(i.rev or 0)}) for i in items]
