"""One-stop officer routes (M9): search a citizen by ID number, the request form, the ID-card scan upload, account
creation after the OTP, and the accounts the officer's units created. Each use case checks the officer's stored
right and unit before it reads anything else."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.accounts.routes import CREATOR, TOKEN, caller
from chalicelib.accounts.schemas import AccountList, CreatedAccount, ExistsAnswer, ScanUpload, UnitList
from chalicelib.accounts.services.citizen_accounts import (
    AccountQueryIn,
    CitizenAccountIn,
    CitizenDataIn,
    IdNumberIn,
    ScanUploadIn,
)
from chalicelib.api.routing import Call, Ok, Reply, bearer, route

bp = Blueprint(__name__)
OFFICER = bearer("officer")


@route(bp, "GET", "/v1/officers/me/units", tag="officers", access=OFFICER,
       summary="The officer's one-stop units they may create citizen accounts for (the desk's unit choice)",
       description="Decided on the directory's record, as every officer route: without the right, or without a "
       "one-stop unit, the same 403 refusals as creating an account.",
       ok={200: Ok("The units, by code.", UnitList)}, problems=CREATOR)
def officer_units(call: Call):
    from chalicelib.accounts.services.citizen_accounts import officer_units as units_of

    return units_of(call.ctx, caller(call))


@route(bp, "POST", "/v1/officers/citizen-accounts/search", tag="officers", access=OFFICER, request=IdNumberIn,
       summary="Does an account with this ID number exist?", ok={200: Ok("Whether it exists.", ExistsAnswer)},
       problems=CREATOR)
def officer_search_account(call: Call):
    from chalicelib.accounts.services.citizen_accounts import search_by_id

    return search_by_id(call.ctx, caller(call), call.body())


@route(bp, "POST", "/v1/officers/citizen-accounts/request-form", tag="officers", access=OFFICER,
       request=CitizenDataIn, summary="The account request form for the citizen to check (PDF)",
       ok={200: Ok("The request form (PDF).", content_type="application/pdf",
                   schema={"type": "string", "contentMediaType": "application/pdf"})}, problems=CREATOR)
def officer_request_form(call: Call):
    from chalicelib.accounts.services.citizen_accounts import request_form

    pdf = request_form(call.ctx, caller(call), call.body())
    return Reply(pdf, content_type="application/pdf",
                 headers={"Content-Disposition": 'attachment; filename="phieu-de-nghi-tao-tai-khoan.pdf"'})


@route(bp, "POST", "/v1/officers/citizen-accounts/scans", tag="officers", access=OFFICER, request=ScanUploadIn,
       summary="Get a presigned S3 POST for the ID-card scan (pdf/doc/docx, at most 5 MB)",
       description="The file goes straight to S3 (a 5 MB file would exceed Lambda's 6 MB payload limit once base64 "
       "encoded). Its bytes are checked at creation.", ok={201: Ok("Where to POST the file.", ScanUpload)},
       problems=CREATOR)
def officer_scan_upload(call: Call):
    from chalicelib.accounts.services.citizen_accounts import scan_upload

    return Reply(scan_upload(call.ctx, caller(call), call.body()), 201)


@route(bp, "POST", "/v1/officers/citizen-accounts", tag="officers", access=OFFICER, request=CitizenAccountIn,
       summary="Create a citizen account (user pool user; temporary password, valid 72 hours, by SMS)", ok={201: Ok("The account.", CreatedAccount)},
       problems={**CREATOR, 409: ("ACCOUNT_ALREADY_EXISTS",), 413: ("SCAN_TOO_LARGE",),
                 422: ("SCAN_NOT_FOUND", "SCAN_CONTENT_INVALID", *TOKEN[422]), 500: ("SCAN_NOT_ENCRYPTED",),
                 503: ("IDENTITY_UNAVAILABLE",)})
def officer_create_account(call: Call):
    from chalicelib.accounts.services.citizen_accounts import create_account

    return Reply(create_account(call.ctx, caller(call), call.body()), 201)


@route(bp, "POST", "/v1/officers/citizen-accounts/query", tag="officers", access=OFFICER, request=AccountQueryIn,
       summary="Accounts created in the officer's units (name, phone, ID, officer, unit, dates)",
       ok={200: Ok("Accounts, newest first.", AccountList)}, problems=CREATOR)
def officer_list_accounts(call: Call):
    from chalicelib.accounts.services.citizen_accounts import list_accounts

    return list_accounts(call.ctx, caller(call), call.body())
