"""Applying an API-configuration request in one step (operator): each requested API is written to the province
registry through the registry's own use case (validated, audited, versioned), the sealed credentials are handed to
the secret store through the outbox, and the request moves to done with its email, in one transaction."""
from __future__ import annotations

from typing import Any

from chalicelib.core import admin_units
from chalicelib.core.errors import conflict
from chalicelib.onboarding.domain.requests import Caller, Status
from chalicelib.onboarding.ports import OnboardingContext
from chalicelib.onboarding.services.common import audit_record, commit, load, moved, request_view
from chalicelib.onboarding.services.filing import safely_record
from chalicelib.outbox import domain as intents
from chalicelib.provinces.ports import Actor
from chalicelib.provinces.services.registry import put_api


def apply_configuration(ctx: OnboardingContext, caller: Caller, request_id: str) -> dict[str, Any]:
    request = load(ctx, caller, request_id)
    if request.request_type != "api_configuration":
        raise conflict("NOT_A_CONFIGURATION_REQUEST", "Chỉ áp dụng được yêu cầu cấu hình URL API.")
    now = ctx.clock.now()
    moved(ctx, request, Status.DONE, caller, None, now)  # refuse a closed request before writing anything
    province = admin_units.current_province(request.unit_code)
    actor = Actor(subject=caller.subject, operator=True)
    views = []
    for api in request.apis:
        body = {"province_code": province.stats_code, "province_name": province.name, "unit_code": api.unit_code,
                "session_url": api.session_url, "data_url": api.data_url, "active": True,
                "connect_timeout_s": api.connect_timeout_s, "read_timeout_s": api.read_timeout_s}
        views.append(put_api(ctx, actor, request.unit_code, api.api_type, body,
                             credentials_handed_over=api.sealed_credentials is not None))
    # Each carries the registry version it belongs to: a later change of the same API is never rolled back by it.
    handed = [intents.province_credentials(request.unit_code, a.api_type, a.sealed_credentials, version=v["version"],
                                           ref=request_id)
              for a, v in zip(request.apis, views, strict=True) if a.sealed_credentials]
    applied = {"at": now.isoformat(), "by": caller.subject,
               "apis": [{"api_type": v["api_type"], "version": v["version"]} for v in views]}
    after = moved(ctx, request, Status.DONE, caller, "Đã áp dụng cấu hình URL API.", now, applied=applied,
                  apis=[a.model_copy(update={"sealed_credentials": None}) for a in request.apis])
    commit(ctx, request, after, audit_record(caller, "applied", now.isoformat(), apis=applied["apis"],
                                             credentials_handed_over=len(handed)), extra_intents=handed)
    safely_record(ctx, request.unit_code, 3, {"request_id": request_id, "by": caller.subject,
                                              "api_types": [a.api_type for a in request.apis]})
    ctx.count("SupportConfigurationsApplied")
    return {"request": request_view(ctx, after), "apis": views}
