"""Sign-in routes: citizens (ID number, the citizens' app client) and staff (user name, the staff client), the first
sign-in's new password, refresh, sign-out everywhere and the forgotten password by OTP. Every password check goes
through the sign-in guard (progressive delays per user name, a cap of wrong guesses per client IP)."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.accounts.routes import GUARD, NEW_PASSWORD_RULES, TOKEN, TOO_MANY, caller
from chalicelib.accounts.schemas import ResetSent, SignInAnswer, TokenAnswer
from chalicelib.accounts.services.passwords import NewPasswordIn, ResetCodeIn, ResetIn, StaffNewPasswordIn
from chalicelib.accounts.services.sign_in import RefreshIn, SignInIn, StaffSignInIn
from chalicelib.api.routing import ANYONE, Call, Ok, Reply, bearer, route

bp = Blueprint(__name__)
TAG = "auth"
SIGNED_IN = Ok("Tokens, or the new-password challenge of a first sign-in.", SignInAnswer)
TOKENS = Ok("Tokens.", TokenAnswer)
PASSWORD = {401: ("SIGN_IN_SESSION_EXPIRED",), 503: GUARD[503]}
RESET = {409: ("OTP_USED", "ACCOUNT_CHANGED"), 429: ("OTP_LOCKED",), 503: GUARD[503],
         422: ("OTP_INVALID", "OTP_EXPIRED", *TOKEN[422])}


@route(bp, "POST", "/v1/auth/sign-in", tag=TAG, access=ANYONE, request=SignInIn,
       summary="Citizen sign-in with ID number and password",
       description="With the temporary password from the SMS (valid 72 hours) the answer is the NEW_PASSWORD_REQUIRED "
       "challenge: send the new password to POST /v1/auth/new-password. Wrong passwords delay the next attempt "
       "(after 5: 30 s, doubling up to 15 min) and are capped per client IP.",
       ok={200: SIGNED_IN}, problems={401: ("SIGN_IN_FAILED", "TEMPORARY_PASSWORD_EXPIRED"), **GUARD})
def sign_in(call: Call):
    from chalicelib.accounts.services.sign_in import sign_in as do

    return do(call.ctx, caller(call), call.body())


@route(bp, "POST", "/v1/auth/new-password", tag=TAG, access=ANYONE, request=NewPasswordIn,
       summary="Answer the first sign-in's challenge with a new password", description=NEW_PASSWORD_RULES,
       ok={200: TOKENS},
       problems={**PASSWORD, 401: ("SIGN_IN_SESSION_EXPIRED", "TEMPORARY_PASSWORD_EXPIRED"),
                 409: ("ACCOUNT_CHANGED",)})
def new_password(call: Call):
    from chalicelib.accounts.services.passwords import answer_new_password

    return answer_new_password(call.ctx, call.body())


@route(bp, "POST", "/v1/auth/refresh", tag=TAG, access=ANYONE, request=RefreshIn, ok={200: TOKENS},
       summary="New tokens for a citizen's refresh token", problems={401: ("REFRESH_TOKEN_INVALID",), 503: GUARD[503]})
def refresh(call: Call):
    from chalicelib.accounts.services.sign_in import refresh as do

    return do(call.ctx, call.body())


@route(bp, "POST", "/v1/auth/sign-out", tag=TAG, access=bearer("citizen", "officer", "province_admin", "operator"),
       summary="Sign out everywhere: every refresh token revoked, every token issued so far refused",
       ok={204: Ok("Signed out.")}, problems={503: GUARD[503]})
def sign_out(call: Call):
    from chalicelib.accounts.services.sign_in import sign_out as do

    do(call.ctx, caller(call))
    return Reply(status=204)


@route(bp, "POST", "/v1/auth/password-reset/otp", tag=TAG, access=ANYONE, request=ResetCodeIn,
       summary="Forgotten password: send a code to the account's phone",
       description="The same answer whether the ID number has an account or not; the code goes only to the "
       "account's own phone. Limits per phone, account and client IP answer 429 with Retry-After.",
       ok={202: Ok("Sent, if there is an account.", ResetSent)},
       problems=TOO_MANY)
def reset_code(call: Call):
    from chalicelib.accounts.services.passwords import request_reset

    return Reply(request_reset(call.ctx, caller(call), call.body()), 202)


@route(bp, "POST", "/v1/auth/password-reset", tag=TAG, access=ANYONE, request=ResetIn,
       summary="Forgotten password: the code and the new password",
       description="Every session ends and every earlier token is refused; sign in again with the new password. "
       + NEW_PASSWORD_RULES,
       ok={204: Ok("Password set.")}, problems=RESET)
def reset(call: Call):
    from chalicelib.accounts.services.passwords import reset_password

    reset_password(call.ctx, caller(call), call.body())
    return Reply(status=204)


@route(bp, "POST", "/v1/auth/staff/sign-in", tag=TAG, access=ANYONE, request=StaffSignInIn,
       summary="Staff sign-in (officers, province administrators, operators)", ok={200: SIGNED_IN},
       problems={401: ("SIGN_IN_FAILED",), **GUARD})
def staff_sign_in(call: Call):
    from chalicelib.accounts.services.sign_in import staff_sign_in as do

    return do(call.ctx, caller(call), call.body())


@route(bp, "POST", "/v1/auth/staff/new-password", tag=TAG, access=ANYONE, request=StaffNewPasswordIn,
       summary="Answer a staff user's first sign-in challenge", description=NEW_PASSWORD_RULES, ok={200: TOKENS},
       problems=PASSWORD)
def staff_new_password(call: Call):
    from chalicelib.accounts.services.passwords import staff_new_password as do

    return do(call.ctx, call.body())


@route(bp, "POST", "/v1/auth/staff/refresh", tag=TAG, access=ANYONE, request=RefreshIn, ok={200: TOKENS},
       summary="New tokens for a staff refresh token", problems={401: ("REFRESH_TOKEN_INVALID",), 503: GUARD[503]})
def staff_refresh(call: Call):
    from chalicelib.accounts.services.sign_in import refresh as do

    return do(call.ctx, call.body(), staff=True)
