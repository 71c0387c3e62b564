"""In-memory fakes of the ports in `chalicelib.accounts.ports` (and the user pool of `identity.ports`), for driving
the OTP, officer, citizen-account, sign-in and bank-link use cases in unit tests.

`InMemoryDirectory` mirrors the one DynamoDB directory table: every item is stored as JSON under (pk, sk), every
method checks the same conditions as `accounts/adapters/dynamo.py` under one lock, writes all or nothing and raises
the same exceptions. `raw_items()` lets a test look at everything stored (e.g. to prove no OTP code is in it).
`FakeUserPool` behaves as moto's cognito-idp does for what the use cases call (see tests/integration for the real
thing).
"""
from __future__ import annotations

import json
import threading
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any, Iterable

from chalicelib.accounts.adapters.account_form import render_account_request_form
from chalicelib.accounts.ports import (
    AuditEntry,
    BankAccountInfo,
    BankLink,
    CitizenAccount,
    CitizenLogin,
    GuardState,
    OfficerUser,
    ScanObject,
    Unit,
)
from chalicelib.config import Settings
from chalicelib.core.clock import VN_TZ, FixedClock
from chalicelib.core.context import Context
from chalicelib.core.hashing import HmacKeyring
from chalicelib.core.ports import AlreadyExistsError, StaleRecordError
from chalicelib.otp.domain import OtpRecord, SendCounter, SendWindows, counted_attempt
from chalicelib.otp.ports import SendLimitError, TokenClaim, TokenRejectedError
from tests.fakes import TEST_MASTER_KEY, FakeOutbox, FakeSms

START = datetime(2026, 5, 20, 9, 0, 0, tzinfo=VN_TZ)
UNIT_SETTINGS = Settings(cognito_user_pool_id="ap-southeast-1_UNIT", cognito_citizen_client_id="citizen-client",
                         cognito_staff_client_id="staff-client")


