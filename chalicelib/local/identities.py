"""Users of every role in the embedded stack's user pool, made through the same use cases as real ones, and signed
in through the API as a client would (`make token ROLE=...`, the e2e tests' ``stack.token(role)``).

Staff users are registered by ``officers.register_staff`` (operators and province administrators as operations
create them; officers then get the demo unit and the right through the admin use cases). A citizen account is
created with a verification token from the real OTP use cases (the code fixed for the occasion), its pool user
given a permanent password so that signing in needs no challenge. Runs in the process of the stack.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from chalicelib.local.devkeys import (
    LOCAL_DEMO_PASSWORD,
    LOCAL_DEMO_PROVINCE,
    LOCAL_DEMO_UNIT,
    LOCAL_DEMO_USERS,
)

ROLES = ("citizen", "officer", "province_admin", "operator")
_SEEDER = "local-stack"
RUNNING_API: list[str] = []  # the URL of the stack running in this process (set by chalicelib.local.stack.start)


def _ctx():
    from chalicelib.bootstrap import context

    return context()


def _operator():
    from chalicelib.accounts.ports import Caller

    return Caller(_SEEDER, frozenset({"operator"}))


def ensure_unit(code: str, name: str) -> None:
    from chalicelib.accounts.ports import Unit

    ctx = _ctx()
    if ctx.directory.get_unit(code) is None:
        ctx.directory.create_unit(Unit(code, name, ctx.clock.now().isoformat()))


def seed_staff(user_id: str, role: str | None, password: str, *, province: str | None = None,
               unit: str | None = None, grant: bool = True, phone: str | None = None) -> None:
    """A staff user with this permanent password: ``role`` None (no role at all), ``officer`` (``unit``, and the
    right when ``grant``), ``province_admin`` (``province``: agency code) or ``operator``. Idempotent."""
    from chalicelib.accounts.services import officers

    ctx = _ctx()
    if ctx.directory.get_user(user_id) is None:
        roles = (role,) if role in ("province_admin", "operator") else ()
        officers.register_staff(ctx, _SEEDER, {
            "user_id": user_id, "full_name": "Cán bộ Thử nghiệm", "phone": phone or _fresh_phone(),
            "id_number": _fresh_id(), "issuer": "portal"}, roles, province if role == "province_admin" else None)
    if role == "officer":
        unit = unit or LOCAL_DEMO_UNIT[0]
        ensure_unit(unit, LOCAL_DEMO_UNIT[1] if unit == LOCAL_DEMO_UNIT[0] else "Bộ phận một cửa thử nghiệm")
        officers.assign_unit(ctx, _operator(), user_id, {"unit_code": unit})
        if grant:
            officers.grant_right(ctx, _operator(), user_id, "create_citizen_accounts")
    ctx.users.admin_set_password(user_id, password, permanent=True)


def seed_citizen(id_number: str, password: str, phone: str | None = None, full_name: str = "Nguyễn Thị Trang") -> str:
    """A citizen account (and its pool user) with this permanent password; returns the account id. Idempotent."""
    from chalicelib.accounts.ports import CitizenAccount
    from chalicelib.otp import services as otp_cases
    from chalicelib.otp.domain import OtpPurpose

    ctx = _ctx()
    id_hash = ctx.keys.id_hash(id_number)
    existing = ctx.accounts.account_id_for(id_hash)
    if existing:
        ctx.users.admin_set_password(id_hash, password, permanent=True)
        return existing
    phone = phone or _fresh_phone()
    fixed = ctx.replace(new_code=lambda: "246810")
    otp_cases.issue_otp(fixed, phone, OtpPurpose.ACCOUNT_CREATION, id_number)
    token = otp_cases.verify_otp(fixed, phone, OtpPurpose.ACCOUNT_CREATION, id_number, "246810")["verification_token"]
    claim = otp_cases.token_claim(ctx, phone, OtpPurpose.ACCOUNT_CREATION, id_number, token)
    account_id = ctx.new_id()
    created = ctx.users.create_citizen(id_hash, password, phone, {"account_id": account_id})
    ctx.users.admin_set_password(id_hash, password, permanent=True)
    now = ctx.clock.now()
    ctx.accounts.create(CitizenAccount(
        account_id=account_id, id_hash=id_hash, id_last3=id_number[-3:], full_name=full_name,
        date_of_birth=f"19{id_number[4:6]}-01-01", sex=None, phone=phone, email=None, must_change_password=False,
        created_by=_SEEDER, unit_code=LOCAL_DEMO_UNIT[0], created_at=now.isoformat(), scan_key="", sub=created.sub),
        claim)
    return account_id


def seed_demo_users() -> None:
    """The documented demo users (devkeys.LOCAL_DEMO_USERS), what `make token ROLE=...` signs in."""
    seed_citizen(LOCAL_DEMO_USERS["citizen"], LOCAL_DEMO_PASSWORD, phone="+84912345678")
    for role in ("operator", "province_admin", "officer"):
        seed_staff(LOCAL_DEMO_USERS[role], role, LOCAL_DEMO_PASSWORD, province=LOCAL_DEMO_PROVINCE,
                   phone="+8498765432" + str(ROLES.index(role)))


def sign_in(api_url: str, role: str, login: str, password: str, session: Any = None) -> dict:
    """The token answer of a sign-in through the API (citizens by ID number, staff by user name)."""
    s = session or requests
    if role == "citizen":
        r = s.post(f"{api_url}/v1/auth/sign-in", json={"id_number": login, "password": password}, timeout=20)
    else:
        r = s.post(f"{api_url}/v1/auth/staff/sign-in", json={"username": login, "password": password}, timeout=20)
    if r.status_code != 200 or r.json().get("must_change_password"):
        raise RuntimeError(f"sign-in of a seeded {role} refused: {r.status_code} {r.text[:200]}")
    return r.json()


@dataclass
class Identity:
    role: str | None
    login: str  # staff user name or the citizen's ID number
    password: str
    subject: str  # what the API sees: the staff user name or the citizen's account id
    tokens: dict = field(default_factory=dict)

    @property
    def access_token(self) -> str:
        return self.tokens["access_token"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def new_identity(api_url: str | None, role: str | None, *, province: str | None = None, unit: str | None = None,
                 grant: bool = True, login: str | None = None, phone: str | None = None,
                 id_number: str | None = None, session: Any = None) -> Identity:
    """A fresh user of ``role`` (None: a staff user with no role), seeded and signed in through the API (``api_url``,
    or the stack running in this process). ``province`` for a province administrator: an agency code, ``H35`` or
    ``35``. ``session``: the requests session the sign-in goes through (e.g. one bound to another client address)."""
    api_url = api_url or RUNNING_API[0]
    password = f"Kh0ng{uuid.uuid4().hex[:10]}!"
    if role == "citizen":
        number = id_number or _fresh_id()
        subject = seed_citizen(number, password, phone=phone)
        return Identity(role, number, password, subject, sign_in(api_url, role, number, password, session))
    user_id = login or f"{(role or 'norole').replace('_', '-')}-{uuid.uuid4().hex[:10]}"
    agency = _agency(province) if role == "province_admin" else None
    seed_staff(user_id, role, password, province=agency, unit=unit, grant=grant, phone=phone)
    return Identity(role, user_id, password, user_id, sign_in(api_url, role or "staff", user_id, password, session))


def _agency(province: str | None) -> str:
    """The province's own level-1 agency code, from any form the province table reads (H35, 000.00.00.H35, or a
    statistics code: 22 is Quảng Ninh, whose agency code is H49)."""
    from chalicelib.core.admin_units import province_of

    found = province_of(province or LOCAL_DEMO_PROVINCE)
    if found is None:
        raise ValueError(f"not a province of the administrative-unit table: {province!r}")
    return f"000.00.00.{found.agency_code}"


def _fresh_phone() -> str:
    return f"+8498{uuid.uuid4().int % 10**7:07d}"


def _fresh_id() -> str:
    return f"0010900{uuid.uuid4().int % 10**5:05d}"  # Hà Nội, male, born 1990
