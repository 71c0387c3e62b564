"""In-memory fakes of the province-integration ports (services/delivery_ports.py), plus a fake SQS queue with
visibility timeouts, receive counts and a dead-letter queue driven by the injected clock, so that three days of
retries run in milliseconds."""
from __future__ import annotations

import json
import threading
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.config import Settings
from chalicelib.core.clock import FixedClock
from chalicelib.core.context import Context
from chalicelib.provinces.domain.delivery import MAX_ATTEMPTS, ApiType, Delivery
from chalicelib.provinces.domain.registry import Credentials, ProvinceApi, StoredCredentials
from chalicelib.provinces.ports import ConcurrentChangeError, HttpAnswer, ProvinceCallError
from chalicelib.provinces.services.forwarding import Attempt, BatchState, handle_message
from tests.fakes import START, FakeOutbox


class FakeRegistry:
    """Writes what the adapter writes in one transaction together: the outbox (tests.fakes.FakeOutbox) then sends
    the intents at once through the real outbox use case, as the stream consumer would."""

    def __init__(self, outbox: Any = None) -> None:
        self.outbox = outbox
        self.apis: dict[tuple[str, ApiType], ProvinceApi] = {}
        self.audits: dict[str, list[dict]] = {}
        self.contacts: dict[tuple[str, str], dict] = {}
        self.windows: dict[str, tuple[int, int]] = {}
        self.alerts: dict[str, list[dict]] = {}
        self.reads = 0

    def get_apis(self, agency_code: str) -> dict[ApiType, ProvinceApi]:
        self.reads += 1
        return {t: a.model_copy() for (code, t), a in self.apis.items() if code == agency_code}

    def list_apis(self) -> list[ProvinceApi]:
        return [a.model_copy() for a in self.apis.values()]

    def _commit(self, intents) -> None:
        intents = list(intents)
        if intents and self.outbox is not None:
            self.outbox.accept(intents)

    def put_api(self, api: ProvinceApi, expected_version: int | None, audit: dict, intents=()) -> None:
        current = self.apis.get((api.agency_code, api.api_type))
        if (current.version if current else None) != expected_version:
            raise ConcurrentChangeError(api.agency_code)
        self.apis[(api.agency_code, api.api_type)] = api.model_copy()
        self.audit(api.agency_code, audit)
        self._commit(intents)

    def audit(self, agency_code: str, record: dict) -> None:
        self.audits.setdefault(agency_code, []).append(json.loads(json.dumps(record, default=str)))

    def list_audit(self, agency_code: str, limit: int = 100) -> list[dict]:
        return list(reversed(self.audits.get(agency_code, [])))[:limit]

    def get_contacts(self, unit_code: str, service_type: str) -> dict | None:
        found = self.contacts.get((unit_code, service_type))
        return deepcopy(found) if found else None

    def list_contacts(self, unit_prefix: str | None = None) -> list[dict]:
        return [{**deepcopy(v), "unit_code": u, "service_type": s} for (u, s), v in self.contacts.items()]

    def put_contacts(self, unit_code: str, service_type: str, contacts: dict, audit: dict, intents=()) -> None:
        from chalicelib.provinces.domain.registry import province_of_unit

        self.contacts[(unit_code, service_type)] = deepcopy(contacts)
        self.audit(province_of_unit(unit_code), audit)
        self._commit(intents)

    def delete_contacts(self, unit_code: str, service_type: str, audit: dict) -> bool:
        from chalicelib.provinces.domain.registry import province_of_unit

        if self.contacts.pop((unit_code, service_type), None) is None:
            return False
        self.audit(province_of_unit(unit_code), audit)
        return True

    def open_alert_window(self, province: str, level: int, now_epoch: int, window_s: int) -> bool:
        current = self.windows.get(province)
        if current is None or current[1] <= now_epoch or current[0] < level:
            self.windows[province] = (level, now_epoch + window_s)
            return True
        return False

    def record_alert(self, province: str, record: dict, intents=()) -> None:
        self.alerts.setdefault(province, []).append(deepcopy(record))
        self._commit(intents)

    def list_alerts(self, province: str) -> list[dict]:
        return deepcopy(self.alerts.get(province, []))


class FakeCredentials:
    def __init__(self) -> None:
        self.store: dict[tuple[str, ApiType], str] = {}
        self.reads = 0
        self.writes = 0

    def get(self, agency_code: str, api_type: ApiType, min_version: int = 0) -> StoredCredentials | None:
        self.reads += 1
        raw = self.store.get((agency_code, api_type))
        return StoredCredentials.model_validate_json(raw) if raw else None

    def store_versioned(self, agency_code: str, api_type: str, credentials: dict, version: int) -> bool:
        current = self.get(agency_code, ApiType(api_type))
        if current is not None and current.version >= version:
            return False
        self.writes += 1
        self.store[(agency_code, ApiType(api_type))] = json.dumps({**credentials, "version": version})
        return True