class InMemoryDirectory:
    """OtpStore + Directory + CitizenAccounts + BankLinkStore over one dict, like the one table they share."""

    def __init__(self) -> None:
        self.outbox: Any = None  # the FakeOutbox the wiring gives it
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], str] = {}
        self.tallies: list[Any] = []  # report tallies written with the accounts (core.tallies.Tally)

    # -- plumbing --
    def _load(self, pk: str, sk: str) -> dict | None:
        raw = self._items.get((pk, sk))
        return json.loads(raw) if raw is not None else None

    def _store(self, pk: str, sk: str, doc: dict) -> None:
        self._items[(pk, sk)] = json.dumps(doc, ensure_ascii=False, sort_keys=True)

    def _claim_ok(self, claim: TokenClaim) -> bool:
        otp = self._load(f"OTP#{claim.otp_key}", "OTP")
        return otp is not None and otp.get("token_hash") == claim.token_hash \
            and otp.get("token_expires_at", 0) >= claim.now

    def _consume(self, claim: TokenClaim) -> None:
        otp = self._load(f"OTP#{claim.otp_key}", "OTP")
        otp["token_hash"] = None
        otp["rev"] += 1
        self._store(f"OTP#{claim.otp_key}", "OTP", otp)

    def raw_items(self) -> dict[tuple[str, str], str]:
        with self._lock:
            return dict(self._items)

    # -- OtpStore --
    def get(self, key: str) -> OtpRecord | None:
        with self._lock:
            doc = self._load(f"OTP#{key}", "OTP")
        return OtpRecord(**doc) if doc else None

    def save_issued(self, record: OtpRecord, expected_rev: int | None, counters: list[SendCounter],
                    windows: SendWindows, counter_ttl: int, intents=()) -> None:
        self._save_issued(record, expected_rev, counters, windows, counter_ttl)
        if intents:
            self.outbox.accept(intents)

    def _count(self, key: str, window: str) -> int:
        return (self._load(f"RATE#{key}", window) or {"count": 0})["count"]

    def _save_issued(self, record: OtpRecord, expected_rev: int | None, counters: list[SendCounter],
                     windows: SendWindows, counter_ttl: int) -> None:
        with self._lock:
            current = self._load(f"OTP#{record.key}", "OTP")
            for c in counters:
                if self._count(c.key, windows.hour) >= c.max_per_hour:
                    raise SendLimitError("hour", c.kind)
                if self._count(c.key, windows.day) >= c.max_per_day:
                    raise SendLimitError("day", c.kind)
            if (current is None) != (expected_rev is None) or (current and current["rev"] != expected_rev):
                raise StaleRecordError(record.key)
            self._store(f"OTP#{record.key}", "OTP", asdict(record))
            for c in counters:
                for window in (windows.hour, windows.day):
                    self._store(f"RATE#{c.key}", window, {"count": self._count(c.key, window) + 1, "ttl": counter_ttl})

    def register_attempt(self, key: str, now: int, max_attempts: int, ttl: int) -> OtpRecord | None:
        with self._lock:
            doc = self._load(f"OTP#{key}", "OTP")
            if doc is None:  # a guess at a code never sent: a record with no code, counted like any other
                doc = asdict(OtpRecord(key=key, code_hash="-", issued_at=0, expires_at=0, used=False, attempts=0,
                                       last_attempt_at=0, last_sent_at=0, rev=0))
            if doc["attempts"] >= max_attempts:
                return None
            record = counted_attempt(OtpRecord(**doc), now)
            record = replace(record, rev=record.rev + 1)
            self._store(f"OTP#{key}", "OTP", asdict(record))
            return record

    def mark_verified(self, key: str, code_hash: str, token_hash: str, token_expires_at: int) -> bool:
        with self._lock:
            doc = self._load(f"OTP#{key}", "OTP")
            if doc is None or doc["code_hash"] != code_hash or doc["used"]:
                return False
            doc.update(used=True, attempts=0, token_hash=token_hash, token_expires_at=token_expires_at,
                       rev=doc["rev"] + 1)
            self._store(f"OTP#{key}", "OTP", doc)
            return True

    # -- Directory --
    def create_unit(self, unit: Unit) -> None:
        with self._lock:
            if self._load(f"UNIT#{unit.code}", "UNIT") is not None:
                raise AlreadyExistsError(unit.code)
            self._store(f"UNIT#{unit.code}", "UNIT", asdict(unit))

    def get_unit(self, code: str) -> Unit | None:
        with self._lock:
            doc = self._load(f"UNIT#{code}", "UNIT")
        return Unit(**doc) if doc else None

    def get_units(self, codes: Iterable[str]) -> dict[str, Unit]:
        return {c: u for c in codes if (u := self.get_unit(c)) is not None}

    def list_units(self) -> list[Unit]:
        with self._lock:
            return [Unit(**json.loads(v)) for (pk, sk), v in sorted(self._items.items()) if sk == "UNIT"]

    def create_user(self, user: OfficerUser, audit: AuditEntry, intents=()) -> None:
        with self._lock:
            if self._load(f"USER#{user.user_id}", "PROFILE") is not None:
                raise AlreadyExistsError(user.user_id)
            self._store(f"USER#{user.user_id}", "PROFILE", asdict(user))
            self._audit(audit)
        if intents:
            self.outbox.accept(intents)

    def revoke_user_sessions(self, user_id: str, valid_after: int, kept_session: str | None) -> None:
        with self._lock:
            doc = self._load(f"USER#{user_id}", "PROFILE")
            if doc is not None:
                doc.update(valid_after=valid_after, kept_session=kept_session, rev=doc["rev"] + 1)
                self._store(f"USER#{user_id}", "PROFILE", doc)

    def _audit(self, entry: AuditEntry) -> None:
        n = sum(1 for pk, sk in self._items if pk == f"USER#{entry.user_id}" and sk.startswith("AUDIT#"))
        self._store(f"USER#{entry.user_id}", f"AUDIT#{entry.at}#{n:06d}", asdict(entry))

    def get_user(self, user_id: str) -> OfficerUser | None:
        with self._lock:
            doc = self._load(f"USER#{user_id}", "PROFILE")
        return _user(doc) if doc else None

    def list_users(self) -> list[OfficerUser]:
        with self._lock:
            return [_user(json.loads(v)) for (pk, sk), v in sorted(self._items.items()) if sk == "PROFILE"]

    def update_user(self, user: OfficerUser, expected_rev: int, audit: AuditEntry) -> None:
        with self._lock:
            doc = self._load(f"USER#{user.user_id}", "PROFILE")
            if doc is None or doc["rev"] != expected_rev:
                raise StaleRecordError(user.user_id)
            self._store(f"USER#{user.user_id}", "PROFILE", asdict(user))
            self._audit(audit)

    def list_audit(self, user_id: str) -> list[AuditEntry]:
        with self._lock:
            return [AuditEntry(**json.loads(v)) for (pk, sk), v in sorted(self._items.items())
                    if pk == f"USER#{user_id}" and sk.startswith("AUDIT#")]

    # -- CitizenAccounts --
    def account_id_for(self, id_hash: str) -> str | None:
        with self._lock:
            doc = self._load(f"IDN#{id_hash}", "IDN")
        return doc["account_id"] if doc else None

    def login(self, id_hash: str) -> CitizenLogin | None:
        with self._lock:
            doc = self._load(f"IDN#{id_hash}", "IDN")
        return CitizenLogin(**doc) if doc else None

    def create(self, account: CitizenAccount, claim: TokenClaim, intents=(), tallies=()) -> None:
        self._create(account, claim)
        self.tallies.extend(tallies)
        if intents:
            self.outbox.accept(intents)

    def _create(self, account: CitizenAccount, claim: TokenClaim) -> None:
        with self._lock:
            if self._load(f"IDN#{account.id_hash}", "IDN") is not None:
                raise AlreadyExistsError("account")
            if not self._claim_ok(claim):
                raise TokenRejectedError()
            self._store(f"IDN#{account.id_hash}", "IDN", {"account_id": account.account_id, "sub": account.sub})
            self._store(f"ACC#{account.account_id}", "ACCOUNT", asdict(account))
            self._consume(claim)

    def get_account(self, account_id: str) -> CitizenAccount | None:
        with self._lock:
            doc = self._load(f"ACC#{account_id}", "ACCOUNT")
        return CitizenAccount(**doc) if doc else None

    def update(self, account: CitizenAccount, expected_rev: int, claim: TokenClaim | None = None,
               intents=()) -> None:
        with self._lock:
            doc = self._load(f"ACC#{account.account_id}", "ACCOUNT")
            if doc is None or doc["rev"] != expected_rev:
                raise StaleRecordError(account.account_id)
            if claim is not None and not self._claim_ok(claim):
                raise TokenRejectedError()
            self._store(f"ACC#{account.account_id}", "ACCOUNT", asdict(account))
            if claim is not None:
                self._consume(claim)
        if intents:
            self.outbox.accept(intents)

    def revoke_sessions(self, id_hash: str, valid_after: int, kept_session: str | None, claim: TokenClaim | None = None,
                        intents=()) -> None:
        with self._lock:
            doc = self._load(f"IDN#{id_hash}", "IDN")
            if claim is not None and not self._claim_ok(claim):
                raise TokenRejectedError()
            if doc is not None:
                doc.update(valid_after=valid_after, kept_session=kept_session)
                self._store(f"IDN#{id_hash}", "IDN", doc)
            if claim is not None:
                self._consume(claim)
        if intents:
            self.outbox.accept(intents)

    # -- SignInGuard --
    def state(self, account_key: str) -> GuardState:
        with self._lock:
            doc = self._load(f"GUARD#{account_key}", "SIGNIN")
        return GuardState(**doc) if doc else GuardState()

    def reserve(self, account_key: str, expected: GuardState, failures: int, blocked_until: int, client_key: str,
                window: str, client_cap: int, ttl: int) -> None:
        with self._lock:
            doc = self._load(f"GUARD#{account_key}", "SIGNIN")
            if (doc or {}).get("rev", 0) != expected.rev:
                raise StaleRecordError(account_key)
            if self._count(client_key, window) >= client_cap:
                raise SendLimitError("hour", "client")
            self._store(f"GUARD#{account_key}", "SIGNIN", asdict(GuardState(failures, blocked_until, expected.rev + 1)))
            self._store(f"RATE#{client_key}", window, {"count": self._count(client_key, window) + 1, "ttl": ttl})

    def release(self, account_key: str, client_key: str | None, window: str | None) -> None:
        with self._lock:
            doc = self._load(f"GUARD#{account_key}", "SIGNIN")
            if doc is not None:
                self._store(f"GUARD#{account_key}", "SIGNIN", asdict(GuardState(0, 0, doc["rev"] + 1)))
            if client_key and window and self._count(client_key, window) > 0:
                self._store(f"RATE#{client_key}", window, {"count": self._count(client_key, window) - 1})

    def list_by_unit(self, unit_code: str, created_from: str, created_to: str) -> list[CitizenAccount]:
        if not created_from or not created_to:
            raise ValueError("DynamoDB refuses an empty key value in a key condition")
        with self._lock:
            docs = [json.loads(v) for (pk, sk), v in self._items.items() if sk == "ACCOUNT"]
        return [CitizenAccount(**d) for d in docs
                if d["unit_code"] == unit_code and created_from <= f"{d['created_at']}#{d['account_id']}" <= created_to]

    # -- BankLinkStore --
    def get_link(self, account_id: str) -> BankLink | None:
        with self._lock:
            doc = self._load(f"ACC#{account_id}", "LINK")
        return BankLink(**doc) if doc else None

    def create_link(self, link: BankLink, claim: TokenClaim) -> None:
        with self._lock:
            if self._load(f"ACC#{link.account_id}", "LINK") is not None:
                raise AlreadyExistsError("link")
            if not self._claim_ok(claim):
                raise TokenRejectedError()
            self._store(f"ACC#{link.account_id}", "LINK", asdict(link))
            self._consume(claim)

    def delete_link(self, account_id: str) -> bool:
        with self._lock:
            return self._items.pop((f"ACC#{account_id}", "LINK"), None) is not None


