"""Every bearer token, after its signature: does the directory still accept this user, and as whom?

The composition root runs :func:`check_principal` after the JWKS verifier on every authenticated request
(``identity.adapters.CheckedVerifier``), so a user locked, deleted, signed out everywhere or whose password changed
is refused at once (401 TOKEN_REVOKED), not when the token expires. One read per request: the staff record
(``USER#<user name>``) or the citizen's ID-number key (``IDN#<user name>``, the user name being the HMAC of the ID
number).

What the use cases see comes from the directory, never from the token: a staff user's roles are the token's groups
that the record still grants, their units and a province administrator's province (the level-1 agency code
``000.00.00.Hxx``) are the record's; the subject becomes the portal's own id (a staff user name, a citizen's account
id: what payments, history and bank links are keyed by).
"""
from __future__ import annotations

import logging
from dataclasses import replace

from chalicelib.accounts.ports import AccountsContext
from chalicelib.identity.domain import TOKEN_INVALID, TOKEN_REVOKED, AuthError, Principal, Role, token_revoked

log = logging.getLogger(__name__)

CITIZEN_ROLES = frozenset({Role.CITIZEN})


def check_principal(svc: AccountsContext, principal: Principal) -> Principal:
    s = svc.settings
    if not principal.username:
        raise AuthError(TOKEN_INVALID, reason="no username claim")
    if principal.client_id == s.cognito_staff_client_id:
        return _staff(svc, principal)
    if principal.client_id == s.cognito_citizen_client_id:
        return _citizen(svc, principal)
    raise AuthError(TOKEN_INVALID, reason="token of an unknown app client")


def _revoked(reason: str) -> AuthError:
    return AuthError(TOKEN_REVOKED, reason=reason)


def _staff(svc: AccountsContext, p: Principal) -> Principal:
    user = svc.directory.get_user(p.username or "")
    if user is None or user.status != "active":
        raise _revoked("staff user unknown, locked or deleted")
    if user.sub and user.sub != p.subject:
        raise _revoked("the user name belongs to another pool user now")
    if token_revoked(p.issued_at, p.session_id, user.valid_after, user.kept_session):
        raise _revoked("issued before the user's last sign-out or password change")
    roles = frozenset(r for r in p.roles if r.value in user.roles)
    province = user.province_agency if Role.PROVINCE_ADMIN in roles else None
    return replace(p, subject=user.user_id, roles=roles, province_code=province, unit_codes=tuple(user.units))


def _citizen(svc: AccountsContext, p: Principal) -> Principal:
    login = svc.accounts.login(p.username or "")
    if login is None or (login.sub and login.sub != p.subject):
        raise _revoked("no citizen account for this pool user")
    if token_revoked(p.issued_at, p.session_id, login.valid_after, login.kept_session):
        raise _revoked("issued before the citizen's last sign-out or password change")
    return replace(p, subject=login.account_id, roles=p.roles & CITIZEN_ROLES, province_code=None, unit_codes=())