class FakeDeliveryLedger:
    """Mirrors DynamoDeliveries: one record per subject, DELIVERED never undone by a failure, counts per state."""

    def __init__(self, outbox: Any = None) -> None:
        self.outbox = outbox
        self.records: dict[str, dict] = {}
        self.writes = 0
        self.tallies: list = []  # report tallies counted with the transitions (core.tallies.Tally)
        self._lock = threading.Lock()

    def add_pending(self, delivery: Delivery, since: str) -> None:
        self.records[delivery.subject_id] = {"delivery": delivery, "state": "PENDING", "attempts": 0, "since": since}

    def _rec(self, delivery: Delivery) -> dict:
        return self.records.setdefault(delivery.subject_id, {"delivery": delivery, "state": "PENDING", "attempts": 0,
                                                             "since": ""})

    def mark_delivered(self, delivery: Delivery, at: str, tally=None) -> None:
        with self._lock:
            self.writes += 1
            rec = self._rec(delivery)
            if tally is not None and rec["state"] != "DELIVERED":
                self.tallies.append(tally)
            rec.update(state="DELIVERED", delivered_at=at, since=at, attempts=rec["attempts"] + 1)

    def mark_failed(self, delivery: Delivery, *, error: str, at: str, first_attempt_at: str,
                    next_attempt_at: str | None, dead: bool, tally=None) -> None:
        with self._lock:
            self.writes += 1
            rec = self._rec(delivery)
            if rec["state"] == "DELIVERED":
                return
            first = "first_failed_at" not in rec
            if tally is not None and ((dead and rec["state"] != "DEAD") or (not dead and first)):
                self.tallies.append(tally)
            rec.update(state="DEAD" if dead else "FAILING", last_error=error, last_attempt_at=at,
                       since=first_attempt_at, next_attempt_at=next_attempt_at, attempts=rec["attempts"] + 1)
            rec.setdefault("first_failed_at", first_attempt_at)

    def counts(self, province: str, kind: str | None = None) -> dict[str, int]:
        out = {s: 0 for s in ("PENDING", "DELIVERED", "FAILING", "DEAD")}
        for rec in self.records.values():
            if rec["delivery"].province == province and kind in (None, rec["delivery"].kind):
                out[rec["state"]] += 1
        return out

    def oldest_open_failure(self, province: str) -> str | None:
        times = [r["since"] for r in self.records.values()
                 if r["delivery"].province == province and r["state"] in ("FAILING", "DEAD")]
        return min(times, key=datetime.fromisoformat) if times else None

    def page(self, province: str, state: str, kind: str | None, limit: int, cursor: str | None):
        rows = sorted(((subject, r) for subject, r in self.records.items() if r["delivery"].province == province
                       and r["state"] == state and kind in (None, r["delivery"].kind)),
                      key=lambda sr: (sr[1]["since"], sr[0]), reverse=True)
        start = 0
        if cursor is not None:
            if not cursor.startswith(f"{state}:") or not cursor.split(":", 1)[1].isdigit():
                raise ValueError("cursor")
            start = int(cursor.split(":", 1)[1])
        chunk = rows[start:start + limit]
        items = [{"kind": r["delivery"].kind, "subject_id": subject, "state": state, "since": r["since"],
                  "attempts": r["attempts"], **{k: r[k] for k in ("last_error", "last_attempt_at", "next_attempt_at",
                                                                  "delivered_at", "redriven_at") if r.get(k)}}
                 for subject, r in chunk]
        return items, (f"{state}:{start + limit}" if start + limit < len(rows) else None)

    def stale_pending(self, cutoff_iso: str, limit: int = 500) -> list[Delivery]:
        cutoff = datetime.fromisoformat(cutoff_iso)
        return [r["delivery"] for r in self.records.values()
                if r["state"] == "PENDING" and datetime.fromisoformat(r["since"]) < cutoff][:limit]

    def mark_swept(self, delivery: Delivery, at: str) -> None:
        rec = self.records[delivery.subject_id]
        if rec["state"] == "PENDING":
            rec.update(since=at, swept_at=at)

    def dead(self, province: str, limit: int = 1000) -> list[Delivery]:
        return [r["delivery"] for r in self.records.values()
                if r["delivery"].province == province and r["state"] == "DEAD"][:limit]

    def reset_to_pending(self, delivery: Delivery, at: str, intents=()) -> bool:
        rec = self.records.get(delivery.subject_id)
        if rec is None or rec["state"] != "DEAD":
            return False
        rec.update(state="PENDING", since=at, redriven_at=at)
        if intents and self.outbox is not None:
            self.outbox.accept(list(intents))
        return True

    def delivery_state(self, delivery: Delivery) -> dict | None:
        rec = self.records.get(delivery.subject_id)
        return {k: v for k, v in rec.items() if k != "delivery"} if rec else None


