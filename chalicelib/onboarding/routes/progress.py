"""The six integration steps per province (M11): the dashboard (provinces by step, which are live), one province's
progress with the evidence of each step, and the operators' audited override."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.routing import Call, Ok, bearer, route
from chalicelib.onboarding.routes import AGENCY, caller
from chalicelib.onboarding.schemas import OnboardingDashboard, ProvinceProgress
from chalicelib.onboarding.services.progress import OverrideIn

bp = Blueprint(__name__)
TAG = "onboarding"
ADMINS = bearer("province_admin", "operator")
PROGRESS = Ok("The province's step, since when, and each step's evidence.", ProvinceProgress)


@route(bp, "GET", "/v1/onboarding/provinces", tag=TAG, access=ADMINS,
       summary="Integration dashboard: every province's step and which are live (a province admin: their own)",
       ok={200: Ok("The 34 provinces (or the caller's).", OnboardingDashboard)})
def onboarding_dashboard(call: Call):
    from chalicelib.onboarding.services.progress import dashboard

    return dashboard(call.ctx, caller(call))


@route(bp, "GET", "/v1/onboarding/provinces/{agency_code}", tag=TAG, access=ADMINS, params=(AGENCY,),
       summary="One province's integration progress (derived from events, never typed)", ok={200: PROGRESS},
       problems={403: ("PROVINCE_FORBIDDEN",), 422: ("VALIDATION_FAILED",)})
def onboarding_province(call: Call):
    from chalicelib.onboarding.services.progress import province_progress

    return province_progress(call.ctx, caller(call), call.path["agency_code"])


@route(bp, "POST", "/v1/onboarding/provinces/{agency_code}/override", tag=TAG, access=bearer("operator"),
       params=(AGENCY,), request=OverrideIn, ok={200: PROGRESS},
       summary="Pass the steps up to one without their evidence (operator, with a reason; audited)",
       problems={409: ("ONBOARDING_STEP_ALREADY_PASSED", "CONCURRENT_UPDATE")})
def onboarding_override(call: Call):
    from chalicelib.onboarding.services.progress import override

    return override(call.ctx, caller(call), call.path["agency_code"], call.body())
