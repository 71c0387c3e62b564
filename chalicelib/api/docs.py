"""The API's own documentation: the generated OpenAPI 3.1 document at `GET /openapi.json`."""
from __future__ import annotations

from typing import Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.routing import Call, Ok, route

bp = Blueprint(__name__)

_cache: list = [None, None]  # [app, document]: the route table does not change once the app is loaded


@route(bp, "GET", "/openapi.json", summary="This OpenAPI document", tag="system", cache_control="public, max-age=300",
       ok={200: Ok("The OpenAPI 3.1 document of this API.",
                   schema={"type": "object", "description": "An OpenAPI 3.1 document."})})
def openapi_document(call: Call):
    from chalicelib.api.openapi import build_openapi

    app = bp.current_app
    if _cache[0] is not app:
        _cache[:] = [app, build_openapi(app)]
    return _cache[1]


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["ok"]
    stage: str = Field(description="Deployment stage (local, dev, test, prod, ...).")


@route(bp, "GET", "/v1/health", summary="Liveness check", tag="system", ok={200: Ok("The service answers.", Health)})
def health(call: Call):
    return {"status": "ok", "stage": call.ctx.settings.stage}