@dataclass
class _Message:
    id: int
    body: str
    visible_at: float = 0.0
    receives: int = 0
    first_receive: float | None = None


class FakeQueue:
    """SQS semantics the consumer relies on: receive count, visibility (postpone), maxReceiveCount -> DLQ on the
    next receive, deletion of delivered messages. Time is the injected clock."""

    def __init__(self, clock: FixedClock, max_receive_count: int = MAX_ATTEMPTS) -> None:
        self.clock, self.max_receive_count = clock, max_receive_count
        self.messages: list[_Message] = []
        self.dlq: list[_Message] = []
        self.sent = 0
        self._next = 0
        self._handles: dict[str, _Message] = {}

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def enqueue_message(self, message: dict) -> None:
        self.send([Delivery.from_message(message)])

    def send(self, deliveries) -> None:
        for d in deliveries:
            self._next += 1
            self.sent += 1
            self.messages.append(_Message(self._next, json.dumps(d.to_message(), ensure_ascii=False)))

    def postpone(self, receipt_handle: str, seconds: int) -> None:
        self._handles[receipt_handle].visible_at = self._now() + seconds

    def drain_dead_letters(self, province: str) -> int:
        mine = [m for m in self.dlq if json.loads(m.body)["province"] == province]
        self.dlq = [m for m in self.dlq if m not in mine]
        return len(mine)

    def receive(self, max_messages: int = 10) -> list[_Message]:
        now, out = self._now(), []
        for m in list(self.messages):
            if m.visible_at > now:
                continue
            if m.receives >= self.max_receive_count:
                self.messages.remove(m)
                self.dlq.append(m)
                continue
            m.receives += 1
            m.first_receive = m.first_receive or now
            m.visible_at = now + 120  # the queue's default visibility timeout
            out.append(m)
            if len(out) == max_messages:
                break
        return out

    def run(self, psvc: Context, until_idle: bool = True, max_batches: int = 10_000) -> int:
        """Poll like Lambda's event source, moving the clock to the next visible message when none is visible."""
        from chalicelib.core.clock import VN_TZ

        batches = 0
        while batches < max_batches:
            batch = self.receive()
            if not batch:
                pending = [m.visible_at for m in self.messages]
                if not pending or not until_idle:
                    return batches
                self.clock._now = datetime.fromtimestamp(max(min(pending), self._now()), VN_TZ)
                continue
            batches += 1
            state = BatchState()
            for m in batch:
                handle = f"h{m.id}-{m.receives}"
                self._handles[handle] = m
                attempt = Attempt(m.receives, datetime.fromtimestamp(m.first_receive, VN_TZ), handle)
                if handle_message(psvc, m.body, attempt, state):
                    self.messages.remove(m)
        return batches


class FakeAlertChannels:
    def __init__(self) -> None:
        self.sms_sent: list[tuple[str, str]] = []
        self.emails: list[dict] = []
        self.ops_alerts: list[tuple[str, str, dict]] = []
        self.subscribed: set[str] = set()

    def sms(self, phone_e164: str, text: str) -> None:
        self.sms_sent.append((phone_e164, text))

    send_sms = sms  # the outbox's SMS channel (ctx.sms) in these tests

    def email(self, recipients: list[str], subject: str, text: str, province: str) -> None:
        self.emails.append({"recipients": list(recipients), "subject": subject, "text": text, "province": province})

    def ops(self, kind: str, subject: str, details: dict) -> None:
        self.ops_alerts.append((kind, subject, deepcopy(details)))

    def subscribe_email(self, email: str) -> None:
        self.subscribed.add(email)


