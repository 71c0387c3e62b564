"""OTP, administration of officers and units, citizen accounts created by officers, citizen sign-in and profile,
payment history and bank-account links (M7, M8, M9). Thin: read the caller and the body, call a use case, render.
"""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.api.http import (
    ACCEPTED_CONTENT_TYPES,
    endpoint,
    json_response,
    parse_json,
    principal,
    raw_body,
)

bp = Blueprint(__name__)
_CT = ACCEPTED_CONTENT_TYPES
RIGHT = "/v1/admin/users/{user_id}/rights/{right}"


def _svc():
    from chalicelib.api.wiring import context

    return context()


def _caller():
    """The verified caller, or an anonymous one (each use case decides what it requires; a bad token is a 401)."""
    from chalicelib.accounts.ports import Caller

    p = principal(bp.current_request, required=False)
    if p is None:
        return Caller(None)
    return Caller(p.subject, frozenset(r.value for r in p.roles), p.province_code)


def _body() -> dict:
    from chalicelib.api.wiring import context

    return parse_json(raw_body(bp.current_request, context().settings.max_body_bytes), bp.current_request)


# --- OTP -----------------------------------------------------------------------------------------------------------

@bp.route("/v1/otp", methods=["POST"], content_types=_CT)
@endpoint(bp)
def otp_issue():
    from chalicelib.accounts.services.otp_requests import request_otp

    caller = _caller()
    return json_response(request_otp(_svc(), caller, _body()), 202)


@bp.route("/v1/otp/verify", methods=["POST"], content_types=_CT)
@endpoint(bp)
def otp_verify():
    from chalicelib.accounts.services.otp_requests import verify_request

    caller = _caller()
    return json_response(verify_request(_svc(), caller, _body()))


# --- administration ------------------------------------------------------------------------------------------------

@bp.route("/v1/admin/units", methods=["POST"], content_types=_CT)
@endpoint(bp)
def admin_create_unit():
    from chalicelib.accounts.services.officers import create_unit, require_admin

    caller = _caller()
    require_admin(caller)
    return json_response(create_unit(_svc(), caller, _body()), 201)


@bp.route("/v1/admin/units", methods=["GET"])
@endpoint(bp)
def admin_list_units():
    from chalicelib.accounts.services.officers import list_units

    return json_response(list_units(_svc(), _caller()))


@bp.route("/v1/admin/users", methods=["POST"], content_types=_CT)
@endpoint(bp)
def admin_register_user():
    from chalicelib.accounts.services.officers import register_user, require_admin

    caller = _caller()
    require_admin(caller)
    return json_response(register_user(_svc(), caller, _body()), 201)


@bp.route("/v1/admin/users/search", methods=["POST"], content_types=_CT)
@endpoint(bp)
def admin_search_users():
    from chalicelib.accounts.services.officers import require_admin, search_users

    caller = _caller()
    require_admin(caller)
    return json_response(search_users(_svc(), caller, _body()))


@bp.route("/v1/admin/users/{user_id}/units", methods=["POST"], content_types=_CT)
@endpoint(bp)
def admin_assign_unit(user_id: str):
    from chalicelib.accounts.services.officers import assign_unit, require_admin

    caller = _caller()
    require_admin(caller)
    return json_response(assign_unit(_svc(), caller, user_id, _body()))


@bp.route("/v1/admin/users/{user_id}/units/{unit_code}", methods=["DELETE"])
@endpoint(bp)
def admin_remove_unit(user_id: str, unit_code: str):
    from chalicelib.accounts.services.officers import remove_unit

    return json_response(remove_unit(_svc(), _caller(), user_id, unit_code))


@bp.route(RIGHT, methods=["PUT"], content_types=_CT)
@endpoint(bp)
def admin_grant_right(user_id: str, right: str):
    from chalicelib.accounts.services.officers import grant_right

    return json_response(grant_right(_svc(), _caller(), user_id, right))


@bp.route(RIGHT, methods=["DELETE"])
@endpoint(bp)
def admin_revoke_right(user_id: str, right: str):
    from chalicelib.accounts.services.officers import revoke_right

    return json_response(revoke_right(_svc(), _caller(), user_id, right))


@bp.route("/v1/admin/users/{user_id}/audit", methods=["GET"])
@endpoint(bp)
def admin_user_audit(user_id: str):
    from chalicelib.accounts.services.officers import user_audit

    return json_response(user_audit(_svc(), _caller(), user_id))


# --- officers: citizen accounts ------------------------------------------------------------------------------------

