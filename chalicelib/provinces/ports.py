"""What the province-integration use cases (registry, delivery, alerts, sweeper, re-drive, API check) need from the
outside world, and the settings they run with. DynamoDB/SQS/SNS/Secrets Manager/HTTP adapters and the in-memory
fakes of tests/fakes.py implement these."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol

from chalicelib.core.clock import Clock
from chalicelib.core.tallies import Tally
from chalicelib.provinces.domain.delivery import AlertKind, ApiType, Delivery
from chalicelib.provinces.domain.registry import ProvinceApi, StoredCredentials


@dataclass(frozen=True)
class DeliverySettings:
    """A section of the one Settings (`settings.delivery`); tests build their own."""

    backoff_scale: float = 1.0  # 0 in the test stage: the whole 17-attempt window runs in seconds
    failing_alert_after_s: int = 2 * 3600  # alert when a province has been failing this long
    alert_window_s: int = 24 * 3600  # at most one alert burst per province per window (and one escalation)
    sweep_grace_s: int = 600  # a PENDING receipt older than this was never sent (or its message was lost)
    config_cache_s: float = 60.0  # province API configuration cached per container
    token_ttl_default_s: int = 1800  # when the province's session answer has no expires_in
    https_only: bool = True  # production; the local stages also allow loopback http (the simulated province)
    allow_loopback: bool = False
    # Even where loopback is allowed, only these ports (the simulated province's and bank's): any other local port
    # may be the moto server, whose state an API check must not read. Filled by the local stack.
    allowed_loopback_ports: tuple[int, ...] = ()
    check_body_cap_bytes: int = 16 * 1024
    check_timeout_s: float = 5.0


class ConcurrentChangeError(Exception):
    """A registry item changed between read and conditional write."""


class ProvinceCallError(Exception):
    """A failed call to a province: ``code`` (stable, e.g. HTTP_500, TIMEOUT) and a short safe ``detail``
    (never the body of the answer, which may echo personal data)."""

    def __init__(self, code: str, detail: str = "", *, unavailable: bool = False) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code, self.detail = code, detail
        # True when the province cannot be reached at all (timeout, refused): the rest of the batch for this
        # province is not attempted in this invocation.
        self.unavailable = unavailable


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool
    latency_ms: float


class ProvinceHttp(Protocol):
    def post_json(self, url: str, payload: Any, headers: dict[str, str], connect_timeout_s: float,
                  read_timeout_s: float, body_cap: int = 1 << 20, raw_body: bytes | None = None) -> HttpAnswer:
        """POST JSON (``raw_body``: these exact bytes) without following redirects. Raises ProvinceCallError (TIMEOUT, CONNECTION) and
        UrlRefusedError (the SSRF guard)."""


class ProvinceRegistry(Protocol):
    def get_apis(self, agency_code: str) -> dict[ApiType, ProvinceApi]: ...

    def list_apis(self) -> list[ProvinceApi]: ...

    def put_api(self, api: ProvinceApi, expected_version: int | None, audit: dict[str, Any],
                intents: Iterable[Any] = ()) -> None:
        """Store the configuration, its audit record and the outbox intents in one transaction (optimistic on
        ``version``)."""

    def audit(self, agency_code: str, record: dict[str, Any]) -> None: ...

    def list_audit(self, agency_code: str, limit: int = 100) -> list[dict[str, Any]]: ...

    def get_contacts(self, unit_code: str, service_type: str) -> dict[str, Any] | None: ...

    def list_contacts(self, unit_prefix: str | None = None) -> list[dict[str, Any]]: ...

    def put_contacts(self, unit_code: str, service_type: str, contacts: dict[str, Any],
                     audit: dict[str, Any], intents: Iterable[Any] = ()) -> None: ...

    def delete_contacts(self, unit_code: str, service_type: str, audit: dict[str, Any]) -> bool: ...

    def open_alert_window(self, province: str, level: int, now_epoch: int, window_s: int) -> bool:
        """Conditional write: True if no alert of this level or higher was sent for the province in the window."""

    def record_alert(self, province: str, record: dict[str, Any], intents: Iterable[Any] = ()) -> None:
        """The alert log entry and the intents that send the alert (SMS, email, operators' copy), together."""

    def list_alerts(self, province: str) -> list[dict[str, Any]]: ...


class CredentialStore(Protocol):
    def get(self, agency_code: str, api_type: ApiType, min_version: int = 0) -> StoredCredentials | None:
        """The stored credentials; a cached copy older than ``min_version`` is read again."""

    def store_versioned(self, agency_code: str, api_type: str, credentials: dict[str, str], version: int) -> bool:
        """Write unless a later version is stored (the outbox's channel; never called on the request path)."""


class DeliveryLedger(Protocol):
    def mark_delivered(self, delivery: Delivery, at: str, tally: Tally | None = None) -> None:
        """One write: state DELIVERED, attempts + 1. With a report tally: write and tally in one transaction, only
        if not DELIVERED yet (a duplicate message counts nothing)."""

    def mark_failed(self, delivery: Delivery, *, error: str, at: str, first_attempt_at: str, next_attempt_at: str | None,
                    dead: bool, tally: Tally | None = None) -> None:
        """One write: state FAILING (or DEAD), attempts + 1, last error; never overwrites DELIVERED. The report
        tally is added only with the first failure (FAILING) or the move to DEAD."""

    def counts(self, province: str, kind: str | None = None) -> dict[str, int]:
        """Deliveries per state; ``kind`` (receipt | notice) counts one kind only."""

    def oldest_open_failure(self, province: str) -> str | None: ...

    def page(self, province: str, state: str, kind: str | None, limit: int,
             cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the province's deliveries in ``state``, newest first (``kind``: receipt | notice only), each
        as the DeliveryItem fields, and the next page's opaque cursor (None: no more). ValueError for a cursor
        that is not a position inside this province's ``state`` listing."""

    def stale_pending(self, cutoff_iso: str, limit: int = 500) -> list[Delivery]:
        """PENDING deliveries issued before ``cutoff_iso`` and not swept since then."""

    def mark_swept(self, delivery: Delivery, at: str) -> None: ...

    def dead(self, province: str, limit: int = 1000) -> list[Delivery]: ...

    def reset_to_pending(self, delivery: Delivery, at: str, intents: Iterable[Any] = ()) -> bool:
        """DEAD -> PENDING (re-drive); False if it was no longer DEAD."""

    def delivery_state(self, delivery: Delivery) -> dict[str, Any] | None: ...


class DeliveryQueue(Protocol):
    def send(self, deliveries: Iterable[Delivery]) -> None: ...

    def postpone(self, receipt_handle: str, seconds: int) -> None:
        """Hide the message for ``seconds`` (the backoff: ChangeMessageVisibility)."""

    def drain_dead_letters(self, province: str) -> int:
        """Delete the dead-letter messages of ``province`` (their deliveries were re-enqueued); return how many."""


class AlertChannels(Protocol):
    def sms(self, phone_e164: str, text: str) -> None: ...

    def email(self, recipients: list[str], subject: str, text: str, province: str) -> None: ...

    def ops(self, kind: str, subject: str, details: dict[str, Any]) -> None: ...

    def subscribe_email(self, email: str) -> None:
        """Make sure the address receives the alert emails meant for it (idempotent)."""


class StepEvents(Protocol):
    def record(self, province: str, step: int, evidence: dict[str, Any]) -> None:
        """Report what happened towards one of the six integration steps (M11: step 1 an API check answered
        correctly, step 4 a delivery reached the province's APIs). Implemented by onboarding, wired by the
        composition root: this capability never imports onboarding."""


class ProvincesContext(Protocol):
    """The part of the service context the province use cases read (`settings.delivery` is the DeliverySettings;
    `caches` the per-container caches this capability fills)."""

    settings: Any
    clock: Clock
    registry: ProvinceRegistry
    credentials: CredentialStore
    deliveries: DeliveryLedger
    queue: DeliveryQueue
    http: ProvinceHttp
    alerts: AlertChannels
    receipt_pdf: Callable[[dict[str, Any]], bytes]
    sealer: Any  # opens the payer's sealed ID number for the payment-result payload
    new_id: Callable[[], str]
    caches: dict[str, Any]
    step_events: StepEvents

    def count(self, name: str, value: int = 1) -> None: ...


__all__ = ["AlertChannels", "AlertKind", "CredentialStore", "DeliveryLedger", "DeliveryQueue", "DeliverySettings",
           "HttpAnswer", "ProvinceCallError", "ProvinceHttp", "ProvinceRegistry", "ProvincesContext", "StepEvents"]


@dataclass(frozen=True)
class Actor:
    """Who is calling an administration use case (built by the HTTP layer from the verified token)."""

    subject: str
    operator: bool  # role operator: every province
    province_claim: str | None = None  # role province_admin: the province in the token
