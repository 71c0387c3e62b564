"""The API's own documentation: the generated OpenAPI 3.1 document at `GET /openapi.json`."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.http import endpoint, json_response

bp = Blueprint(__name__)

_cache: list = [None, None]  # [app, document]: the route table does not change once the app is loaded


@bp.route("/openapi.json", methods=["GET"])
@endpoint(bp)
def openapi_document():
    from chalicelib.api.openapi import build_openapi

    app = bp.current_app
    if _cache[0] is not app:
        _cache[:] = [app, build_openapi(app)]
    return json_response(_cache[1])