def _user(doc: dict) -> OfficerUser:
    return OfficerUser(**{**doc, "units": tuple(doc["units"]), "rights": tuple(doc["rights"]),
                          "roles": tuple(doc["roles"])})


class FakeFiles:
    """ScanFiles: `put` stands for the browser's upload through the presigned POST."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, dict[str, str], str | None]] = {}
        self.forms: list[dict[str, Any]] = []
        self.deleted: list[str] = []

    def upload_form(self, key: str, content_type: str, metadata: dict[str, str], max_bytes: int,
                    expires_s: int) -> dict[str, Any]:
        form = {"url": "https://s3.example/bucket", "fields": {"key": key, "Content-Type": content_type,
                                                               **{f"x-amz-meta-{k}": v for k, v in metadata.items()}},
                "method": "POST", "file_field": "file", "max_bytes": max_bytes}
        self.forms.append(form)
        return form

    def put(self, key: str, content: bytes, metadata: dict[str, str], encryption: str | None = "AES256") -> None:
        self.objects[key] = (content, dict(metadata), encryption)

    def fetch(self, key: str, max_bytes: int) -> ScanObject | None:
        if key not in self.objects:
            return None
        content, metadata, encryption = self.objects[key]
        return ScanObject(len(content), content if len(content) <= max_bytes else None, metadata, encryption)

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)
        self.deleted.append(key)


class FakeBanks:
    def __init__(self) -> None:
        self.accounts: dict[tuple[str, str], BankAccountInfo] = {}
        self.lookups = 0

    def add(self, bank_code: str, username: str, id_number: str, otp_phone: str,
            holder_name: str = "NGUYEN VAN AN", account_number: str = "0011001234567") -> None:
        self.accounts[(bank_code, username.lower())] = BankAccountInfo(bank_code, username, holder_name, id_number,
                                                                       otp_phone, account_number)

    def lookup(self, bank_code: str, username: str) -> BankAccountInfo | None:
        self.lookups += 1
        return self.accounts.get((bank_code, username.lower()))


class FakeUserPool:
    """The user pool as moto's cognito-idp behaves for the calls the use cases make: passwords checked (8+ with a
    digit, like the template's policy), the temporary one answered by a challenge, groups, disabled and deleted
    users, refresh tokens revoked by a global sign-out. Access tokens are opaque strings; ``principal(token)`` is
    what the JWKS verifier would make of one (for driving sessions.check_principal)."""

    def __init__(self, clock) -> None:
        import itertools

        self.clock, self.users, self.sessions, self.refresh_tokens = clock, {}, {}, {}
        self.password_checks = 0
        self.check_delay_s = 0.0  # widen the window between a guard's check and its write, for race tests
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def _now(self) -> int:
        return int(self.clock.now().timestamp())

    def _policy(self, password: str) -> None:
        from chalicelib.identity.ports import PasswordPolicyViolation

        if len(password) < 8 or not any(c.isdigit() for c in password):
            raise PasswordPolicyViolation("password refused")

    def _create(self, username: str, temporary_password: str, groups: list[str], phone: str | None):
        from chalicelib.identity.ports import CreatedUser, UserExists

        with self._lock:
            if username in self.users:
                raise UserExists("UsernameExistsException")
            sub = f"sub-{next(self._ids):04d}"
            self.users[username] = {"password": temporary_password, "temporary": True, "groups": set(groups),
                                    "sub": sub, "enabled": True, "phone": phone, "created_at": self._now()}
        return CreatedUser(username=username, sub=sub)

    def create_citizen(self, username, temporary_password, phone_e164, attributes=None):
        return self._create(username, temporary_password, ["citizen"], phone_e164)

    def create_staff(self, username, temporary_password, groups, phone_e164=None, attributes=None):
        return self._create(username, temporary_password, list(groups), phone_e164)

    def _user(self, username: str) -> dict:
        from chalicelib.identity.ports import UserNotFound

        if username not in self.users:
            raise UserNotFound("no such user")
        return self.users[username]

    def sign_in(self, username, password, *, staff=False, context=None):
        import time as _time

        from chalicelib.identity.ports import NewPasswordChallenge, NotAuthorized, UserDisabled

        self.password_checks += 1
        if self.check_delay_s:
            _time.sleep(self.check_delay_s)
        user = self.users.get(username)
        if user is None or user["password"] != password:
            raise NotAuthorized("not authorized")
        if not user["enabled"]:
            raise UserDisabled("user is disabled")
        if user["temporary"]:
            session = f"session-{next(self._ids):06d}-" + "x" * 20
            self.sessions[session] = username
            return NewPasswordChallenge(session=session, username=username)
        return self._tokens(username, staff)

    def _tokens(self, username: str, staff: bool, session_id: str | None = None):
        from chalicelib.identity.ports import Tokens

        n = next(self._ids)
        session_id = session_id or f"origin-{n}"
        access, refresh = f"access-{n}-{username}", f"refresh-{session_id}-{'r' * 20}"
        self.refresh_tokens.setdefault(refresh, (username, staff, session_id))
        self.issued = getattr(self, "issued", {})
        user = self.users[username]  # a token carries the groups and the sub of when it was issued
        self.issued[access] = (username, staff, self._now(), session_id, user["sub"], frozenset(user["groups"]))
        return Tokens(access_token=access, id_token=f"id-{n}", expires_in=3600, refresh_token=refresh,
                      issued_at=self._now(), session_id=session_id)

    def principal(self, access_token: str):
        """What the JWKS verifier makes of one of our access tokens."""
        from chalicelib.identity.domain import Principal, Role

        username, staff, iat, session, sub, groups = self.issued[access_token]
        allowed = {"officer", "province_admin", "operator"} if staff else {"citizen"}
        return Principal(subject=sub, roles=frozenset(Role(g) for g in groups & allowed),
                         province_code=None, unit_codes=(), issuer="https://cognito-idp.test/pool",
                         expires_at=iat + 3600, client_id="staff-client" if staff else "citizen-client",
                         issued_at=iat, username=username, session_id=session)

    def answer_new_password(self, session, username, new_password, *, staff=False, context=None):
        from chalicelib.identity.ports import NotAuthorized

        if self.sessions.pop(session, None) != username:
            raise NotAuthorized("session unknown or expired")
        self._policy(new_password)
        self.users[username].update(password=new_password, temporary=False)
        return self._tokens(username, staff)

    def refresh(self, refresh_token, *, staff=False):
        from chalicelib.identity.ports import NotAuthorized

        found = self.refresh_tokens.get(refresh_token)
        if found is None or found[1] != staff or found[0] not in self.users:
            raise NotAuthorized("not authorized")
        tokens = self._tokens(found[0], staff, found[2])
        from dataclasses import replace as _replace

        return _replace(tokens, refresh_token=None)

    def change_password(self, access_token, old_password, new_password):
        from chalicelib.identity.ports import NotAuthorized

        username = self.issued.get(access_token, (None,))[0]
        if username is None or self.users[username]["password"] != old_password:
            raise NotAuthorized("not authorized")
        self._policy(new_password)
        self.users[username]["password"] = new_password

    def admin_set_password(self, username, new_password, permanent):
        self._policy(new_password)
        self._user(username).update(password=new_password, temporary=not permanent)

    def sign_out_everywhere(self, username):
        self._user(username)
        self.refresh_tokens = {k: v for k, v in self.refresh_tokens.items() if v[0] != username}

    def disable(self, username):
        self._user(username)["enabled"] = False
        self.sign_out_everywhere(username)

    def enable(self, username):
        self._user(username)["enabled"] = True

    def delete(self, username):
        self.sign_out_everywhere(username)
        del self.users[username]

    def add_to_group(self, username, group):
        self._user(username)["groups"].add(group)

    def remove_from_group(self, username, group):
        self._user(username)["groups"].discard(group)

    def sub_of(self, username):
        return self._user(username)["sub"]

    def groups_of(self, username):
        return sorted(self._user(username)["groups"])

    def set_phone(self, username, phone_e164):
        self._user(username)["phone"] = phone_e164

    def created_at(self, username):
        return self._user(username)["created_at"]


class FakeHistory:
    """``payments``: by account (paid signed in); ``by_payer``: by the keyed hash of the anonymous payer's ID."""

    def __init__(self) -> None:
        self.payments: dict[str, list[Any]] = {}
        self.by_payer: dict[str, list[Any]] = {}
        self.asked: list[tuple[str, str | None]] = []

    def payments_of(self, citizen_sub: str, limit: int, cursor: str | None, payer_key: str | None = None):
        self.asked.append((citizen_sub, payer_key))
        mine = self.payments.get(citizen_sub, []) + (self.by_payer.get(payer_key, []) if payer_key else [])
        items = sorted(mine, key=lambda p: p.created_at, reverse=True)
        start = int(cursor) if cursor else 0
        page = items[start:start + limit]
        return page, (str(start + limit) if start + limit < len(items) else None)