def _officer_call(use_case):
    """Each officer use case checks the caller's right (and unit) before it parses or reads anything else."""
    caller = _caller()
    if caller.subject is None:
        from chalicelib.core.errors import unauthorized

        raise unauthorized("TOKEN_MISSING", "Thiếu mã xác thực. Vui lòng đăng nhập để tiếp tục.")
    if "officer" not in caller.roles:
        from chalicelib.core.errors import forbidden

        raise forbidden("ROLE_FORBIDDEN", "Chức năng này chỉ dành cho cán bộ một cửa.")
    return use_case(_svc(), caller, _body())


@bp.route("/v1/officers/citizen-accounts/search", methods=["POST"], content_types=_CT)
@endpoint(bp)
def officer_search_account():
    from chalicelib.accounts.services.citizen_accounts import search_by_id

    return json_response(_officer_call(search_by_id))


@bp.route("/v1/officers/citizen-accounts/request-form", methods=["POST"], content_types=_CT)
@endpoint(bp)
def officer_request_form():
    from chalicelib.accounts.services.citizen_accounts import request_form

    pdf = _officer_call(request_form)
    return Response(pdf, headers={"Content-Type": "application/pdf", "Cache-Control": "no-store",
                                  "Content-Disposition": 'attachment; filename="phieu-de-nghi-tao-tai-khoan.pdf"'},
                    status_code=200)


@bp.route("/v1/officers/citizen-accounts/scans", methods=["POST"], content_types=_CT)
@endpoint(bp)
def officer_scan_upload():
    from chalicelib.accounts.services.citizen_accounts import scan_upload

    return json_response(_officer_call(scan_upload), 201)


@bp.route("/v1/officers/citizen-accounts", methods=["POST"], content_types=_CT)
@endpoint(bp)
def officer_create_account():
    from chalicelib.accounts.services.citizen_accounts import create_account

    return json_response(_officer_call(create_account), 201)


@bp.route("/v1/officers/citizen-accounts/query", methods=["POST"], content_types=_CT)
@endpoint(bp)
def officer_list_accounts():
    from chalicelib.accounts.services.citizen_accounts import list_accounts

    return json_response(_officer_call(list_accounts))


# --- citizens ------------------------------------------------------------------------------------------------------

@bp.route("/v1/auth/sign-in", methods=["POST"], content_types=_CT)
@endpoint(bp)
def sign_in():
    from chalicelib.accounts.services.citizens import sign_in as do_sign_in

    return json_response(do_sign_in(_svc(), _body()), headers={"Cache-Control": "no-store"})


@bp.route("/v1/citizens/me", methods=["GET"])
@endpoint(bp)
def me():
    from chalicelib.accounts.services.citizens import profile

    return json_response(profile(_svc(), _caller()))


@bp.route("/v1/citizens/me", methods=["PATCH"], content_types=_CT)
@endpoint(bp)
def me_update():
    from chalicelib.accounts.services.citizens import require_citizen, update_profile

    caller = _caller()
    require_citizen(caller)
    return json_response(update_profile(_svc(), caller, _body()))


@bp.route("/v1/citizens/me/password", methods=["POST"], content_types=_CT)
@endpoint(bp)
def me_password():
    from chalicelib.accounts.services.citizens import change_password
    from chalicelib.core.errors import unauthorized

    caller = _caller()
    if caller.subject is None:
        raise unauthorized("TOKEN_MISSING", "Thiếu mã xác thực. Vui lòng đăng nhập để tiếp tục.")
    return json_response(change_password(_svc(), caller, _body()), headers={"Cache-Control": "no-store"})


@bp.route("/v1/citizens/me/phone", methods=["POST"], content_types=_CT)
@endpoint(bp)
def me_phone():
    from chalicelib.accounts.services.citizens import change_phone, require_citizen

    caller = _caller()
    require_citizen(caller)
    return json_response(change_phone(_svc(), caller, _body()))


@bp.route("/v1/citizens/me/transactions", methods=["GET"])
@endpoint(bp)
def me_transactions():
    from chalicelib.accounts.services.citizens import transactions

    query = bp.current_request.query_params or {}
    return json_response(transactions(_svc(), _caller(), query.get("limit"), query.get("cursor")))


@bp.route("/v1/citizens/me/bank-links", methods=["GET"])
@endpoint(bp)
def me_bank_link():
    from chalicelib.accounts.services.bank_links import current_link

    return json_response(current_link(_svc(), _caller()))


