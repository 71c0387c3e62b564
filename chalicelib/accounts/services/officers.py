"""M9 administration: units, officer users, their units and the right "create citizen accounts", with an audit trail.

Who may administer: the portal operator (every unit) and a province administrator (the units of their province:
agency codes whose level-1 part is ``H<province_code>``). Who may hold the right: an officer not issued by Vietnam
Post, assigned to at least one unit whose name contains "Trung tâm phục vụ hành chính công" or "Bộ phận một cửa".
Every change to a user's units or rights is written together with its audit entry (who, when, what), and the user
pool's groups follow the record's roles in the same use case (services.staff): the first unit makes a user an
officer, removing the last one takes the role away; locking or deleting a user disables or deletes the pool user.
"""
from __future__ import annotations

import logging
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from chalicelib.accounts.domain import (
    RIGHT_CREATE_CITIZEN_ACCOUNTS,
    RIGHT_NAMES,
    Issuer,
    is_one_stop_unit,
    kept_tax_code,
)
from chalicelib.accounts.ports import AccountsContext, AuditEntry, Caller, OfficerUser, Unit
from chalicelib.accounts.services import staff
from chalicelib.core import admin_units, codes
from chalicelib.core.errors import AppError, conflict, forbidden, not_found
from chalicelib.core.fields import (
    AgencyCode,
    AgencyCodeOrBlank,
    IdNumber,
    MobilePhone,
    PersonName,
    TaxCode,
    UnitName,
)
from chalicelib.core.names import name_key
from chalicelib.core.parsing import parse
from chalicelib.core.ports import AlreadyExistsError, StaleRecordError

log = logging.getLogger(__name__)

PROVINCE_ADMIN, OPERATOR, OFFICER = "province_admin", "operator", "officer"
RIGHTS = tuple(RIGHT_NAMES)


# --- requests ------------------------------------------------------------------------------------------------------

class UnitIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: AgencyCode = Field(description="Agency identification code (mã định danh), e.g. 000.00.15.H35.")
    name: UnitName = Field(min_length=1, max_length=150)


class OfficerUserIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    user_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$",
                         description="The staff user name to create in the user pool (compared lower-cased; never "
                         "an ID number). A temporary password goes to `phone` by SMS.")
    full_name: PersonName = Field(min_length=1, max_length=150)
    phone: MobilePhone
    id_number: IdNumber
    issuer: Issuer = Field(description="Who issued the account: `portal` or `vnpost` (Vietnam Post; such accounts "
                           "can never receive officer rights).")
    tax_code: TaxCode | None = Field(default=None, description="10/13-digit tax code, or a 12-digit personal number "
                                     "(kept only as its keyed hash and last three digits, answered masked).")

    @field_validator("user_id")
    @classmethod
    def _user_id(cls, v: str) -> str:
        return staff.normalise_user_id(v)


class UserStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["active", "locked"]