def _sealer():
    from tests.fakes_receipts import sealer

    return sealer()


def make_account_services(clock: FixedClock | None = None, **overrides: Any) -> Context:
    outbox = overrides.pop("outbox", None) or FakeOutbox()
    directory = overrides.pop("directory", None) or InMemoryDirectory()
    directory.outbox = outbox
    fields: dict[str, Any] = {
        "settings": UNIT_SETTINGS,
        "clock": clock if clock is not None else FixedClock(START),
        "otp": directory, "directory": directory, "accounts": directory, "links": directory,
        "files": FakeFiles(), "banks": FakeBanks(), "sms": FakeSms(), "guard": directory,
        "history": FakeHistory(), "account_form": render_account_request_form,
        "keys": HmacKeyring(lambda: TEST_MASTER_KEY), "sealer": _sealer(),
    }
    fields.update(overrides)
    if "users" not in fields:
        fields["users"] = FakeUserPool(fields["clock"])
    ctx = Context(outbox=outbox, **fields)
    outbox.bind(ctx)
    return ctx


# -- scenario helpers -------------------------------------------------------------------------------------------
ONE_STOP_UNIT = "000.00.15.H35"
ONE_STOP_NAME = "Trung tâm Phục vụ hành chính công tỉnh Hà Nam"
OTHER_ONE_STOP_UNIT = "000.00.16.H35"
OTHER_ONE_STOP_NAME = "Bộ phận Một cửa UBND phường Phủ Lý"
PLAIN_UNIT = "000.00.17.H35"
PLAIN_NAME = "Phòng Tài nguyên và Môi trường"
OTHER_PROVINCE_UNIT = "000.00.15.H01"
OTHER_PROVINCE_NAME = "Trung tâm Phục vụ hành chính công thành phố Hà Nội"

