"""DynamoDB implementations of the OTP store, the officer directory, citizen accounts, bank links (directory table)
and the citizen's payment history (the ledger's gsi1). Conditional writes and transactions live here.

Items of the directory table (pk / sk):
  OTP#<hmac(phone|purpose|subject)> / OTP       newest code's hash, attempts, token hash (only hashes)
  RATE#<hmac(phone)> / H#yyyymmddhh, D#yyyymmdd  per-phone send counters (TTL)
  UNIT#<agency code> / UNIT                      gsi1 UNITS / code
  USER#<user name> / PROFILE, AUDIT#<at>#<ulid>  gsi1 USERS / user name (profile only); valid_after, kept_session
  IDN#<hmac(id number)> / IDN                    the uniqueness key of a citizen account -> account id, pool sub;
                                                 valid_after, kept_session (what every citizen token is checked
                                                 against; the HMAC is also the citizen's user name in the pool)
  ACC#<account id> / ACCOUNT, LINK               gsi1 ACCUNIT#<unit> / <created_at>#<id> (account only)

A personal (12-digit) tax code in a user's or an account's doc is only its keyed hash, last three digits and (an
account's) sealed copy (accounts.domain.kept_tax_code). Docs written before held it in clear under ``tax_code``:
they are read into the new shape (``_upgraded``), so the next write of the record stores only that.
  GUARD#<hmac(user name)> / SIGNIN               wrong passwords in a row, blocked_until (TTL)
  RATE#<hmac(client)> / H#yyyymmddhh             wrong passwords per client IP and hour (TTL)
"""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import Iterable

from pynamodb.exceptions import (
    DeleteError,
    PutError,
    TransactWriteError,
    UpdateError,
)

from chalicelib.accounts.domain import kept_tax_code
from chalicelib.accounts.ports import (
    AuditEntry,
    BankLink,
    CitizenAccount,
    CitizenLogin,
    GuardState,
    OfficerUser,
    Unit,
)
from chalicelib.aws.tables import (
    CONDITION_FAILED,
    DirectoryTable,
    cancellation_reasons,
    failed_at,
    is_conditional,
    models,
    transient,
)
from chalicelib.aws.tallies import add_to_transaction
from chalicelib.core.clock import new_ulid
from chalicelib.core.masking import is_personal_number
from chalicelib.core.ports import AlreadyExistsError, StaleRecordError
from chalicelib.otp.adapters import consume_token
from chalicelib.otp.ports import SendLimitError, TokenClaim, TokenRejectedError

_SESSION_FIELDS = ("valid_after", "kept_session")