class UserSearchIn(BaseModel):
    """All filters are optional and combine with AND. Sent in a body so ID numbers never sit in a URL."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, max_length=150, description="Part of the name, any case/normalisation.")
    phone: MobilePhone | None = None
    id_or_tax_code: str | None = Field(default=None, max_length=20, description="ID number or tax code (exact; a 12-digit "
                                  "one matches the ID number or the personal tax code, by its keyed hash).")
    unit_code: AgencyCodeOrBlank | None = None
    status: Literal["active", "locked"] | None = None
    unassigned: StrictBool | None = Field(default=None, description="true: only users assigned to no unit.")


class UnitAssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    unit_code: AgencyCode


# --- who may administer what ---------------------------------------------------------------------------------------

def require_admin(caller: Caller) -> None:
    if caller.subject is None:
        from chalicelib.core.errors import unauthorized

        raise unauthorized("TOKEN_MISSING", "Thiếu mã xác thực. Vui lòng đăng nhập để tiếp tục.")
    if not (caller.has(OPERATOR) or caller.has(PROVINCE_ADMIN)):
        raise forbidden("ROLE_FORBIDDEN", "Chức năng này chỉ dành cho quản trị viên.")


def may_manage_unit(caller: Caller, unit_code: str) -> bool:
    if caller.has(OPERATOR):
        return True
    if not caller.has(PROVINCE_ADMIN) or not caller.province_code:
        return False
    # The authoritative province table decides (agency code <-> statistics code, closed pre-2025 codes mapped to
    # their successor): never a string comparison of the caller's province with the unit code's level-1 part.
    return admin_units.same_province(caller.province_code, unit_code)


def _check_unit_scope(caller: Caller, unit_code: str) -> None:
    if not may_manage_unit(caller, unit_code):
        raise forbidden("UNIT_OUT_OF_SCOPE", "Đơn vị này không thuộc phạm vi quản trị của bạn.")


def _may_see_user(caller: Caller, user: OfficerUser) -> bool:
    # A province administrator sees the officers of their units, and users not yet assigned anywhere (to assign
    # them); never another administrator or an operator.
    if caller.has(OPERATOR):
        return True
    if set(user.roles) - {OFFICER} or user.status == "deleted":
        return False
    return not user.units or any(may_manage_unit(caller, u) for u in user.units)


# --- views ---------------------------------------------------------------------------------------------------------

def unit_view(unit: Unit) -> dict:
    return {"code": unit.code, "name": unit.name, "one_stop": is_one_stop_unit(unit.name), "created_at": unit.created_at}


def user_view(user: OfficerUser) -> dict:
    return {
        "user_id": user.user_id, "full_name": user.full_name, "phone": user.phone,
        "id_number_masked": "*********" + user.id_last3, "tax_code": user.tax_code_masked,
        "issuer": user.issuer, "status": user.status, "units": list(user.units), "rights": list(user.rights),
        "roles": list(user.roles), "province_agency": user.province_agency, "created_at": user.created_at,
    }


def audit_view(entry: AuditEntry) -> dict:
    return {"at": entry.at, "actor": entry.actor, "action": entry.action, "detail": entry.detail}


# --- units ---------------------------------------------------------------------------------------------------------

def create_unit(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    require_admin(caller)
    req = parse(UnitIn, body)
    _check_unit_scope(caller, req.code)
    unit = Unit(req.code, req.name, svc.clock.now().isoformat())
    try:
        svc.directory.create_unit(unit)
    except AlreadyExistsError:
        raise conflict("UNIT_EXISTS", "Mã định danh đơn vị này đã tồn tại.") from None
    return unit_view(unit)


def list_units(svc: AccountsContext, caller: Caller) -> dict:
    require_admin(caller)
    return {"items": [unit_view(u) for u in svc.directory.list_units() if may_manage_unit(caller, u.code)]}


# --- users ---------------------------------------------------------------------------------------------------------

def register_user(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    """Create a staff user (pool user and record) so units and rights can be given; no role until the first unit."""
    require_admin(caller)
    return user_view(register_staff(svc, caller.subject or "", body))


def _current_province_code(agency: str) -> bool:
    """One of today's 34 provinces' own level-1 code (not a closed pre-2025 one, not an unknown one)."""
    province = admin_units.province_of(agency)
    return province is not None and f"000.00.00.{province.agency_code}" == agency


def register_staff(svc: AccountsContext, actor: str, body: dict, roles: tuple[str, ...] = (),
                   province_agency: str | None = None) -> OfficerUser:
    """Also how operations create operators and province administrators (called with the deployment's IAM rights,
    e.g. from a one-off script; no API creates an administrator) and how the local stack seeds its demo users."""
    req = parse(OfficerUserIn, body)
    if set(roles) - set(staff.STAFF_ROLES) or (staff.PROVINCE_ADMIN in roles) != bool(province_agency) \
            or (province_agency and not staff.PROVINCE_AGENCY.fullmatch(province_agency)) \
            or (province_agency and not _current_province_code(province_agency)):
        raise ValueError("roles must be staff roles; a province administrator needs a current province's agency code")
    user = OfficerUser(
        user_id=req.user_id, full_name=req.full_name, phone=req.phone, id_hash=svc.keys.id_hash(req.id_number),
        id_last3=req.id_number[-3:], issuer=req.issuer.value, status="active", created_at=svc.clock.now().isoformat(),
        roles=tuple(sorted(roles)), province_agency=province_agency,
        # a personal (12-digit) tax code as its hash and last digits only: nothing needs a staff user's in full
        **{k: v for k, v in kept_tax_code(req.tax_code, svc.keys.id_hash).items() if k != "tax_code_sealed"},
    )
    try:
        return staff.register(svc, actor, user)
    except AlreadyExistsError:
        raise conflict("USER_EXISTS", "Người dùng này đã được đăng ký.") from None


def search_users(svc: AccountsContext, caller: Caller, body: dict) -> dict:
    require_admin(caller)
    req = parse(UserSearchIn, body)
    wanted_name = name_key(req.name) if req.name else None
    id_hash, tax = _id_or_tax(svc, req.id_or_tax_code)
    unit = codes.validate_agency_code(req.unit_code) if req.unit_code else None
    found = []
    for user in svc.directory.list_users():
        if not _may_see_user(caller, user):
            continue
        if wanted_name and wanted_name not in name_key(user.full_name):
            continue
        if req.phone and user.phone != req.phone:
            continue
        if (id_hash or tax) and not ((id_hash is not None and id_hash in (user.id_hash, user.tax_code_hash))
                                     or (tax is not None and user.tax_code == tax)):
            continue
        if unit and unit not in user.units:
            continue
        if req.status and user.status != req.status:
            continue
        if req.unassigned is not None and (not user.units) != req.unassigned:
            continue
        found.append(user_view(user))
    found.sort(key=lambda u: (name_key(u["full_name"]), u["user_id"]))
    return {"items": found[:200], "truncated": len(found) > 200}


def _id_or_tax(svc: AccountsContext, raw: str | None) -> tuple[str | None, str | None]:
    if not raw:
        return None, None
    digits = "".join(ch for ch in raw if ch.isdigit())
    id_hash = svc.keys.id_hash(digits) if len(digits) in (9, 12) else None
    tax = raw.replace(" ", "") if len(digits) in (10, 13) else None
    if tax and len(digits) == 13 and "-" not in tax:
        tax = f"{digits[:10]}-{digits[10:]}"
    return id_hash, tax


def _load_user(svc: AccountsContext, caller: Caller, user_id: str) -> OfficerUser:
    user = svc.directory.get_user(user_id)
    if user is None or not _may_see_user(caller, user):
        raise not_found("USER_NOT_FOUND", "Không tìm thấy người dùng.")
    return user


def _save(svc: AccountsContext, caller: Caller, before: OfficerUser, after: OfficerUser, action: str,
          detail: dict) -> dict:
    audit = AuditEntry(after.user_id, svc.clock.now().isoformat(), caller.subject or "", action, detail)
    try:
        svc.directory.update_user(after, before.rev, audit)
    except StaleRecordError:
        raise conflict("USER_CHANGED", "Thông tin người dùng vừa được thay đổi, vui lòng tải lại và thử lại.") from None
    log.info("officer changed", extra={"action": action, "user_id": after.user_id})
    if after.roles != before.roles:
        staff.sync_groups(svc, after)
    return user_view(after)


def assign_unit(svc: AccountsContext, caller: Caller, user_id: str, body: dict) -> dict:
    require_admin(caller)
    code = parse(UnitAssignIn, body).unit_code
    _check_unit_scope(caller, code)
    user = _load_user(svc, caller, user_id)
    if svc.directory.get_unit(code) is None:
        raise not_found("UNIT_NOT_FOUND", "Không tìm thấy đơn vị.")
    if code in user.units:
        staff.sync_groups(svc, user)  # a retry after a failed group call repairs the groups
        return user_view(user)
    units = (*user.units, code)
    after = _replace(user, units=units, roles=staff.roles_with_units(user.roles, units))
    return _save(svc, caller, user, after, "ASSIGN_UNIT", {"unit_code": code})


def remove_unit(svc: AccountsContext, caller: Caller, user_id: str, unit_code: str) -> dict:
    require_admin(caller)
    code = codes.validate_agency_code(unit_code)
    _check_unit_scope(caller, code)
    user = _load_user(svc, caller, user_id)
    if code not in user.units:
        raise not_found("UNIT_NOT_ASSIGNED", "Người dùng không được phân công vào đơn vị này.")
    units = tuple(u for u in user.units if u != code)
    rights = user.rights
    detail: dict = {"unit_code": code}
    # The right exists only through a one-stop unit: losing the last one takes the right away (audited as such).
    if RIGHT_CREATE_CITIZEN_ACCOUNTS in rights and not _one_stop_units(svc, units):
        rights = tuple(r for r in rights if r != RIGHT_CREATE_CITIZEN_ACCOUNTS)
        detail["revoked_right"] = RIGHT_CREATE_CITIZEN_ACCOUNTS
    after = _replace(user, units=units, rights=rights, roles=staff.roles_with_units(user.roles, units))
    return _save(svc, caller, user, after, "REMOVE_UNIT", detail)


def _one_stop_units(svc: AccountsContext, unit_codes: tuple[str, ...]) -> list[Unit]:
    if not unit_codes:
        return []
    units = svc.directory.get_units(unit_codes)
    return [u for u in units.values() if is_one_stop_unit(u.name)]


def grant_right(svc: AccountsContext, caller: Caller, user_id: str, right: str) -> dict:
    require_admin(caller)
    _known_right(right)
    user = _load_user(svc, caller, user_id)
    if user.issuer == Issuer.VNPOST.value:
        raise forbidden("VNPOST_ACCOUNT_NOT_ELIGIBLE",
                        "Tài khoản do Bưu điện Việt Nam cấp không được cấp quyền cán bộ.")
    if user.status != "active":
        raise forbidden("USER_NOT_ACTIVE", "Tài khoản người dùng đang bị khóa.")
    eligible = [u for u in _one_stop_units(svc, user.units) if may_manage_unit(caller, u.code)]
    if not eligible:
        raise AppError("UNIT_NOT_ONE_STOP",
                       "Chỉ cấp quyền tạo tài khoản công dân cho cán bộ thuộc đơn vị có tên chứa \"Trung tâm phục "
                       "vụ hành chính công\" hoặc \"Bộ phận một cửa\".", 422, "Không đủ điều kiện")
    if right in user.rights:
        staff.sync_groups(svc, user)
        return user_view(user)
    after = _replace(user, rights=(*user.rights, right), roles=staff.roles_with_units(user.roles, user.units))
    view = _save(svc, caller, user, after, "GRANT_RIGHT", {"right": right, "units": [u.code for u in eligible]})
    staff.sync_groups(svc, after)  # the holder of the right is an officer in the pool too (repairs a lost group)
    return view


def revoke_right(svc: AccountsContext, caller: Caller, user_id: str, right: str) -> dict:
    require_admin(caller)
    _known_right(right)
    user = _load_user(svc, caller, user_id)
    if right not in user.rights:
        return user_view(user)
    rights = tuple(r for r in user.rights if r != right)
    return _save(svc, caller, user, _replace(user, rights=rights), "REVOKE_RIGHT", {"right": right})


def set_status(svc: AccountsContext, caller: Caller, user_id: str, body: dict) -> dict:
    """Lock (the pool user disabled and signed out; every token refused at once) or unlock a staff user."""
    require_admin(caller)
    status = parse(UserStatusIn, body).status
    user = _load_user(svc, caller, user_id)
    if user.status != status:
        view = _save(svc, caller, user, _replace(user, status=status), "LOCK_USER" if status == "locked"
                     else "UNLOCK_USER", {})
        user = _replace(user, status=status)
    else:
        view = user_view(user)
    staff.apply_status(svc, user)
    staff.sync_groups(svc, user)
    return view


def delete_user(svc: AccountsContext, caller: Caller, user_id: str) -> None:
    """The pool user is deleted; the record stays as "deleted" (the audit trail keeps its subject), so the user
    name is never given to someone else."""
    require_admin(caller)
    user = _load_user(svc, caller, user_id)
    after = _replace(user, status="deleted", rights=())
    _save(svc, caller, user, after, "DELETE_USER", {})
    staff.apply_status(svc, after)


def user_audit(svc: AccountsContext, caller: Caller, user_id: str) -> dict:
    require_admin(caller)
    _load_user(svc, caller, user_id)
    return {"items": [audit_view(e) for e in svc.directory.list_audit(user_id)]}


def _known_right(right: str) -> None:
    if right not in RIGHTS:
        raise not_found("RIGHT_UNKNOWN", "Quyền không tồn tại.")


def _replace(user: OfficerUser, **changes) -> OfficerUser:
    from dataclasses import replace

    return replace(user, rev=user.rev + 1, **changes)


# --- the officer side: may this caller create citizen accounts, and for which units? -------------------------------

def creator_units(svc: AccountsContext, caller: Caller, unit_code: str | None = None) -> tuple[OfficerUser, list[Unit]]:
    """The officer and their one-stop units, if they may create citizen accounts (for ``unit_code`` if given).

    Decided on stored data (the right and the assignments an administrator gave), not on token claims, so a
    revocation takes effect at once.
    """
    if caller.subject is None:
        from chalicelib.core.errors import unauthorized

        raise unauthorized("TOKEN_MISSING", "Thiếu mã xác thực. Vui lòng đăng nhập để tiếp tục.")
    if not caller.has(OFFICER):
        raise forbidden("ROLE_FORBIDDEN", "Chức năng này chỉ dành cho cán bộ một cửa.")
    user = svc.directory.get_user(caller.subject)
    if user is None or user.status != "active" or user.issuer == Issuer.VNPOST.value \
            or RIGHT_CREATE_CITIZEN_ACCOUNTS not in user.rights:
        raise forbidden("CREATE_RIGHT_MISSING", "Bạn chưa được cấp Quyền tạo tài khoản công dân.")
    units = _one_stop_units(svc, user.units)
    if not units:
        raise forbidden("UNIT_NOT_ONE_STOP", "Bạn không thuộc đơn vị một cửa nào nên không thể tạo tài khoản.")
    if unit_code is not None and unit_code not in {u.code for u in units}:
        raise forbidden("UNIT_FORBIDDEN", "Bạn chỉ được thao tác với tài khoản của đơn vị mình được phân công.")
    return user, sorted(units, key=lambda u: u.code)