@dataclass
class FakeProvince:
    """ProvinceHttp for unit tests: session URL ``https://<host>/session``, data URLs anything else on the host.
    ``mode`` as the simulated province: ok, 500, timeout, 401, invalid_json (``times`` then back to ok)."""

    clock: FixedClock
    username: str = "user"
    password: str = "secret-pass"
    token_ttl_s: int = 1800
    mode: str = "ok"
    times: int | None = None
    tokens: dict[str, float] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)
    session_calls: int = 0
    data_calls: int = 0
    calls: list[tuple[str, dict]] = field(default_factory=list)
    _n: int = 0

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def post_json(self, url: str, payload: Any, headers: dict[str, str], connect_timeout_s: float,
                  read_timeout_s: float, body_cap: int = 1 << 20) -> HttpAnswer:
        self.calls.append((url, {k: v for k, v in headers.items()}))
        if url.endswith("/session"):
            self.session_calls += 1
            if payload != {"username": self.username, "password": self.password}:
                return _answer(401, {"error_code": "401"})
            self._n += 1
            token = f"tok{self._n}"
            self.tokens[token] = self._now() + self.token_ttl_s
            return _answer(200, {"token": token, "expires_in": self.token_ttl_s})
        self.data_calls += 1
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        if self.tokens.get(token, 0) <= self._now():
            return _answer(401, {"error_code": "401"})
        mode = self.mode
        if mode != "ok" and self.times is not None:
            self.times -= 1
            if self.times <= 0:
                self.mode, self.times = "ok", None
        if mode == "500":
            return _answer(500, {"error_code": "500"})
        if mode == "401":
            return _answer(401, {"error_code": "401"})
        if mode == "invalid_json":
            return HttpAnswer(200, {}, b"<html>oops</html>", False, 1.0)
        if mode == "timeout":
            self.received[payload["message_id"]] = self.received.get(payload["message_id"], 0) + 1  # it arrived late
            raise ProvinceCallError("TIMEOUT", "quá thời gian chờ", unavailable=True)
        self.received[payload["message_id"]] = self.received.get(payload["message_id"], 0) + 1
        return _answer(200, {"error_code": "0", "message": "ok"})

    def expire_tokens(self) -> None:
        self.tokens.clear()


def _answer(status: int, body: Any) -> HttpAnswer:
    return HttpAnswer(status, {"Content-Type": "application/json"}, json.dumps(body).encode(), False, 1.0)


PROVINCE = "000.00.00.H35"


class RecordingStepEvents:
    """The StepEvents port: remembers what the province use cases reported towards the onboarding steps."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, dict]] = []

    def record(self, province: str, step: int, evidence: dict) -> None:
        self.events.append((province, step, dict(evidence)))


def api_config(api_type: ApiType, host: str = "https://motcua.example.vn", **over) -> ProvinceApi:
    return ProvinceApi(agency_code=PROVINCE, api_type=api_type, province_code="12", province_name="Tỉnh Lai Châu",
                       unit_code=PROVINCE, session_url=f"{host}/session", data_url=f"{host}/{api_type.value}",
                       connect_timeout_s=2, read_timeout_s=3, active=True, has_credentials=True,
                       updated_at=START.isoformat(), updated_by="op", **over)


def _sealer():
    from tests.fakes_receipts import sealer

    return sealer()


def make_province_services(clock: FixedClock | None = None, register: bool = True, **overrides) -> Context:
    clock = clock or FixedClock(START)
    outbox = FakeOutbox()
    registry, creds = FakeRegistry(outbox), FakeCredentials()
    province = overrides.pop("http", None) or FakeProvince(clock)
    if register:
        for t in ApiType:
            registry.apis[(PROVINCE, t)] = api_config(t)
            creds.store[(PROVINCE, t)] = Credentials(username="user", password="secret-pass").model_dump_json()
        registry.contacts[(PROVINCE, "land_tax_payment")] = {"phones": ["+84912345001", "+84912345002"],
                                                             "emails": ["canhbao@hanam.example.vn"]}
    fields: dict[str, Any] = {
        "settings": Settings(),
        "clock": clock,
        "registry": registry,
        "credentials": creds,
        "deliveries": FakeDeliveryLedger(outbox),
        "queue": FakeQueue(clock),
        "http": province,
        "alerts": FakeAlertChannels(),
        "outbox": outbox,
        "receipt_pdf": lambda doc: b"%PDF-1.4 fake " + doc["receipt_id"].encode(),
        "sealer": _sealer(),
        "step_events": RecordingStepEvents(),
    }
    fields.update(overrides)
    fields.setdefault("sms", fields["alerts"])
    fields.setdefault("forwarding", fields["queue"])
    ctx = Context(**fields)
    outbox.bind(ctx)
    return ctx


def sample_receipt(n: int = 1, province: str = PROVINCE) -> dict:
    return {
        "receipt_id": f"RCPH35TEST{n:06d}", "receipt_number": f"{n:07d}", "sequence": n,
        "template_symbol": "01BLP0-001", "series": "BI-26T", "collecting_unit_code": province,
        "collecting_unit_name": "Thuế tỉnh Hà Nam", "payer_name": "Nguyễn Thị Trang",
        "dossier_code": "000.00.43.H35-210520-0001", "notice_number": f"TB-{n}",
        "items": [{"sub_item_code": "2801", "description": "Lệ phí trước bạ nhà đất", "amount_vnd": 1378500}],
        "amount_vnd": 1378500, "amount_in_words": "Một triệu ba trăm bảy mươi tám nghìn năm trăm đồng",
        "currency": "VND", "bank_code": "BIDV", "bank_name": "BIDV", "bank_txn_ref": f"FT{n}",
        "paid_at": "2026-05-20T10:01:02+07:00", "issued_at": START.isoformat(), "payment_id": f"PAYH35TEST{n:06d}",
        "delivery_state": "PENDING",
    }
