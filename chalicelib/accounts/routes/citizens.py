"""The citizen's own account (M7, M9): profile and tax code, password and phone change, transaction history and the
bank-account link (signing in: routes.auth)."""
from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.accounts.routes import GUARD, ME, NEW_PASSWORD_RULES, TOKEN, TOO_MANY, caller
from chalicelib.accounts.schemas import CurrentLink, LinkStarted, LinkView, Profile, TokenAnswer, TransactionPage
from chalicelib.accounts.services.bank_links import BankLinkConfirmIn, BankLinkIn
from chalicelib.accounts.services.citizens import PhoneChangeIn, ProfileIn
from chalicelib.accounts.services.passwords import PasswordChangeIn
from chalicelib.api.routing import Call, Ok, Reply, bearer, route

bp = Blueprint(__name__)
TOKEN_HOLDER = bearer()  # the role is checked by the use case (ROLE_FORBIDDEN, PASSWORD_CHANGE_REQUIRED)
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
       summary="Change the password: every other session ends, every earlier token is refused",
       description=f"{ROLE} Answers the tokens of a fresh session. {NEW_PASSWORD_RULES}",
       ok={200: Ok("New tokens.", TokenAnswer)}, problems={**ME, **GUARD, 422: ("CURRENT_PASSWORD_WRONG",)})
def me_password(call: Call):
    from chalicelib.accounts.services.citizens import change_password

    return change_password(call.ctx, caller(call), call.body())


@route(bp, "POST", "/v1/citizens/me/phone", tag="citizens", access=TOKEN_HOLDER, request=PhoneChangeIn,
       description=f"{ROLE} The current password is checked again; the old phone is told by SMS.",
       summary="Change the phone (OTP to the new phone)", ok={200: Ok("Profile.", Profile)},
       problems={**ME, **CHANGED, **GUARD, 422: ("PHONE_UNCHANGED", "CURRENT_PASSWORD_WRONG", *TOKEN[422])})
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