OPERATOR = "operator-1"
CITIZEN_ID = "035095001234"  # 035 = Hà Nam, 0 = male 1900s, 95 = 1995
CITIZEN_DOB = "1995-03-14"
CITIZEN_PHONE = "+84912345678"


def caller(subject: str | None, *roles: str, province: str | None = None):
    from chalicelib.accounts.ports import Caller

    return Caller(subject, frozenset(roles), province)


def admin():
    return caller(OPERATOR, "operator")


def seed_units(svc: Context) -> None:
    from chalicelib.accounts.services import officers

    for code, name in ((ONE_STOP_UNIT, ONE_STOP_NAME), (OTHER_ONE_STOP_UNIT, OTHER_ONE_STOP_NAME),
                       (PLAIN_UNIT, PLAIN_NAME), (OTHER_PROVINCE_UNIT, OTHER_PROVINCE_NAME)):
        officers.create_unit(svc, admin(), {"code": code, "name": name})


def seed_officer(svc: Context, user_id: str, units: tuple[str, ...] = (ONE_STOP_UNIT,), grant: bool = True,
                 issuer: str = "portal", id_number: str = "001090005678", phone: str = "0987654321") -> None:
    from chalicelib.accounts.services import officers

    officers.register_user(svc, admin(), {"user_id": user_id, "full_name": "Trần Văn Bình", "phone": phone,
                                          "id_number": id_number, "issuer": issuer})
    for unit in units:
        officers.assign_unit(svc, admin(), user_id, {"unit_code": unit})
    if grant:
        officers.grant_right(svc, admin(), user_id, "create_citizen_accounts")


