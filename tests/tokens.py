"""Test helper only: an HS256 token signed with a key of the test's choosing, to prove the verifier refuses
algorithms other than the pool's RS256. Nothing in chalicelib issues tokens; no running stage accepts these."""
from __future__ import annotations

import time
from typing import Any, Iterable


def issue_hs256_token(secret: str, issuer: str, audience: str, subject: str, roles: Iterable[str],
                      ttl_s: int = 3600, **claims: Any) -> str:
    import jwt

    now = int(time.time())
    payload = {"iss": issuer, "aud": audience, "client_id": audience, "sub": subject, "iat": now, "exp": now + ttl_s,
               "token_use": "access", "cognito:groups": sorted(roles), **claims}
    return jwt.encode(payload, secret, algorithm="HS256")
