"""What the OTP, officer, citizen-account, sign-in and bank-link use cases need from the outside world.

DynamoDB (`adapters/dynamo.py`), S3 (`adapters/scans.py`), the banks' internet-banking directory
(`adapters/ibanking.py`) and the Cognito user pool (`identity.cognito`, through `identity.ports.UserDirectory`)
implement these; `tests/fakes_accounts.py` holds the in-memory versions. Records are frozen dataclasses: a use case
changes one by building a new one and writing it conditionally on the ``rev`` it read.

Passwords are the user pool's alone: nothing here stores or compares one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from chalicelib.accounts.domain import masked_tax_code
from chalicelib.core.clock import Clock
from chalicelib.core.ports import Sealer
from chalicelib.core.tallies import Tally
from chalicelib.identity.ports import UserDirectory
from chalicelib.otp.ports import Keyring, OtpStore, TokenClaim
from chalicelib.outbox.domain import Intent


@dataclass(frozen=True)
class Unit:
    code: str  # agency identification code (mã định danh), e.g. 000.00.15.H35
    name: str
    created_at: str


@dataclass(frozen=True)
class OfficerUser:
    """A staff user (officer, province administrator, operator): the directory's record is the authority on their
    roles, units, rights and province; the user pool's groups follow the roles (tokens carry them) and every staff
    request is checked against this record."""

    user_id: str  # the staff user name in the user pool (lower case)
    full_name: str
    phone: str  # E.164
    id_hash: str  # keyed hash of the ID number (also what an ID / personal tax code search matches)
    id_last3: str
    issuer: str  # Issuer value
    status: str  # "active" | "locked" | "deleted"
    created_at: str
    tax_code: str | None = None  # a 10/13-digit tax code only; a personal (12-digit) one: the two fields below
    tax_code_hash: str | None = None  # keyed hash (Keyring.id_hash) of a personal tax code: what a search matches
    tax_code_last3: str | None = None  # what its masked view shows
    units: tuple[str, ...] = ()
    rights: tuple[str, ...] = ()
    rev: int = 1
    roles: tuple[str, ...] = ()  # officer (from the first unit), province_admin, operator
    province_agency: str | None = None  # a province administrator's province: level-1 agency code 000.00.00.Hxx
    sub: str = ""  # the user pool's immutable id of this user
    valid_after: int = 0  # tokens issued before (see identity.domain.token_revoked) are refused
    kept_session: str | None = None

    @property
    def tax_code_masked(self) -> str | None:
        return masked_tax_code(self.tax_code, self.tax_code_last3)


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
    must_change_password: bool  # the temporary password from the SMS has not been replaced yet
    created_by: str  # officer subject
    unit_code: str
    created_at: str
    scan_key: str
    tax_code: str | None = None  # a 10/13-digit tax code only (see domain.kept_tax_code)
    status: str = "active"
    rev: int = 1
    sub: str = ""  # the user pool's id of the citizen (user name: id_hash)
    temp_password_expires_at: int = 0
    # A personal (12-digit) tax code, which is the citizen's own ID number: its keyed hash, last three digits and a
    # sealed copy (core.ports.Sealer) that only the owner's profile and the tax authority lookup open.
    tax_code_hash: str | None = None
    tax_code_last3: str | None = None
    tax_code_sealed: str | None = None

    @property
    def has_tax_code(self) -> bool:
        return bool(self.tax_code or self.tax_code_hash)

    @property
    def tax_code_masked(self) -> str | None:
        return masked_tax_code(self.tax_code, self.tax_code_last3)


@dataclass(frozen=True)
class CitizenLogin:
    """What a citizen's token is checked against on every request (the ID-number key's item: one read)."""

    account_id: str
    sub: str = ""
    valid_after: int = 0
    kept_session: str | None = None


@dataclass(frozen=True)
class GuardState:
    """Wrong passwords in a row for one user name, and until when the next attempt must wait."""

    failures: int = 0
    blocked_until: int = 0
    rev: int = 0  # 0: no record yet


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

    def create_user(self, user: OfficerUser, audit: AuditEntry, intents: Sequence[Intent] = ()) -> None: ...

    def get_user(self, user_id: str) -> OfficerUser | None: ...

    def list_users(self) -> list[OfficerUser]: ...

    def update_user(self, user: OfficerUser, expected_rev: int, audit: AuditEntry) -> None:
        """The user and its audit entry, together, if the stored rev is still ``expected_rev``."""

    def list_audit(self, user_id: str) -> list[AuditEntry]: ...

    def revoke_user_sessions(self, user_id: str, valid_after: int, kept_session: str | None) -> None:
        """Refuse the user's tokens issued before ``valid_after`` from now on (moves the record's rev)."""


class CitizenAccounts(Protocol):
    def account_id_for(self, id_hash: str) -> str | None: ...

    def login(self, id_hash: str) -> CitizenLogin | None: ...

    def create(self, account: CitizenAccount, claim: TokenClaim, intents: Sequence[Intent] = (),
               tallies: Sequence[Tally] = ()) -> None:
        """One transaction: the ID-number key (must be free), the account, the intents, the token consumed and the
        report tallies added (the unit's registration figures)."""

    def get_account(self, account_id: str) -> CitizenAccount | None: ...

    def update(self, account: CitizenAccount, expected_rev: int, claim: TokenClaim | None = None,
               intents: Sequence[Intent] = ()) -> None: ...

    def revoke_sessions(self, id_hash: str, valid_after: int, kept_session: str | None,
                        claim: TokenClaim | None = None, intents: Sequence[Intent] = ()) -> None:
        """Refuse the citizen's tokens issued before ``valid_after`` (with the verification token that authorises
        it consumed, and the intents written, in the same transaction when given)."""

    def list_by_unit(self, unit_code: str, created_from: str, created_to: str) -> list[CitizenAccount]: ...


class SignInGuard(Protocol):
    """Counters of wrong passwords per user name and per client, each move conditional (see services.sign_in)."""

    def state(self, account_key: str) -> GuardState: ...

    def reserve(self, account_key: str, expected: GuardState, failures: int, blocked_until: int, client_key: str,
                window: str, client_cap: int, ttl: int) -> None:
        """One transaction: the user name's counter set to ``failures``/``blocked_until`` if it is still
        ``expected`` (else StaleRecordError), and the client's counter for ``window`` moved by one if below
        ``client_cap`` (else SendLimitError)."""

    def release(self, account_key: str, client_key: str | None, window: str | None) -> None:
        """After a right password (or a reset by OTP): the user name's count back to zero, and the client's attempt
        given back when ``client_key`` is given."""


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


class PaymentHistory(Protocol):
    def payments_of(self, citizen_sub: str, limit: int, cursor: str | None,
                    payer_key: str | None = None) -> tuple[list[Any], str | None]:
        """A page of the citizen's payments, newest first, and an opaque cursor for the next page (ValueError: a
        cursor this history never gave this citizen). With ``payer_key`` (the account's ``id_hash``) also the
        payments made through the anonymous lookup with that ID number."""


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the use cases need it (built by the HTTP layer from the verified token, already checked
    against the directory: see services.sessions; no token: None subject and no roles). ``subject`` is the account
    id of a citizen or the user name of a staff user; ``province_code`` a province administrator's level-1 agency
    code (000.00.00.Hxx) from the directory; ``username``/``access_token`` what the user pool calls need;
    ``client`` the caller's IP."""

    subject: str | None
    roles: frozenset[str] = frozenset()
    province_code: str | None = None
    username: str | None = None
    access_token: str | None = field(default=None, repr=False)
    client: str = ""

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
    users: UserDirectory
    guard: SignInGuard
    history: PaymentHistory
    keys: Keyring
    sealer: Sealer  # personal data kept encrypted at rest (a citizen's personal tax code)
    account_form: Callable[[Mapping[str, Any]], bytes]
    new_id: Callable[[], str]
    new_code: Callable[[], str] | None

    def count(self, name: str, value: int = 1) -> None: ...