@bp.route("/v1/citizens/me/bank-links", methods=["POST"], content_types=_CT)
@endpoint(bp)
def me_bank_link_start():
    from chalicelib.accounts.services.bank_links import start_link
    from chalicelib.accounts.services.citizens import require_citizen

    caller = _caller()
    require_citizen(caller)
    return json_response(start_link(_svc(), caller, _body()), 202)


@bp.route("/v1/citizens/me/bank-links/confirm", methods=["POST"], content_types=_CT)
@endpoint(bp)
def me_bank_link_confirm():
    from chalicelib.accounts.services.bank_links import confirm_link
    from chalicelib.accounts.services.citizens import require_citizen

    caller = _caller()
    require_citizen(caller)
    return json_response(confirm_link(_svc(), caller, _body()), 201)


@bp.route("/v1/citizens/me/bank-links", methods=["DELETE"])
@endpoint(bp)
def me_bank_unlink():
    from chalicelib.accounts.services.bank_links import unlink

    unlink(_svc(), _caller())
    return Response(b"", status_code=204)


# --- OpenAPI -------------------------------------------------------------------------------------------------------

def openapi_ops():
    from chalicelib.api.openapi import _BODY_ERRORS, _TOKEN_ERRORS, Ok, Op, _errors

    def obj(description: str, *props: str) -> Ok:
        return Ok(description, schema={"type": "object", "properties": {p: {} for p in props}})

    too_many = {429: ("OTP_LOCKED", "OTP_RESEND_TOO_SOON", "OTP_HOURLY_LIMIT", "OTP_DAILY_LIMIT")}
    creator = {403: ("CREATE_RIGHT_MISSING", "UNIT_NOT_ONE_STOP", "UNIT_FORBIDDEN")}
    admin = {403: ("UNIT_OUT_OF_SCOPE",)}
    me_ = {403: ("PASSWORD_CHANGE_REQUIRED",), 404: ("ACCOUNT_NOT_FOUND",)}
    token = {422: ("VERIFICATION_TOKEN_INVALID",)}
    links = {409: ("BANK_LINK_EXISTS",), 422: ("BANK_LINK_NOT_SUPPORTED", "TAX_CODE_REQUIRED",
                                              "BANK_ACCOUNT_NOT_FOUND", "BANK_ID_NUMBER_MISMATCH",
                                              "BANK_PHONE_MISMATCH"), 502: ("BANK_UNAVAILABLE",)}
    user_id = {"user_id": "The officer's subject at the identity provider."}
    pdf = Ok("The request form (PDF).", content_type="application/pdf",
             schema={"type": "string", "contentMediaType": "application/pdf"})
    return {
        ("POST", "/v1/otp"): Op(
            "Send a 6-digit OTP by SMS", "otp",
            "Valid 120 s; a resend replaces the previous code; single use. account_creation: an officer with the "
            "right (subject = the citizen's ID number); bank_link: the citizen, to their account phone (subject "
            "from POST /v1/citizens/me/bank-links); phone_change: the citizen, to the new phone (subject = their "
            "account id). Limits answer 429 with Retry-After.",
            request="chalicelib.accounts.services.otp_requests:OtpIn", ok={202: obj("Sent.", "purpose", "phone_masked", "expires_in_s")},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, creator, too_many,
                           {403: ("OTP_SUBJECT_FORBIDDEN", "PASSWORD_CHANGE_REQUIRED"),
                            422: ("OTP_PHONE_NOT_ACCOUNT_PHONE", "PHONE_UNCHANGED")}),
            auth="bearer"),
        ("POST", "/v1/otp/verify"): Op(
            "Verify an OTP and receive a single-use verification token", "otp",
            "Attempts are counted per (phone, purpose, subject) across resends; 5 wrong attempts lock it for "
            "15 minutes. The token (valid 10 minutes, single use) is bound to phone, purpose and subject.",
            request="chalicelib.accounts.services.otp_requests:OtpVerifyIn", ok={200: obj("Verified.", "verification_token", "expires_in_s")},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS,
                           {403: ("OTP_SUBJECT_FORBIDDEN",), 404: ("OTP_NOT_FOUND",), 409: ("OTP_USED",),
                            422: ("OTP_INVALID", "OTP_EXPIRED"), 429: ("OTP_LOCKED",)}),
            auth="bearer"),
        ("POST", "/v1/admin/units"): Op(
            "Create a unit (agency identification code and name)", "admin",
            request="chalicelib.accounts.services.officers:UnitIn", ok={201: obj("The unit.", "code", "name", "one_stop")},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, admin, {409: ("UNIT_EXISTS",)}), auth="bearer"),
        ("GET", "/v1/admin/units"): Op(
            "List the units the administrator manages", "admin", ok={200: obj("Units.", "items")},
            errors=_errors(_TOKEN_ERRORS), auth="bearer"),
        ("POST", "/v1/admin/users"): Op(
            "Register an officer user (issuer portal or vnpost)", "admin",
            request="chalicelib.accounts.services.officers:OfficerUserIn", ok={201: obj("The user.", "user_id", "units", "rights")},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, {409: ("USER_EXISTS",)}), auth="bearer"),
        ("POST", "/v1/admin/users/search"): Op(
            "Search users by name, phone, ID / tax code, unit, status, not assigned", "admin",
            request="chalicelib.accounts.services.officers:UserSearchIn", ok={200: obj("Matching users.", "items", "truncated")},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS), auth="bearer"),
        ("POST", "/v1/admin/users/{user_id}/units"): Op(
            "Assign a unit to a user (audited)", "admin", request="chalicelib.accounts.services.officers:UnitAssignIn",
            ok={200: obj("The user.", "units")},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, admin,
                           {404: ("USER_NOT_FOUND", "UNIT_NOT_FOUND"), 409: ("USER_CHANGED",)}),
            auth="bearer", path_params=user_id),
        ("DELETE", "/v1/admin/users/{user_id}/units/{unit_code}"): Op(
            "Remove a unit from a user (audited; the right goes with the last one-stop unit)", "admin",
            ok={200: obj("The user.", "units", "rights")},
            errors=_errors(_TOKEN_ERRORS, admin, {404: ("USER_NOT_FOUND", "UNIT_NOT_ASSIGNED"),
                                                  409: ("USER_CHANGED",), 422: ("VALIDATION_FAILED",)}),
            auth="bearer", path_params={**user_id, "unit_code": "Agency identification code."}),
        ("PUT", RIGHT): Op(
            "Grant a right (create_citizen_accounts: Quyền tạo tài khoản công dân; audited)", "admin",
            "Only to an officer assigned to a unit whose name contains \"Trung tâm phục vụ hành chính công\" or "
            "\"Bộ phận một cửa\" (any case or Unicode normalisation); never to an account issued by Vietnam Post.",
            ok={200: obj("The user.", "rights")},
            errors=_errors(_TOKEN_ERRORS, {403: ("VNPOST_ACCOUNT_NOT_ELIGIBLE", "USER_NOT_ACTIVE"),
                                           404: ("USER_NOT_FOUND", "RIGHT_UNKNOWN"), 409: ("USER_CHANGED",),
                                           422: ("UNIT_NOT_ONE_STOP",)}),
            auth="bearer", path_params={**user_id, "right": "create_citizen_accounts"}),
        ("DELETE", RIGHT): Op(
            "Revoke a right (audited)", "admin", ok={200: obj("The user.", "rights")},
            errors=_errors(_TOKEN_ERRORS, {404: ("USER_NOT_FOUND", "RIGHT_UNKNOWN"), 409: ("USER_CHANGED",)}),
            auth="bearer", path_params={**user_id, "right": "create_citizen_accounts"}),
        ("GET", "/v1/admin/users/{user_id}/audit"): Op(
            "Audit trail of a user's units and rights (who, when, what)", "admin",
            ok={200: obj("Entries.", "items")}, errors=_errors(_TOKEN_ERRORS, {404: ("USER_NOT_FOUND",)}),
            auth="bearer", path_params=user_id),
        ("POST", "/v1/officers/citizen-accounts/search"): Op(
            "Does an account with this ID number exist?", "officers", request="chalicelib.accounts.services.citizen_accounts:IdNumberIn",
            ok={200: obj("Whether it exists.", "exists", "message")},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, creator), auth="bearer"),
        ("POST", "/v1/officers/citizen-accounts/request-form"): Op(
            "The account request form for the citizen to check (PDF)", "officers",
            request="chalicelib.accounts.services.citizen_accounts:CitizenDataIn", ok={200: pdf},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, creator), auth="bearer"),
        ("POST", "/v1/officers/citizen-accounts/scans"): Op(
            "Get a presigned S3 POST for the ID-card scan (pdf/doc/docx, at most 5 MB)", "officers",
            "The file goes straight to S3 (a 5 MB file would exceed Lambda's 6 MB payload limit once base64 "
            "encoded). Its bytes are checked at creation.",
            request="chalicelib.accounts.services.citizen_accounts:ScanUploadIn",
            ok={201: obj("Where to POST the file.", "scan_id", "upload", "max_bytes", "expires_in_s")},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, creator), auth="bearer"),
        ("POST", "/v1/officers/citizen-accounts"): Op(
            "Create a citizen account (temporary password by SMS)", "officers",
            request="chalicelib.accounts.services.citizen_accounts:CitizenAccountIn", ok={201: obj("The account.", "account_id")},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, creator, token,
                           {409: ("ACCOUNT_ALREADY_EXISTS",), 413: ("SCAN_TOO_LARGE",),
                            422: ("SCAN_NOT_FOUND", "SCAN_CONTENT_INVALID")}),
            auth="bearer"),
        ("POST", "/v1/officers/citizen-accounts/query"): Op(
            "Accounts created in the officer's units (name, phone, ID, officer, unit, dates)", "officers",
            request="chalicelib.accounts.services.citizen_accounts:AccountQueryIn", ok={200: obj("Accounts.", "items", "truncated")},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, creator), auth="bearer"),
        ("POST", "/v1/auth/sign-in"): Op(
            "Sign in with ID number and password", "citizens",
            "While the temporary password is unchanged, the token only allows POST /v1/citizens/me/password.",
            request="chalicelib.accounts.services.citizens:SignInIn",
            ok={200: obj("A bearer token.", "access_token", "token_type", "expires_in", "must_change_password")},
            errors=_errors(_BODY_ERRORS, {401: ("SIGN_IN_FAILED",), 429: ("SIGN_IN_LOCKED",)})),
        ("GET", "/v1/citizens/me"): Op(
            "The signed-in citizen's profile", "citizens", ok={200: obj("Profile.", "account_id", "bank_link")},
            errors=_errors(_TOKEN_ERRORS, me_), auth="bearer"),
        ("PATCH", "/v1/citizens/me"): Op(
            "Update email and tax code", "citizens", request="chalicelib.accounts.services.citizens:ProfileIn",
            ok={200: obj("Profile.", "account_id")},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, me_, {409: ("ACCOUNT_CHANGED",)}), auth="bearer"),
        ("POST", "/v1/citizens/me/password"): Op(
            "Change the password (required after the first sign-in)", "citizens",
            request="chalicelib.accounts.services.citizens:PasswordChangeIn",
            ok={200: obj("A new citizen token.", "access_token", "must_change_password")},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, {404: ("ACCOUNT_NOT_FOUND",), 409: ("ACCOUNT_CHANGED",),
                                                         422: ("CURRENT_PASSWORD_WRONG",)}),
            auth="bearer"),
        ("POST", "/v1/citizens/me/phone"): Op(
            "Change the phone (OTP to the new phone)", "citizens", request="chalicelib.accounts.services.citizens:PhoneChangeIn",
            ok={200: obj("Profile.", "phone")},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, me_, token,
                           {409: ("ACCOUNT_CHANGED",), 422: ("PHONE_UNCHANGED",)}), auth="bearer"),
        ("GET", "/v1/citizens/me/transactions"): Op(
            "The citizen's payments with states and receipts (newest first, paginated)", "citizens",
            ok={200: obj("A page.", "items", "next_cursor")},
            errors=_errors(_TOKEN_ERRORS, {403: ("PASSWORD_CHANGE_REQUIRED",),
                                           422: ("VALIDATION_FAILED",)}), auth="bearer",
            parameters=({"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}},
                        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}})),
        ("GET", "/v1/citizens/me/bank-links"): Op(
            "The current bank-account link", "citizens", ok={200: obj("The link or null.", "link")},
            errors=_errors(_TOKEN_ERRORS, me_), auth="bearer"),
        ("POST", "/v1/citizens/me/bank-links"): Op(
            "Check the four link conditions and send the confirming OTP", "citizens",
            request="chalicelib.accounts.services.bank_links:BankLinkIn", ok={202: obj("OTP sent.", "status", "otp")},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, me_, links, too_many), auth="bearer"),
        ("POST", "/v1/citizens/me/bank-links/confirm"): Op(
            "Confirm the link with the OTP verification token (one link at a time)", "citizens",
            request="chalicelib.accounts.services.bank_links:BankLinkConfirmIn", ok={201: obj("The link.", "bank_code")},
            errors=_errors(_BODY_ERRORS, _TOKEN_ERRORS, me_, links, token), auth="bearer"),
        ("DELETE", "/v1/citizens/me/bank-links"): Op(
            "Unlink the bank account", "citizens", ok={204: Ok("Unlinked.")},
            errors=_errors(_TOKEN_ERRORS, me_, {404: ("BANK_LINK_NOT_FOUND",)}), auth="bearer"),
    }