class DynamoDirectory(DirectoryTable):
    def __init__(self, settings, outbox=None, keys=None) -> None:
        super().__init__(settings)
        self._outbox = outbox  # builds the SMS intent (a staff user's temporary password) written with the record
        self._keys = keys  # hashes a personal tax code still in clear in an old doc

    def create_unit(self, unit: Unit) -> None:
        M = self.M
        item = M(f"UNIT#{unit.code}", "UNIT", kind="unit", doc=json.dumps(asdict(unit), ensure_ascii=False),
                 gsi1pk="UNITS", gsi1sk=unit.code)
        try:
            item.save(condition=M.pk.does_not_exist())
        except PutError as exc:
            if is_conditional(exc):
                raise AlreadyExistsError(unit.code) from None
            raise

    def get_unit(self, code: str) -> Unit | None:
        item = self._get(f"UNIT#{code}", "UNIT")
        return Unit(**json.loads(item.doc)) if item is not None else None

    def get_units(self, codes: Iterable[str]) -> dict[str, Unit]:
        keys = [(f"UNIT#{c}", "UNIT") for c in dict.fromkeys(codes)]
        if not keys:
            return {}
        units = [Unit(**json.loads(i.doc)) for i in self.M.batch_get(keys, consistent_read=True)]
        return {u.code: u for u in units}

    def list_units(self) -> list[Unit]:
        return [Unit(**json.loads(i.doc)) for i in self.M.gsi1.query("UNITS")]

    def _user_item(self, user: OfficerUser):
        doc = {k: v for k, v in asdict(user).items() if k not in (*_SESSION_FIELDS, "rev")}
        doc |= {"units": list(user.units), "rights": list(user.rights), "roles": list(user.roles)}
        return self.M(f"USER#{user.user_id}", "PROFILE", kind="user", doc=json.dumps(doc, ensure_ascii=False),
                      rev=user.rev, gsi1pk="USERS", gsi1sk=user.user_id, valid_after=user.valid_after or None,
                      kept_session=user.kept_session)

    def _audit_item(self, entry: AuditEntry):
        return self.M(f"USER#{entry.user_id}", f"AUDIT#{entry.at}#{new_ulid()}", kind="audit",
                      doc=json.dumps(asdict(entry), ensure_ascii=False, default=str))

    def create_user(self, user: OfficerUser, audit: AuditEntry, intents=()) -> None:
        try:
            with self._tx() as tx:
                tx.save(self._user_item(user), condition=self.M.pk.does_not_exist())
                tx.save(self._audit_item(audit))
                for intent_item in self._outbox.items(intents) if intents else ():
                    tx.save(intent_item)
        except TransactWriteError as exc:
            if failed_at(cancellation_reasons(exc), 0):
                raise AlreadyExistsError(user.user_id) from None
            raise

    def get_user(self, user_id: str) -> OfficerUser | None:
        item = self._get(f"USER#{user_id}", "PROFILE")
        return _user(item, self._keys) if item is not None else None

    def list_users(self) -> list[OfficerUser]:
        return [_user(i, self._keys) for i in self.M.gsi1.query("USERS")]

    def update_user(self, user: OfficerUser, expected_rev: int, audit: AuditEntry) -> None:
        try:
            with self._tx() as tx:
                tx.save(self._user_item(user), condition=self.M.rev == expected_rev)
                tx.save(self._audit_item(audit))
        except TransactWriteError as exc:
            if CONDITION_FAILED in cancellation_reasons(exc):
                raise StaleRecordError(user.user_id) from None
            raise

    def list_audit(self, user_id: str) -> list[AuditEntry]:
        items = self.M.query(f"USER#{user_id}", self.M.sk.startswith("AUDIT#"), consistent_read=True)
        return [AuditEntry(**json.loads(i.doc)) for i in items]

    def revoke_user_sessions(self, user_id: str, valid_after: int, kept_session: str | None) -> None:
        _revoke(self.M, self.M(f"USER#{user_id}", "PROFILE"), valid_after, kept_session)


def _revoke(M, item, valid_after: int, kept_session: str | None, tx=None) -> None:
    kept = M.kept_session.remove() if kept_session is None else M.kept_session.set(kept_session)
    actions = [M.valid_after.set(valid_after), kept, M.rev.add(1)]
    if tx is not None:
        tx.update(item, actions=actions, condition=M.pk.exists())
        return
    try:
        item.update(actions=actions, condition=M.pk.exists())
    except UpdateError as exc:
        if not is_conditional(exc):
            raise


def _upgraded(doc: dict, keys, seal=None) -> dict:
    """A doc written before personal tax codes were hashed, in the new shape (see the module's docstring)."""
    code = doc.get("tax_code")
    if not code or keys is None or not is_personal_number(code):
        return doc
    fields = kept_tax_code(code, keys.id_hash, seal)
    return {**doc, **{k: v for k, v in fields.items() if k != "tax_code_sealed" or seal is not None}}


def _user(item, keys=None) -> OfficerUser:
    doc = _upgraded(json.loads(item.doc), keys)
    return OfficerUser(**{**doc, "units": tuple(doc["units"]), "rights": tuple(doc["rights"]),
                          "roles": tuple(doc.get("roles", ())), "rev": int(item.rev),
                          "valid_after": int(item.valid_after or 0), "kept_session": item.kept_session})


# --- citizen accounts ----------------------------------------------------------------------------------------------

_ACCOUNT_FIELDS = frozenset(CitizenAccount.__dataclass_fields__) - {"rev"}


