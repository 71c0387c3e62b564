"""Routes of the accounts capability, one blueprint per audience: sign-in, administrators, one-stop officers,
citizens, OTP."""
from __future__ import annotations

from typing import Any

# Problems several routes share.
CREATOR = {403: ("CREATE_RIGHT_MISSING", "UNIT_NOT_ONE_STOP", "UNIT_FORBIDDEN")}
TOO_MANY = {429: ("OTP_LOCKED", "OTP_RESEND_TOO_SOON", "OTP_HOURLY_LIMIT", "OTP_DAILY_LIMIT", "OTP_ACCOUNT_LIMIT",
                  "OTP_CLIENT_LIMIT")}
ME = {403: ("PASSWORD_CHANGE_REQUIRED", "ROLE_FORBIDDEN"), 404: ("ACCOUNT_NOT_FOUND",)}
TOKEN = {422: ("VERIFICATION_TOKEN_INVALID",)}
# A password checked by the user pool behind the sign-in guard (sign-in, password and phone change).
GUARD = {429: ("SIGN_IN_DELAYED", "SIGN_IN_CLIENT_LIMITED"), 503: ("IDENTITY_UNAVAILABLE",)}
# A refused new password is a 422 VALIDATION_FAILED whose field error names why.
NEW_PASSWORD_RULES = ("New passwords: 8-128 characters with a letter and a digit, not a common password, not "
                      "containing the ID number (field error codes PASSWORD_TOO_WEAK, PASSWORD_TOO_COMMON, "
                      "PASSWORD_CONTAINS_ID, PASSWORD_UNCHANGED).")


def caller(call: Any):
    """The verified caller as the account use cases take it (each decides what it requires); the principal was
    already checked against the directory by the verifier (services.sessions)."""
    from chalicelib.accounts.ports import Caller

    p = call.principal
    if p is None:
        return Caller(None, client=call.client_ip())
    return Caller(p.subject, frozenset(r.value for r in p.roles), p.province_code, username=p.username,
                  access_token=call.bearer_token(), client=call.client_ip())