def officer(user_id: str):
    return caller(user_id, "officer")


PDF_BYTES = b"%PDF-1.7\n% hai mat CCCD\n" + b"0" * 2048


def upload_scan(svc: Context, who: str, unit: str = ONE_STOP_UNIT, content: bytes = PDF_BYTES,
                file_name: str = "cccd.pdf") -> str:
    from chalicelib.accounts.services import citizen_accounts as accounts

    answer = accounts.scan_upload(svc, officer(who), {"unit_code": unit, "file_name": file_name})
    fields = answer["upload"]["fields"]
    metadata = {k[len("x-amz-meta-"):]: v for k, v in fields.items() if k.startswith("x-amz-meta-")}
    svc.files.put(fields["key"], content, metadata)
    return answer["scan_id"]


def otp_token(svc: Context, phone: str, purpose, subject: str) -> str:
    """Send a code (the fake SMS keeps it) and verify it, as the officer/citizen would."""
    from chalicelib.otp import services as otp_cases

    otp_cases.issue_otp(svc, phone, purpose, subject)
    code = svc.sms.sent[-1][1][:6]
    return otp_cases.verify_otp(svc, phone, purpose, subject, code)["verification_token"]


def account_body(svc: Context, who: str, **over: Any) -> dict[str, Any]:
    from chalicelib.otp.domain import OtpPurpose

    body = {"id_number": CITIZEN_ID, "full_name": "Nguyễn Văn An", "date_of_birth": CITIZEN_DOB, "sex": "male",
            "phone": CITIZEN_PHONE, "email": "an.nguyen@example.vn", "unit_code": ONE_STOP_UNIT}
    body.update(over)
    if "scan_id" not in body:
        body["scan_id"] = upload_scan(svc, who, body["unit_code"])
    if "verification_token" not in body:
        from chalicelib.core import identity, phones

        body["verification_token"] = otp_token(svc, phones.normalise_mobile(body["phone"]),
                                               OtpPurpose.ACCOUNT_CREATION,
                                               identity.normalise_id_number(body["id_number"]))
    return body