class DynamoCitizenAccounts(DirectoryTable):
    def account_id_for(self, id_hash: str) -> str | None:
        item = self._get(f"IDN#{id_hash}", "IDN")
        return json.loads(item.doc)["account_id"] if item is not None else None

    def login(self, id_hash: str) -> CitizenLogin | None:
        item = self._get(f"IDN#{id_hash}", "IDN")
        if item is None:
            return None
        doc = json.loads(item.doc)
        return CitizenLogin(doc["account_id"], doc.get("sub", ""), int(item.valid_after or 0), item.kept_session)

    def _account_item(self, a: CitizenAccount):
        doc = {k: v for k, v in asdict(a).items() if k in _ACCOUNT_FIELDS}
        return self.M(f"ACC#{a.account_id}", "ACCOUNT", kind="account", doc=json.dumps(doc, ensure_ascii=False),
                      rev=a.rev, gsi1pk=f"ACCUNIT#{a.unit_code}", gsi1sk=f"{a.created_at}#{a.account_id}")

    def __init__(self, settings, outbox=None, keys=None, sealer=None) -> None:
        super().__init__(settings)
        self._settings = settings
        self._outbox = outbox  # builds the SMS intent written with the account
        self._keys, self._sealer = keys, sealer  # upgrade a personal tax code still in clear in an old doc

    def create(self, account: CitizenAccount, claim: TokenClaim, intents=(), tallies=()) -> None:
        M = self.M
        key = M(f"IDN#{account.id_hash}", "IDN", kind="id_key",
                doc=json.dumps({"account_id": account.account_id, "sub": account.sub}))
        try:
            with self._tx() as tx:
                tx.save(key, condition=M.pk.does_not_exist())
                tx.save(self._account_item(account), condition=M.pk.does_not_exist())
                for intent_item in self._outbox.items(intents) if intents else ():
                    tx.save(intent_item)
                consume_token(tx, self.M, claim)
                # The unit's registration figures (a ledger report item) move in the same transaction.
                add_to_transaction(tx, models(self._settings)[1], tallies)
        except TransactWriteError as exc:
            reasons = cancellation_reasons(exc)  # puts: id key, account, the intents; then the token update
            if failed_at(reasons, 0):
                raise AlreadyExistsError("account") from None
            if failed_at(reasons, 2 + len(intents)):
                raise TokenRejectedError() from None
            if any(r not in (None, "None") for r in reasons):
                raise AlreadyExistsError("account") from None  # a concurrent writer of the same key
            raise

    def get_account(self, account_id: str) -> CitizenAccount | None:
        item = self._get(f"ACC#{account_id}", "ACCOUNT")
        return self._account(item) if item is not None else None

    def update(self, account: CitizenAccount, expected_rev: int, claim: TokenClaim | None = None,
               intents=()) -> None:
        M = self.M
        if claim is None and not intents:
            try:
                self._account_item(account).save(condition=M.rev == expected_rev)
            except PutError as exc:
                if is_conditional(exc):
                    raise StaleRecordError(account.account_id) from None
                raise
            return
        try:
            with self._tx() as tx:
                tx.save(self._account_item(account), condition=M.rev == expected_rev)
                for intent_item in self._outbox.items(intents) if intents else ():
                    tx.save(intent_item)
                if claim is not None:
                    consume_token(tx, self.M, claim)
        except TransactWriteError as exc:
            reasons = cancellation_reasons(exc)  # puts: the account, the intents; then the token update
            if claim is not None and failed_at(reasons, 1 + len(intents)):
                raise TokenRejectedError() from None
            if CONDITION_FAILED in reasons:
                raise StaleRecordError(account.account_id) from None
            raise

    def revoke_sessions(self, id_hash: str, valid_after: int, kept_session: str | None,
                        claim: TokenClaim | None = None, intents=()) -> None:
        M = self.M
        key = M(f"IDN#{id_hash}", "IDN")
        if claim is None and not intents:
            _revoke(M, key, valid_after, kept_session)
            return
        try:
            with self._tx() as tx:
                for intent_item in self._outbox.items(intents) if intents else ():
                    tx.save(intent_item)
                _revoke(M, key, valid_after, kept_session, tx)
                if claim is not None:
                    consume_token(tx, self.M, claim)
        except TransactWriteError as exc:
            reasons = cancellation_reasons(exc)  # puts: the intents; updates: the key, then the token
            if claim is not None and failed_at(reasons, len(intents) + 1):
                raise TokenRejectedError() from None
            raise

    def list_by_unit(self, unit_code: str, created_from: str, created_to: str) -> list[CitizenAccount]:
        M = self.M
        items = M.gsi1.query(f"ACCUNIT#{unit_code}", M.gsi1sk.between(created_from, created_to))
        return [self._account(i) for i in items]

    def _account(self, item) -> CitizenAccount:
        seal = self._sealer.seal if self._sealer is not None else None
        return _account(item, self._keys, seal)


