"""Staff users (officers, province administrators, operators) in the user pool and the directory together.

The directory record is the authority: it holds the roles (an officer from their first unit on; a province
administrator with their province's level-1 agency code; an operator), units and rights, and every staff request is
checked against it (services.sessions). The pool's groups follow the record's roles so that the staff client's
tokens carry them: :func:`sync_groups` runs after every change of the record and makes the groups exactly the
record's roles (idempotent, so a retry after a failed group call repairs it). Registration creates the pool user
with a temporary password that the portal sends by SMS (the pool sends nothing); the first sign-in answers the
new-password challenge.
"""
from __future__ import annotations

import logging
import re
from typing import Iterable

from chalicelib.accounts.domain import temporary_password
from chalicelib.accounts.ports import AccountsContext, AuditEntry, OfficerUser
from chalicelib.accounts.services.pool_users import create_pool_user, discard_pool_user
from chalicelib.core.ports import AlreadyExistsError
from chalicelib.identity import ports as pool
from chalicelib.outbox import domain as outbox

log = logging.getLogger(__name__)

OFFICER, PROVINCE_ADMIN, OPERATOR = "officer", "province_admin", "operator"
STAFF_ROLES = (OFFICER, PROVINCE_ADMIN, OPERATOR)
PROVINCE_AGENCY = re.compile(r"^000\.00\.00\.H[0-9]{2}$")
_LOOKS_LIKE_ID_NUMBER = re.compile(r"^(?:[0-9]{9}|[0-9]{12})$")


def normalise_user_id(raw: str) -> str:
    """Staff user names are compared lower-cased (the pool's are case-insensitive) and are never an ID number (a
    user name is not secret: it is shown to administrators and in audit trails)."""
    user_id = raw.strip().lower()
    if _LOOKS_LIKE_ID_NUMBER.fullmatch(user_id):
        from chalicelib.core.validation import InvalidValueError

        raise InvalidValueError("USER_ID_IS_ID_NUMBER", "Tên đăng nhập không được là số định danh cá nhân.")
    return user_id


def register(svc: AccountsContext, actor: str, user: OfficerUser) -> OfficerUser:
    """Create the pool user (groups = the record's roles, temporary password) and the record with the audit entry
    and the SMS; AlreadyExistsError if the user name is taken."""
    password = temporary_password()
    created = create_pool_user(
        svc, user.user_id, lambda: svc.users.create_staff(user.user_id, password, list(user.roles), user.phone),
        lambda: svc.directory.get_user(user.user_id) is not None)
    from dataclasses import replace

    user = replace(user, sub=created.sub)
    audit = AuditEntry(user.user_id, user.created_at, actor, "REGISTER_USER",
                       {"issuer": user.issuer, "roles": list(user.roles), "province": user.province_agency})
    hours = svc.settings.sign_in.temporary_password_ttl_s // 3600
    sms = outbox.sms(user.phone, (
        "Tài khoản cán bộ của bạn trên Cổng Dịch vụ công quốc gia (thanh toán nghĩa vụ tài chính đất đai) đã được "
        f"tạo. Tên đăng nhập: {user.user_id} . Mật khẩu tạm thời: {password} (có hiệu lực {hours} giờ). Bạn phải "
        "đổi mật khẩu khi đăng nhập lần đầu."))
    try:
        svc.directory.create_user(user, audit, [sms])
    except AlreadyExistsError:
        discard_pool_user(svc, user.user_id)
        raise
    log.info("staff user registered", extra={"user_id": user.user_id, "roles": list(user.roles)})
    return user


def roles_with_units(roles: Iterable[str], units: tuple[str, ...]) -> tuple[str, ...]:
    """An officer is a staff user with at least one unit: the role comes with the first unit and goes with the
    last one; other roles stay."""
    kept = [r for r in roles if r != OFFICER]
    return tuple(sorted({*kept, OFFICER} if units else set(kept)))


def sync_groups(svc: AccountsContext, user: OfficerUser) -> None:
    """Make the pool's groups of ``user`` exactly the record's roles (a locked or deleted user keeps none)."""
    from chalicelib.accounts.services.sign_in import unavailable

    wanted = set(user.roles) if user.status == "active" else set()
    try:
        current = {g for g in svc.users.groups_of(user.user_id) if g in STAFF_ROLES}
        for group in sorted(wanted - current):
            svc.users.add_to_group(user.user_id, group)
        for group in sorted(current - wanted):
            svc.users.remove_from_group(user.user_id, group)
    except pool.UserNotFound:
        log.warning("staff user without a pool user", extra={"user_id": user.user_id})
    except pool.DirectoryError:
        raise unavailable() from None


def apply_status(svc: AccountsContext, user: OfficerUser) -> None:
    """The pool follows the record's status: locked -> disabled (and signed out), deleted -> gone, active ->
    enabled. The directory check refuses the user's tokens at once either way."""
    from chalicelib.accounts.services.sign_in import unavailable

    try:
        if user.status == "deleted":
            svc.users.delete(user.user_id)
        elif user.status == "locked":
            svc.users.disable(user.user_id)
        else:
            svc.users.enable(user.user_id)
    except pool.UserNotFound:
        log.warning("staff user without a pool user", extra={"user_id": user.user_id})
    except pool.DirectoryError:
        raise unavailable() from None
