"""Administration routes (M9): units, officer users, their units and the right "create citizen accounts", audited.
Operators administer every unit, province administrators the units of their province."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.accounts.routes import caller
from chalicelib.accounts.schemas import AuditList, UnitList, UnitView, UserList, UserView
from chalicelib.accounts.services.officers import OfficerUserIn, UnitAssignIn, UnitIn, UserSearchIn, UserStatusIn
from chalicelib.api.routing import Call, Ok, Param, Reply, bearer, route

bp = Blueprint(__name__)
ADMIN = bearer("operator", "province_admin")
SCOPE = {403: ("UNIT_OUT_OF_SCOPE",)}
POOL = {503: ("IDENTITY_UNAVAILABLE",)}  # the user pool's groups or user follow the record in the same call
USER_ID = Param("user_id", description="The staff user name.",
                schema={"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[A-Za-z0-9._:@-]+$"})
UNIT_CODE = Param("unit_code", description="Agency identification code (mã định danh).",
                  schema={"type": "string", "maxLength": 35,
                          "pattern": r"^[0-9A-Z]+\.[0-9A-Z]+\.[0-9A-Z]+\.[A-Z][0-9]{2}$"})
RIGHT = Param("right", description="create_citizen_accounts (Quyền tạo tài khoản công dân).",
              schema={"type": "string", "enum": ["create_citizen_accounts"]})
RIGHT_PATH = "/v1/admin/users/{user_id}/rights/{right}"


@route(bp, "POST", "/v1/admin/units", tag="admin", access=ADMIN, request=UnitIn,
       summary="Create a unit (agency identification code and name)", ok={201: Ok("The unit.", UnitView)},
       problems={**SCOPE, 409: ("UNIT_EXISTS",)})
def admin_create_unit(call: Call):
    from chalicelib.accounts.services.officers import create_unit

    return Reply(create_unit(call.ctx, caller(call), call.body()), 201)


@route(bp, "GET", "/v1/admin/units", tag="admin", access=ADMIN, summary="List the units the administrator manages",
       ok={200: Ok("Units.", UnitList)})
def admin_list_units(call: Call):
    from chalicelib.accounts.services.officers import list_units

    return list_units(call.ctx, caller(call))


@route(bp, "POST", "/v1/admin/users", tag="admin", access=ADMIN, request=OfficerUserIn,
       summary="Create a staff user (issuer portal or vnpost); the temporary password goes by SMS",
       description="The user pool user is created with a temporary password (valid 72 hours) that the portal sends "
       "to `phone`; the first staff sign-in answers the new-password challenge. No role until the first unit.",
       ok={201: Ok("The user.", UserView)}, problems={409: ("USER_EXISTS",), **POOL})
def admin_register_user(call: Call):
    from chalicelib.accounts.services.officers import register_user

    return Reply(register_user(call.ctx, caller(call), call.body()), 201)


@route(bp, "POST", "/v1/admin/users/search", tag="admin", access=ADMIN, request=UserSearchIn,
       summary="Search users by name, phone, ID / tax code, unit, status, not assigned",
       ok={200: Ok("Matching users.", UserList)})
def admin_search_users(call: Call):
    from chalicelib.accounts.services.officers import search_users

    return search_users(call.ctx, caller(call), call.body())


@route(bp, "POST", "/v1/admin/users/{user_id}/units", tag="admin", access=ADMIN, request=UnitAssignIn,
       params=(USER_ID,), summary="Assign a unit to a user (audited; the first unit makes them an officer)",
       ok={200: Ok("The user.", UserView)},
       problems={**SCOPE, 404: ("USER_NOT_FOUND", "UNIT_NOT_FOUND"), 409: ("USER_CHANGED",), **POOL})
def admin_assign_unit(call: Call):
    from chalicelib.accounts.services.officers import assign_unit

    return assign_unit(call.ctx, caller(call), call.path["user_id"], call.body())


@route(bp, "DELETE", "/v1/admin/users/{user_id}/units/{unit_code}", tag="admin", access=ADMIN,
       params=(USER_ID, UNIT_CODE), ok={200: Ok("The user.", UserView)},
       summary="Remove a unit from a user (audited; the right goes with the last one-stop unit)",
       problems={**SCOPE, 404: ("USER_NOT_FOUND", "UNIT_NOT_ASSIGNED"), 409: ("USER_CHANGED",),
                 422: ("VALIDATION_FAILED",), **POOL})
def admin_remove_unit(call: Call):
    from chalicelib.accounts.services.officers import remove_unit

    return remove_unit(call.ctx, caller(call), call.path["user_id"], call.path["unit_code"])


@route(bp, "PUT", RIGHT_PATH, tag="admin", access=ADMIN, params=(USER_ID, RIGHT), ok={200: Ok("The user.", UserView)},
       summary="Grant a right (create_citizen_accounts: Quyền tạo tài khoản công dân; audited)",
       description="Only to an officer assigned to a unit whose name contains \"Trung tâm phục vụ hành chính công\" "
       "or \"Bộ phận một cửa\" (any case or Unicode normalisation); never to an account issued by Vietnam Post. "
       "No request body.",
       problems={403: ("VNPOST_ACCOUNT_NOT_ELIGIBLE", "USER_NOT_ACTIVE"), 404: ("USER_NOT_FOUND", "RIGHT_UNKNOWN"),
                 409: ("USER_CHANGED",), 422: ("UNIT_NOT_ONE_STOP",)})
def admin_grant_right(call: Call):
    from chalicelib.accounts.services.officers import grant_right

    return grant_right(call.ctx, caller(call), call.path["user_id"], call.path["right"])


@route(bp, "DELETE", RIGHT_PATH, tag="admin", access=ADMIN, params=(USER_ID, RIGHT), summary="Revoke a right (audited)",
       ok={200: Ok("The user.", UserView)}, problems={404: ("USER_NOT_FOUND", "RIGHT_UNKNOWN"), 409: ("USER_CHANGED",)})
def admin_revoke_right(call: Call):
    from chalicelib.accounts.services.officers import revoke_right

    return revoke_right(call.ctx, caller(call), call.path["user_id"], call.path["right"])


@route(bp, "PUT", "/v1/admin/users/{user_id}/status", tag="admin", access=ADMIN, request=UserStatusIn,
       params=(USER_ID,), summary="Lock or unlock a staff user (audited; a lock refuses every token at once)",
       ok={200: Ok("The user.", UserView)}, problems={404: ("USER_NOT_FOUND",), 409: ("USER_CHANGED",), **POOL})
def admin_user_status(call: Call):
    from chalicelib.accounts.services.officers import set_status

    return set_status(call.ctx, caller(call), call.path["user_id"], call.body())


@route(bp, "DELETE", "/v1/admin/users/{user_id}", tag="admin", access=ADMIN, params=(USER_ID,),
       summary="Delete a staff user (audited; the user pool user goes, the record stays as deleted)",
       ok={204: Ok("Deleted.")}, problems={404: ("USER_NOT_FOUND",), 409: ("USER_CHANGED",), **POOL})
def admin_delete_user(call: Call):
    from chalicelib.accounts.services.officers import delete_user

    delete_user(call.ctx, caller(call), call.path["user_id"])
    return Reply(status=204)


@route(bp, "GET", "/v1/admin/users/{user_id}/audit", tag="admin", access=ADMIN, params=(USER_ID,),
       summary="Audit trail of a user's units and rights (who, when, what)", ok={200: Ok("Entries.", AuditList)},
       problems={404: ("USER_NOT_FOUND",)})
def admin_user_audit(call: Call):
    from chalicelib.accounts.services.officers import user_audit

    return user_audit(call.ctx, caller(call), call.path["user_id"])