def _account(item, keys=None, seal=None) -> CitizenAccount:
    doc = _upgraded(json.loads(item.doc), keys, seal)
    return CitizenAccount(**{k: v for k, v in doc.items() if k in _ACCOUNT_FIELDS}, rev=int(item.rev or 0))


# --- the sign-in guard ---------------------------------------------------------------------------------------------

class DynamoSignInGuard(DirectoryTable):
    """See accounts.services.sign_in: each move of a user name's counter is conditional on the one read."""

    def state(self, account_key: str) -> GuardState:
        item = self._get(f"GUARD#{account_key}", "SIGNIN")
        if item is None:
            return GuardState()
        return GuardState(int(item.failures or 0), int(item.blocked_until or 0), int(item.rev or 0))

    def reserve(self, account_key: str, expected: GuardState, failures: int, blocked_until: int, client_key: str,
                window: str, client_cap: int, ttl: int) -> None:
        M = self.M
        moved = M.pk.does_not_exist() if expected.rev == 0 else (M.rev == expected.rev)
        try:
            with self._tx() as tx:
                tx.update(M(f"GUARD#{account_key}", "SIGNIN"), condition=moved, actions=[
                    M.failures.set(failures), M.blocked_until.set(blocked_until), M.rev.set(expected.rev + 1),
                    M.kind.set("sign_in_guard"), M.ttl.set(ttl)])
                tx.update(M(f"RATE#{client_key}", window), condition=M.count.does_not_exist() | (M.count < client_cap),
                          actions=[M.count.add(1), M.ttl.set(ttl), M.kind.set("sign_in_rate")])
        except TransactWriteError as exc:
            reasons = cancellation_reasons(exc)  # updates, in order: the user name's counter, the client's
            if failed_at(reasons, 1):
                raise SendLimitError("hour", "client") from None
            if failed_at(reasons, 0) or transient(reasons):
                raise StaleRecordError(account_key) from None
            raise

    def release(self, account_key: str, client_key: str | None, window: str | None) -> None:
        M = self.M
        try:
            M(f"GUARD#{account_key}", "SIGNIN").update(
                actions=[M.failures.set(0), M.blocked_until.set(0), M.rev.add(1)], condition=M.pk.exists())
        except UpdateError as exc:
            if not is_conditional(exc):
                raise
        if client_key and window:
            try:
                M(f"RATE#{client_key}", window).update(actions=[M.count.add(-1)], condition=M.count > 0)
            except UpdateError as exc:
                if not is_conditional(exc):
                    raise


# --- bank links ----------------------------------------------------------------------------------------------------

class DynamoBankLinkStore(DirectoryTable):
    def get_link(self, account_id: str) -> BankLink | None:
        item = self._get(f"ACC#{account_id}", "LINK")
        return BankLink(**json.loads(item.doc)) if item is not None else None

    def create_link(self, link: BankLink, claim: TokenClaim) -> None:
        M = self.M
        item = M(f"ACC#{link.account_id}", "LINK", kind="bank_link", doc=json.dumps(asdict(link), ensure_ascii=False))
        try:
            with self._tx() as tx:
                tx.save(item, condition=M.pk.does_not_exist())  # one link per account, by its key
                consume_token(tx, self.M, claim)
        except TransactWriteError as exc:
            reasons = cancellation_reasons(exc)
            if failed_at(reasons, 0):
                raise AlreadyExistsError("link") from None
            if failed_at(reasons, 1):
                raise TokenRejectedError() from None
            raise

    def is_linked(self, citizen_sub: str, bank_code: str) -> bool:
        """The payment flow's `BankLinks` port (one read; loads nothing of the account use cases)."""
        link = self.get_link(citizen_sub)
        return link is not None and link.bank_code == bank_code

    def delete_link(self, account_id: str) -> bool:
        M = self.M
        try:
            M(f"ACC#{account_id}", "LINK").delete(condition=M.pk.exists())
        except DeleteError as exc:
            if is_conditional(exc):
                return False
            raise
        return True


# --- payment history (the ledger) ----------------------------------------------------------------------------------
