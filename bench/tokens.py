"""Access tokens for the benchmarks that call the app in-process: a staff user seeded in the local user pool and
signed in through the app's own sign-in route (as tests/e2e do over HTTP), so every measured request passes the
real token and directory checks."""
from __future__ import annotations

import json
import uuid

from .lambda_proxy import LambdaContext, proxy_event


def staff_token(chalice_app, role: str, user_id: str | None = None, province: str | None = None) -> str:
    """The access token of a staff user of ``role`` (a province administrator of ``province``: H35, 35...)."""
    from chalicelib.local.identities import _agency, seed_staff

    user_id = user_id or f"bench-{role.replace('_', '-')}-{uuid.uuid4().hex[:8]}"
    password = f"Kh0ng{uuid.uuid4().hex[:10]}!"
    seed_staff(user_id, role, password, province=_agency(province) if role == "province_admin" else None)
    event = proxy_event("POST", "/v1/auth/staff/sign-in", None, {"username": user_id, "password": password}, {})
    response = chalice_app(event, LambdaContext())
    if response["statusCode"] != 200:
        raise RuntimeError(f"bench sign-in refused: {response['statusCode']} {response['body'][:200]}")
    return json.loads(response["body"])["access_token"]
