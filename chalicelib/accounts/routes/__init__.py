"""Routes of the accounts capability, one blueprint per audience: administrators, one-stop officers, citizens, OTP."""
from __future__ import annotations

from typing import Any

# Problems several routes share.
CREATOR = {403: ("CREATE_RIGHT_MISSING", "UNIT_NOT_ONE_STOP", "UNIT_FORBIDDEN")}
TOO_MANY = {429: ("OTP_LOCKED", "OTP_RESEND_TOO_SOON", "OTP_HOURLY_LIMIT", "OTP_DAILY_LIMIT")}
ME = {403: ("PASSWORD_CHANGE_REQUIRED", "ROLE_FORBIDDEN"), 404: ("ACCOUNT_NOT_FOUND",)}
TOKEN = {422: ("VERIFICATION_TOKEN_INVALID",)}


def caller(call: Any):
    """The verified caller as the account use cases take it (each decides what it requires)."""
    from chalicelib.accounts.ports import Caller

    p = call.principal
    if p is None:
        return Caller(None)
    return Caller(p.subject, frozenset(r.value for r in p.roles), p.province_code)
