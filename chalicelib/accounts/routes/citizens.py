"""The citizen's own account (M7, M9): sign-in, profile and tax code, password and phone change, transaction
history and the bank-account link. A token from a first sign-in (no role yet) only allows the password change."""
from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.accounts.routes import ME, TOKEN, TOO_MANY, caller
from chalicelib.accounts.schemas import CurrentLink, LinkStarted, LinkView, Profile, TokenAnswer, TransactionPage
from chalicelib.accounts.services.bank_links import BankLinkConfirmIn, BankLinkIn
from chalicelib.accounts.services.citizens import PasswordChangeIn, PhoneChangeIn, ProfileIn, SignInIn
from chalicelib.api.routing import ANYONE, Call, Ok, Reply, bearer, route

bp = Blueprint(__name__)
TOKEN_HOLDER = bearer()  # the role is checked by the use case: PASSWORD_CHANGE_REQUIRED for a first-sign-in token
CHANGED = {409: ("ACCOUNT_CHANGED",)}
LINKS = {409: ("BANK_LINK_EXISTS",), 422: ("BANK_LINK_NOT_SUPPORTED", "TAX_CODE_REQUIRED", "BANK_ACCOUNT_NOT_FOUND",
                                           "BANK_ID_NUMBER_MISMATCH", "BANK_PHONE_MISMATCH"),
         502: ("BANK_UNAVAILABLE",)}
ROLE = "Role: `citizen`."


class TransactionsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    limit: int = Field(default=20, ge=1, le=100, description="Payments per page.")
    cursor: str | None = Field(default=None, min_length=1, max_length=2000,
                               description="next_cursor of the previous page.")


@route(bp, "POST", "/v1/auth/sign-in", tag="citizens", access=ANYONE, request=SignInIn,
       summary="Sign in with ID number and password",
       description="While the temporary password is unchanged, the token only allows POST /v1/citizens/me/password.",
       ok={200: Ok("A bearer token.", TokenAnswer)}, problems={401: ("SIGN_IN_FAILED",), 429: ("SIGN_IN_LOCKED",)})
def sign_in(call: Call):
    from chalicelib.accounts.services.citizens import sign_in as do_sign_in

    return do_sign_in(call.ctx, call.body())


@route(bp, "GET", "/v1/citizens/me", tag="citizens", access=TOKEN_HOLDER, description=ROLE,
       summary="The signed-in citizen's profile", ok={200: Ok("Profile.", Profile)}, problems=ME)
def me(call: Call):
    from chalicelib.accounts.services.citizens import profile

    return profile(call.ctx, caller(call))


@route(bp, "PATCH", "/v1/citizens/me", tag="citizens", access=TOKEN_HOLDER, request=ProfileIn, description=ROLE,
       summary="Update email and tax code", ok={200: Ok("Profile.", Profile)},
       problems={**ME, **CHANGED, 422: ("TAX_CODE_NOT_OWN_ID",)})
def me_update(call: Call):
    from chalicelib.accounts.services.citizens import require_citizen, update_profile

    who = caller(call)
    require_citizen(who)
    return update_profile(call.ctx, who, call.body())


@route(bp, "POST", "/v1/citizens/me/password", tag="citizens", access=TOKEN_HOLDER, request=PasswordChangeIn,
       summary="Change the password (required after the first sign-in)", ok={200: Ok("A new citizen token.",
                                                                                   TokenAnswer)},
       problems={403: ("ROLE_FORBIDDEN",), 404: ("ACCOUNT_NOT_FOUND",), **CHANGED, 422: ("CURRENT_PASSWORD_WRONG",)})
def me_password(call: Call):
    from chalicelib.accounts.services.citizens import change_password

    return change_password(call.ctx, caller(call), call.body())


@route(bp, "POST", "/v1/citizens/me/phone", tag="citizens", access=TOKEN_HOLDER, request=PhoneChangeIn,
       description=ROLE, summary="Change the phone (OTP to the new phone)", ok={200: Ok("Profile.", Profile)},
       problems={**ME, **CHANGED, 422: ("PHONE_UNCHANGED", *TOKEN[422])})
def me_phone(call: Call):
    from chalicelib.accounts.services.citizens import change_phone, require_citizen

    who = caller(call)
    require_citizen(who)
    return change_phone(call.ctx, who, call.body())


@route(bp, "GET", "/v1/citizens/me/transactions", tag="citizens", access=TOKEN_HOLDER, query=TransactionsQuery,
       description=ROLE, summary="The citizen's payments with states and receipts (newest first, paginated)",
       ok={200: Ok("A page.", TransactionPage)}, problems={403: ME[403], 422: ("CURSOR_INVALID",)})
def me_transactions(call: Call):
    from chalicelib.accounts.services.citizens import transactions

    query = call.query()
    return transactions(call.ctx, caller(call), query.limit, query.cursor)


@route(bp, "GET", "/v1/citizens/me/bank-links", tag="citizens", access=TOKEN_HOLDER, description=ROLE,
       summary="The current bank-account link", ok={200: Ok("The link or null.", CurrentLink)}, problems=ME)
def me_bank_link(call: Call):
    from chalicelib.accounts.services.bank_links import current_link

    return current_link(call.ctx, caller(call))


@route(bp, "POST", "/v1/citizens/me/bank-links", tag="citizens", access=TOKEN_HOLDER, request=BankLinkIn,
       description=ROLE, summary="Check the four link conditions and send the confirming OTP",
       ok={202: Ok("OTP sent.", LinkStarted)}, problems={**ME, **LINKS, **TOO_MANY})
def me_bank_link_start(call: Call):
    from chalicelib.accounts.services.bank_links import start_link
    from chalicelib.accounts.services.citizens import require_citizen

    who = caller(call)
    require_citizen(who)
    return Reply(start_link(call.ctx, who, call.body()), 202)


@route(bp, "POST", "/v1/citizens/me/bank-links/confirm", tag="citizens", access=TOKEN_HOLDER,
       request=BankLinkConfirmIn, description=ROLE,
       summary="Confirm the link with the OTP verification token (one link at a time)",
       ok={201: Ok("The link.", LinkView)},
       problems={**ME, **LINKS, 422: (*LINKS[422], *TOKEN[422])})
def me_bank_link_confirm(call: Call):
    from chalicelib.accounts.services.bank_links import confirm_link
    from chalicelib.accounts.services.citizens import require_citizen

    who = caller(call)
    require_citizen(who)
    return Reply(confirm_link(call.ctx, who, call.body()), 201)


@route(bp, "DELETE", "/v1/citizens/me/bank-links", tag="citizens", access=TOKEN_HOLDER, description=ROLE,
       summary="Unlink the bank account", ok={204: Ok("Unlinked.")},
       problems={**ME, 404: (*ME[404], "BANK_LINK_NOT_FOUND")})
def me_bank_unlink(call: Call):
    from chalicelib.accounts.services.bank_links import unlink

    unlink(call.ctx, caller(call))
    return Reply(status=204)