# -- signing in, as the routes would ------------------------------------------------------------------------------
CLIENT_IP = "198.51.100.7"
NEW_PASSWORD = "Ng5v8nAn!x2026"


def temp_password(svc: Context, phone: str = CITIZEN_PHONE) -> str:
    return [m for to, m in svc.sms.sent if to == phone][-1].split("Mật khẩu tạm thời: ")[1].split(" ")[0]


def caller_for(svc: Context, access_token: str, client: str = CLIENT_IP):
    """The Caller the routes build for this token: the pool's principal checked against the directory."""
    from chalicelib.accounts.ports import Caller
    from chalicelib.accounts.services.sessions import check_principal

    p = check_principal(svc, svc.users.principal(access_token))
    return Caller(p.subject, frozenset(r.value for r in p.roles), p.province_code, username=p.username,
                  access_token=access_token, client=client)


def anonymous(client: str = CLIENT_IP):
    from chalicelib.accounts.ports import Caller

    return Caller(None, client=client)


def first_sign_in(svc: Context, id_number: str = CITIZEN_ID, password: str = NEW_PASSWORD,
                  phone: str = CITIZEN_PHONE) -> dict:
    """The SMS password, the challenge, the new password: the token answer."""
    from chalicelib.accounts.services import passwords, sign_in

    challenge = sign_in.sign_in(svc, anonymous(), {"id_number": id_number, "password": temp_password(svc, phone)})
    assert challenge["must_change_password"] is True and challenge["challenge"] == "NEW_PASSWORD_REQUIRED"
    return passwords.answer_new_password(svc, {"id_number": id_number, "session": challenge["session"],
                                               "new_password": password})


def staff_caller(svc: Context, user_id: str, password: str = NEW_PASSWORD):
    """A registered staff user's first sign-in (SMS password, challenge), as the Caller of their token."""
    from chalicelib.accounts.services import passwords, sign_in

    user = svc.directory.get_user(user_id)
    challenge = sign_in.staff_sign_in(svc, anonymous(), {"username": user_id,
                                                         "password": temp_password(svc, user.phone)})
    tokens = passwords.staff_new_password(svc, {"username": user_id, "session": challenge["session"],
                                                "new_password": password})
    return caller_for(svc, tokens["access_token"])
