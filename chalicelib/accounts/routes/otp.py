"""OTP routes (M8): send a code by SMS, verify it for a single-use verification token."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.accounts.routes import CREATOR, TOO_MANY, caller
from chalicelib.accounts.schemas import OtpSent, OtpVerified
from chalicelib.accounts.services.otp_requests import OtpIn, OtpVerifyIn
from chalicelib.api.routing import Call, Ok, Reply, bearer, route

bp = Blueprint(__name__)


@route(bp, "POST", "/v1/otp", tag="otp", access=bearer(), request=OtpIn, summary="Send a 6-digit OTP by SMS",
       description="Valid 120 s; a resend replaces the previous code; single use. account_creation: an officer with "
       "the right (subject = the citizen's ID number); bank_link: the citizen, to their account phone (subject "
       "from POST /v1/citizens/me/bank-links); phone_change: the citizen, to the new phone (subject = their "
       "account id). Limits per phone, per account (the citizen or officer asking) and per client IP answer 429 "
       "with Retry-After.",
       ok={202: Ok("Sent.", OtpSent)},
       problems={**CREATOR, **TOO_MANY, 403: ("ROLE_FORBIDDEN", "OTP_SUBJECT_FORBIDDEN", "PASSWORD_CHANGE_REQUIRED",
                                              *CREATOR[403]),
                 404: ("ACCOUNT_NOT_FOUND",), 422: ("OTP_PHONE_NOT_ACCOUNT_PHONE", "PHONE_UNCHANGED")})
def otp_issue(call: Call):
    from chalicelib.accounts.services.otp_requests import request_otp

    return Reply(request_otp(call.ctx, caller(call), call.body()), 202)


@route(bp, "POST", "/v1/otp/verify", tag="otp", access=bearer(), request=OtpVerifyIn,
       summary="Verify an OTP and receive a single-use verification token",
       description="Attempts are counted per (phone, purpose, subject) across resends; 5 wrong attempts lock it for "
       "15 minutes. A wrong code is answered OTP_INVALID whether a code is pending, expired, used or was never "
       "sent. account_creation: only an officer who may send it (the right, a one-stop unit). The token (valid 10 "
       "minutes, single use) is bound to phone, purpose and subject.",
       ok={200: Ok("Verified.", OtpVerified)},
       problems={403: ("ROLE_FORBIDDEN", "OTP_SUBJECT_FORBIDDEN", *CREATOR[403]), 409: ("OTP_USED",),
                 422: ("OTP_INVALID", "OTP_EXPIRED"), 429: ("OTP_LOCKED",)})
def otp_verify(call: Call):
    from chalicelib.accounts.services.otp_requests import verify_request

    return verify_request(call.ctx, caller(call), call.body())
