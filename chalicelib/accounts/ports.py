"""What the OTP, officer, citizen-account and bank-link use cases need from the outside world.

DynamoDB (`adapters/dynamo/accounts.py`), S3 (`adapters/files.py`), the banks' internet-banking directory
(`adapters/banks/ibanking.py`), Argon2 and the token issuer implement these; `tests/fakes_accounts.py` holds the
in-memory versions. Records are frozen dataclasses: a use case changes one by building a new one and writing it
conditionally on the ``rev`` it read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from chalicelib.core.clock import Clock
from chalicelib.core.tallies import Tally
from chalicelib.otp.ports import Keyring, OtpStore, TokenClaim
from chalicelib.outbox.domain import Intent


@dataclass(frozen=True)
class Unit:
    code: str  # agency identification code (mã định danh), e.g. 000.00.15.H35
    name: str
    created_at: str


@dataclass(frozen=True)
class OfficerUser:
    user_id: str  # the identity provider's subject
    full_name: str
    phone: str  # E.164
    id_hash: str  # keyed hash of the ID number (also what an ID / personal tax code search matches)
    id_last3: str
    issuer: str  # Issuer value
    status: str  # "active" | "locked"
    created_at: str
    tax_code: str | None = None
    units: tuple[str, ...] = ()
    rights: tuple[str, ...] = ()
    rev: int = 1


@dataclass(frozen=True)
class AuditEntry:
    user_id: str  # whose rights or units changed
    at: str
    actor: str
    action: str  # GRANT_RIGHT | REVOKE_RIGHT | ASSIGN_UNIT | REMOVE_UNIT | REGISTER_USER
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CitizenAccount:
    account_id: str
    id_hash: str
    id_last3: str
    full_name: str
    date_of_birth: str
    sex: str | None
    phone: str  # E.164
    email: str | None
    password_hash: str
    must_change_password: bool
    created_by: str  # officer subject
    unit_code: str
    created_at: str
    scan_key: str
    tax_code: str | None = None
    status: str = "active"
    sign_in_failures: int = 0
    last_failure_at: int = 0
    rev: int = 1


@dataclass(frozen=True)
class BankLink:
    account_id: str
    bank_code: str
    username_masked: str
    account_number_masked: str
    holder_name: str
    linked_at: str


@dataclass(frozen=True)
class BankAccountInfo:
    """What a bank tells us about an internet-banking account (never stored as such)."""

    bank_code: str
    username: str
    holder_name: str
    id_number: str
    otp_phone: str
    account_number: str


@dataclass(frozen=True)
class ScanObject:
    size: int
    head: bytes | None  # the whole content when size <= the limit, else None
    metadata: dict[str, str]
    encryption: str | None


class Directory(Protocol):
    """Units, officer users and the audit trail of their rights."""

    def create_unit(self, unit: Unit) -> None: ...

    def get_unit(self, code: str) -> Unit | None: ...

    def get_units(self, codes: Iterable[str]) -> dict[str, Unit]: ...

    def list_units(self) -> list[Unit]: ...

    def create_user(self, user: OfficerUser, audit: AuditEntry) -> None: ...

    def get_user(self, user_id: str) -> OfficerUser | None: ...

    def list_users(self) -> list[OfficerUser]: ...

    def update_user(self, user: OfficerUser, expected_rev: int, audit: AuditEntry) -> None:
        """The user and its audit entry, together, if the stored rev is still ``expected_rev``."""

    def list_audit(self, user_id: str) -> list[AuditEntry]: ...


class CitizenAccounts(Protocol):
    def account_id_for(self, id_hash: str) -> str | None: ...

    def create(self, account: CitizenAccount, claim: TokenClaim, intents: Sequence[Intent] = (),
               tallies: Sequence[Tally] = ()) -> None:
        """One transaction: the ID-number key (must be free), the account, the intents, the token consumed and the
        report tallies added (the unit's registration figures)."""

    def get_account(self, account_id: str) -> CitizenAccount | None: ...

    def update(self, account: CitizenAccount, expected_rev: int, claim: TokenClaim | None = None) -> None: ...

    def record_sign_in_failure(self, account_id: str, now: int, reset: bool = False) -> None:
        """Count a failed password (atomically); ``reset`` starts the count again at one."""

    def list_by_unit(self, unit_code: str, created_from: str, created_to: str) -> list[CitizenAccount]: ...


class BankLinkStore(Protocol):
    def get_link(self, account_id: str) -> BankLink | None: ...

    def create_link(self, link: BankLink, claim: TokenClaim) -> None:
        """The link (one per account: AlreadyExistsError if there is one) and the token consumed, together."""

    def delete_link(self, account_id: str) -> bool: ...


class ScanFiles(Protocol):
    def upload_form(self, key: str, content_type: str, metadata: dict[str, str], max_bytes: int,
                    expires_s: int) -> dict[str, Any]: ...

    def fetch(self, key: str, max_bytes: int) -> ScanObject | None: ...

    def delete(self, key: str) -> None: ...


class BankDirectory(Protocol):
    def lookup(self, bank_code: str, username: str) -> BankAccountInfo | None: ...


class TokenIssuer(Protocol):
    def issue(self, subject: str, roles: list[str], ttl_s: int) -> str: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class PaymentHistory(Protocol):
    def payments_of(self, citizen_sub: str, limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
        """A page of the citizen's payments, newest first, and an opaque cursor for the next page."""


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the use cases need it (built by the HTTP layer from the verified token; no token: None
    subject and no roles)."""

    subject: str | None
    roles: frozenset[str] = frozenset()
    province_code: str | None = None

    def has(self, role: str) -> bool:
        return role in self.roles



class AccountsContext(Protocol):
    """The part of the service context the officer, citizen-account and bank-link use cases read (settings: the
    account limits, `otp` the OtpPolicy, `sso_banks`)."""

    settings: Any
    clock: Clock
    otp: OtpStore
    directory: Directory
    accounts: CitizenAccounts
    links: BankLinkStore
    files: ScanFiles
    banks: BankDirectory
    tokens: TokenIssuer
    passwords: PasswordHasher
    history: PaymentHistory
    keys: Keyring
    account_form: Callable[[Mapping[str, Any]], bytes]
    new_id: Callable[[], str]
    new_code: Callable[[], str] | None

    def count(self, name: str, value: int = 1) -> None: ...
