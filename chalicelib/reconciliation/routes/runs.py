"""Operators' reconciliation routes (M14 §2): settlement runs, their discrepancies, resolving one, re-running a
bank's day. Operators only. Thin: token -> use case -> JSON."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, Ok, Param, Reply, bearer, route
from chalicelib.reconciliation.schemas import DiscrepancyView, RunDetail, RunList, RunView
from chalicelib.reconciliation.services.operators import DiscrepanciesQuery, RerunIn, ResolveIn, RunsQuery

bp = Blueprint(__name__)
TAG = "reconciliation"
OPERATOR = bearer("operator")
RUN_ID = Param("run_id", description="The run's id.", schema={"type": "string", "pattern": "^[0-9A-HJKMNP-TV-Z]{26}$"})
KEY = Param("key", description="The discrepancy's key: L<line number> or P<payment id>.",
            schema={"type": "string", "pattern": "^(L[0-9]{9}|P[A-Za-z0-9]{1,80})$"})
RUN_MISSING = {404: ("RUN_NOT_FOUND",)}


@route(bp, "GET", "/v1/reconciliation/runs", tag=TAG, access=OPERATOR, query=RunsQuery,
       summary="Settlement runs, newest settlement day first (filters: bank, days, status; paged)",
       ok={200: Ok("A page of runs.", RunList)})
def list_settlement_runs(call: Call):
    from chalicelib.reconciliation.services.operators import list_runs

    return list_runs(call.ctx, call.query_params())


@route(bp, "GET", "/v1/reconciliation/runs/{run_id}", tag=TAG, access=OPERATOR, params=(RUN_ID,),
       query=DiscrepanciesQuery, summary="A run with a page of its discrepancies (filters: category, status)",
       ok={200: Ok("The run.", RunDetail)}, problems=RUN_MISSING)
def get_settlement_run(call: Call):
    from chalicelib.reconciliation.services.operators import get_run

    return get_run(call.ctx, call.path["run_id"], call.query_params())


@route(bp, "POST", "/v1/reconciliation/runs/{run_id}/discrepancies/{key}/resolve", tag=TAG, access=OPERATOR,
       params=(RUN_ID, KEY), request=ResolveIn, summary="Mark a discrepancy resolved, with a note (audited, once)",
       description="Records who resolved it, when, and the note. A discrepancy is resolved once: the second time "
       "is `409 DISCREPANCY_ALREADY_RESOLVED` with who resolved it and when.",
       ok={200: Ok("The discrepancy, resolved.", DiscrepancyView)},
       problems={404: ("RUN_NOT_FOUND", "DISCREPANCY_NOT_FOUND"), 409: ("DISCREPANCY_ALREADY_RESOLVED",)})
def resolve_settlement_discrepancy(call: Call):
    from chalicelib.reconciliation.services.operators import resolve_discrepancy

    return resolve_discrepancy(call.ctx, call.principal.subject, call.path["run_id"], call.path["key"], call.body())


@route(bp, "POST", "/v1/reconciliation/runs", tag=TAG, access=OPERATOR, request=RerunIn,
       summary="Run a bank's day again from the stored file (a new run superseding the current one)",
       description="Reads the file of the day's current run (or the newest file delivered for that day) and "
       "classifies it against the ledger as it is now; nothing already applied is applied again. Answers when "
       "the run is done; a file larger than `RECONCILE_INLINE_MAX_BYTES` (8 MB) is for the CLI "
       "(`python -m chalicelib.jobs.reconcile <BANK> <YYYY-MM-DD> --rerun`): `422 SETTLEMENT_RERUN_TOO_LARGE`.",
       ok={201: Ok("The new run (REFUSED when the stored file is incomplete).", RunView)},
       problems={404: ("SETTLEMENT_FILE_NOT_FOUND",), 422: ("SETTLEMENT_RERUN_TOO_LARGE",),
                 409: ("CONCURRENT_UPDATE",)})
def rerun_settlement_day(call: Call):
    from chalicelib.reconciliation.services.operators import rerun

    return Reply(rerun(call.ctx, call.principal.subject, call.body()), 201)
