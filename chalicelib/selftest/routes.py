"""The integration self-test for administrators: province_admin for their own province, operator for any. Start a
run (202, the job runs it), poll it, list a province's runs, download the evidence. Thin: token -> Actor -> use case."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, Ok, Param, Reply, bearer, route
from chalicelib.core.fields import LazySchema, province_agency_code_schema
from chalicelib.selftest.schemas import EvidenceLinks, SelfTestRuns, SelfTestRunView

bp = Blueprint(__name__)
TAG = "onboarding"
ADMINS = bearer("province_admin", "operator")
AGENCY = Param("agency_code", description="The province's level-1 agency code (mã định danh), e.g. 000.00.00.H49.",
               schema=LazySchema(province_agency_code_schema))
RUN = Param("run_id", description="The run's id (ST + ULID).", schema={"type": "string", "maxLength": 40})
SCOPE = {403: ("PROVINCE_FORBIDDEN",), 422: ("VALIDATION_FAILED",)}


def _actor(call: Call):
    from chalicelib.identity.domain import Role
    from chalicelib.provinces.ports import Actor

    p = call.principal
    return Actor(subject=p.subject, operator=p.has_role(Role.OPERATOR), province_claim=p.province_code)


@route(bp, "POST", "/v1/provinces/{agency_code}/selftests", tag=TAG, access=ADMINS, params=(AGENCY,),
       summary="Start an automated integration self-test of the province (answers at once; poll the run)",
       description="The portal creates a clearly marked test dossier and notice (agency TST.*), looks it up, pays "
       "it at the test bank (test payment, receipt in the test series), then delivers the notice, the payment "
       "result and the receipt file to the province's registered APIs with `\"test\": true`, recording each "
       "request and answer (redacted), its latency and verdict; a failure says what the province must fix. The "
       "evidence (PDF + JSON) is attached to the step-5 request from `attachment`. One run at a time per province "
       "and a few per hour (429 with Retry-After); a live province receives no test data (409 PROVINCE_LIVE).",
       ok={202: Ok("The run is queued.", SelfTestRunView, headers={"Location": {
           "description": "/v1/selftests/{run_id}", "schema": {"type": "string"}}})},
       problems={**SCOPE, 409: ("PROVINCE_NOT_CONFIGURED", "PROVINCE_LIVE", "CONCURRENT_UPDATE"),
                 429: ("SELFTEST_RUNNING", "SELFTEST_RATE_LIMITED")})
def start_selftest(call: Call):
    from chalicelib.selftest.services.runs import start_run

    run = start_run(call.ctx, _actor(call), call.path["agency_code"])
    return Reply(run, 202, headers={"Location": run["links"]["self"]})


@route(bp, "GET", "/v1/provinces/{agency_code}/selftests", tag=TAG, access=ADMINS, params=(AGENCY,),
       summary="The province's self-test runs, newest first", ok={200: Ok("The runs.", SelfTestRuns)},
       problems=SCOPE)
def list_selftests(call: Call):
    from chalicelib.selftest.services.runs import list_runs

    return list_runs(call.ctx, _actor(call), call.path["agency_code"])


@route(bp, "GET", "/v1/selftests/{run_id}", tag=TAG, access=ADMINS, params=(RUN,),
       summary="A self-test run: status, steps with verdicts and fixes, evidence keys",
       ok={200: Ok("The run.", SelfTestRunView)}, problems={403: ("PROVINCE_FORBIDDEN",), 404: ("SELFTEST_NOT_FOUND",)})
def get_selftest(call: Call):
    from chalicelib.selftest.services.runs import get_run

    return get_run(call.ctx, _actor(call), call.path["run_id"])


@route(bp, "GET", "/v1/selftests/{run_id}/evidence", tag=TAG, access=ADMINS, params=(RUN,),
       summary="Download links (presigned, expiring) of a finished run's evidence report (PDF) and JSON",
       ok={200: Ok("The links.", EvidenceLinks)},
       problems={403: ("PROVINCE_FORBIDDEN",), 404: ("SELFTEST_NOT_FOUND",), 409: ("SELFTEST_NOT_FINISHED",)})
def selftest_evidence(call: Call):
    from chalicelib.selftest.services.runs import evidence_links

    return evidence_links(call.ctx, _actor(call), call.path["run_id"])
