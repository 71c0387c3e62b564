"""In-memory fakes of the ports in `chalicelib.payments.ports`, for driving the use cases in unit tests.

The ledger fake mirrors `DynamoLedger`: every method checks all the conditions of its DynamoDB transaction under one
lock, writes everything or nothing, and raises the same exceptions. Items are stored as JSON strings, as DynamoDB
stores them, so a caller never shares a mutable object with the store and a test can compare stored bytes.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from copy import deepcopy
from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib.config import Settings
from chalicelib.core.clock import VN_TZ, FixedClock
from chalicelib.core.context import Context
from chalicelib.core.hashing import HmacKeyring
from chalicelib.payments.domain.notices import Dossier
from chalicelib.payments.domain.payments import Payment
from chalicelib.payments.ports import (
    ConcurrentUpdateError,
    IdempotencyConflictError,
    IdempotencyRecord,
    NoticeAlreadyPaidError,
    NoticeBusyError,
)
from chalicelib.receipts.domain import Receipt, receipt_id_for

START = datetime(2026, 5, 20, 9, 0, 0, tzinfo=VN_TZ)
TEST_ID_HASH_KEY = b"unit-test-id-hash-key-never-used-in-production"
TEST_MASTER_KEY = b"unit-test-accounts-master-key-never-used-in-production"  # the accounts' keyring (fakes_accounts)
TEST_VNPAY_SECRET = "UNITTESTVNPAYHASHSECRET000000001"


class TransactionCancelledError(Exception):
    """What DynamoDB raises (TransactWriteError) for a cancelled transaction the adapter does not translate."""


# -- dossiers ---------------------------------------------------------------------------------------------------
class InMemoryDossiers:
    """DossierRepository: one JSON document per dossier, written only if its stored rev is still the expected one."""

    def __init__(self, outbox: FakeOutbox | None = None) -> None:
        from tests.fakes_receipts import InMemoryReminders

        self.lock = threading.Lock()  # shared with InMemoryLedger: its transactions touch dossiers too
        self._items: dict[str, str] = {}
        self.saves = 0
        self.outbox = outbox
        self.lookup_failures: dict[str, tuple[int, int]] = {}  # dossier code -> (failures, last failure epoch)
        self.reminders = InMemoryReminders(self.lock, outbox)

    def get(self, dossier_code: str) -> Dossier | None:
        with self.lock:
            raw = self._items.get(dossier_code)
        return Dossier.model_validate_json(raw) if raw is not None else None

    def get_for_lookup(self, dossier_code: str):
        from chalicelib.payments.domain.lookups import LookupAttempts
        from chalicelib.payments.ports import LookupRead

        with self.lock:
            raw = self._items.get(dossier_code)
            failures, last = self.lookup_failures.get(dossier_code, (0, 0))
        dossier = Dossier.model_validate_json(raw) if raw is not None else None
        return LookupRead(dossier.id_hash if dossier else None, LookupAttempts(failures, last), lambda: dossier)

    def record_lookup_failure(self, dossier_code: str, now_epoch: int, reset: bool) -> None:
        with self.lock:
            failures, _ = self.lookup_failures.get(dossier_code, (0, 0))
            self.lookup_failures[dossier_code] = (1 if reset else failures + 1, now_epoch)

    def save(self, dossier: Dossier, expected_rev: int | None, intents=(), reminders=()) -> None:
        self._save(dossier, expected_rev, reminders)
        if intents:
            self.outbox.accept(intents)

    def _save(self, dossier: Dossier, expected_rev: int | None, reminders=()) -> None:
        with self.lock:
            current = self._items.get(dossier.dossier_code)
            if expected_rev is None:
                ok = current is None
            else:
                ok = current is not None and Dossier.model_validate_json(current).rev == expected_rev
            if not ok:
                raise ConcurrentUpdateError(dossier.dossier_code)
            self._items[dossier.dossier_code] = dossier.model_dump_json()
            for reminder in reminders:
                self.reminders.put_locked(reminder)
            self.saves += 1

    # -- inspection (tests only) --
    def raw(self, dossier_code: str) -> str | None:
        """The stored bytes of a dossier, to prove that a refused call altered nothing."""
        with self.lock:
            return self._items.get(dossier_code)

    def all_raw(self) -> dict[str, str]:
        with self.lock:
            return dict(self._items)

    # -- used by InMemoryLedger while it holds the lock --
    def _load_locked(self, dossier_code: str) -> Dossier | None:
        raw = self._items.get(dossier_code)
        return Dossier.model_validate_json(raw) if raw is not None else None

    def _store_locked(self, dossier: Dossier) -> None:
        self._items[dossier.dossier_code] = dossier.model_dump_json()


# -- outbox -----------------------------------------------------------------------------------------------------
class FakeOutbox:
    """OutboxStore in memory. What a repository commits with its intents is sent at once through the real outbox use
    case (`outbox.services.send`), as the stream consumer would, with the context's fake channels; an intent whose
    send failed stays PENDING until `retry()` (the sweeper's part)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.ctx: Any = None
        self._lock = threading.Lock()

    def bind(self, ctx: Any) -> None:
        self.ctx = ctx

    def accept(self, intents) -> None:
        from chalicelib.core.clock import new_ulid
        from chalicelib.outbox.services import send

        stored = []
        with self._lock:
            for intent in intents:
                intent = replace(intent, intent_id=new_ulid())
                self.items[intent.intent_id] = {"intent": intent, "state": "PENDING", "lease": 0, "due": 0}
                stored.append(intent)
        for intent in stored:
            if self.ctx is not None:
                send(self.ctx, intent)

    def claim(self, intent, now_epoch: int) -> bool:
        with self._lock:
            item = self.items.get(intent.intent_id)
            if item is None or not (item["state"] == "PENDING" or
                                    (item["state"] == "SENDING" and item["lease"] < now_epoch)):
                return False
            item.update(state="SENDING", lease=now_epoch + 120)
            return True

    def sent(self, intent, at: str) -> None:
        with self._lock:
            self.items[intent.intent_id]["state"] = "SENT"

    def failed(self, intent, error: str, now_epoch: int, dead: bool) -> None:
        from chalicelib.outbox.domain import retry_after_s

        with self._lock:
            item = self.items[intent.intent_id]
            attempts = intent.attempts + 1
            item.update(state="DEAD" if dead else "PENDING", intent=replace(intent, attempts=attempts),
                        due=now_epoch + retry_after_s(attempts), error=error)

    def due(self, now_epoch: int, limit: int):
        with self._lock:
            return [i["intent"] for i in self.items.values() if i["state"] == "PENDING" and i["due"] <= now_epoch][:limit]

    def retry(self) -> int:
        """The sweeper, whatever the delay: send every intent still PENDING."""
        from chalicelib.outbox.services import send_all

        with self._lock:
            pending = [i["intent"] for i in self.items.values() if i["state"] == "PENDING"]
        return send_all(self.ctx, pending)

    def states(self, kind: str | None = None) -> list[str]:
        with self._lock:
            return [i["state"] for i in self.items.values() if kind is None or i["intent"].kind == kind]


# -- ledger -----------------------------------------------------------------------------------------------------
class InMemoryLedger:
    """Ledger with DynamoLedger's transactional, all-or-nothing semantics; its issued receipts and their day's report
    records live in ``self.receipts_store`` (the ReceiptStore and ReportStore fakes), under the same lock."""

    def __init__(self, dossiers: InMemoryDossiers) -> None:
        from tests.fakes_receipts import InMemoryReceipts

        self._dossiers = dossiers
        self.outbox = dossiers.outbox
        self._lock = dossiers.lock
        self._payments: dict[str, str] = {}
        self._idempotency: dict[str, str] = {}
        self._references: dict[str, str] = {}
        self._claims: dict[str, dict[str, Any]] = {}  # claim key -> {"state", "ref", "expires_at"}
        self._anomalies: list[dict[str, Any]] = []
        self.tallies: list[Any] = []  # report tallies written with the changes (core.tallies.Tally)
        self.receipts_store = InMemoryReceipts(self._lock, dossiers.outbox)

    # -- condition helpers (call with the lock held) --
    def _payment_unchanged(self, expected: Payment) -> bool:
        raw = self._payments.get(expected.payment_id)
        if raw is None:
            return False
        stored = Payment.model_validate_json(raw)
        return stored.rev == expected.rev and stored.state == expected.state

    def _notice(self, payment: Payment):
        dossier = self._dossiers._load_locked(payment.dossier_code) if payment.dossier_code else None
        if dossier is None:
            return None, None
        return dossier, dossier.notices.get(payment.notice_number)

    def _write_notice(self, dossier: Dossier, notice_number: str, **changes: Any) -> None:
        notices = dict(dossier.notices)
        notices[notice_number] = notices[notice_number].model_copy(update=changes)
        self._dossiers._store_locked(dossier.model_copy(update={"notices": notices, "rev": dossier.rev + 1}))

    def _add_anomaly(self, kind: str, payment_id: str, details: dict[str, Any]) -> None:
        doc = json.loads(json.dumps(details, ensure_ascii=False, default=str))
        self._anomalies.append({"kind": kind, "payment_id": payment_id or "UNKNOWN", **doc})

    def _claimable(self, payment: Payment, now_epoch: int) -> bool:
        if payment.kind != "land":
            claim = self._claims.get(payment.claim_key)
            return claim is None or claim["state"] == "FREE" or (
                claim["state"] == "LIVE" and claim["expires_at"] <= now_epoch)
        _, notice = self._notice(payment)
        return (notice is not None and notice.version == payment.notice_version and notice.paid_payment_id is None
                and (notice.live_payment_id is None or (notice.live_payment_expires_at is not None
                                                        and notice.live_payment_expires_at <= now_epoch)))

    # -- payments --
    def create_payment(self, payment: Payment, idempotency: IdempotencyRecord | None, now_epoch: int) -> None:
        from chalicelib.payments.ports import ReferenceTakenError

        with self._lock:
            if idempotency is not None and idempotency.key_hash in self._idempotency:
                raise IdempotencyConflictError()
            if payment.reference_number in self._references:
                raise ReferenceTakenError(payment.reference_number)
            if not self._claimable(payment, now_epoch):
                raise NoticeBusyError()
            if payment.payment_id in self._payments:
                raise TransactionCancelledError(payment.payment_id)
            self._payments[payment.payment_id] = payment.model_dump_json()
            self._references[payment.reference_number] = payment.payment_id
            if payment.kind != "land":
                self._claims[payment.claim_key] = {"state": "LIVE", "ref": payment.payment_id,
                                                   "expires_at": payment.expires_at}
            else:
                dossier, _ = self._notice(payment)
                self._write_notice(dossier, payment.notice_number, live_payment_id=payment.payment_id,
                                   live_payment_expires_at=payment.expires_at)
            if idempotency is not None:
                self._idempotency[idempotency.key_hash] = json.dumps(
                    {"request_hash": idempotency.request_hash, "status": idempotency.status,
                     "body": idempotency.body, "expires_at": idempotency.expires_at}, ensure_ascii=False)

    def get_idempotency(self, key_hash: str) -> IdempotencyRecord | None:
        with self._lock:
            raw = self._idempotency.get(key_hash)
        if raw is None:
            return None
        doc = json.loads(raw)
        return IdempotencyRecord(key_hash, doc["request_hash"], doc["status"], doc["body"], doc["expires_at"])

    def get_payment(self, payment_id: str) -> Payment | None:
        with self._lock:
            raw = self._payments.get(payment_id)
        return Payment.model_validate_json(raw) if raw is not None else None

    def find_payment_by_reference(self, reference_number: str) -> str | None:
        with self._lock:
            return self._references.get(reference_number)

    def get_payment_and_counter(self, payment_id: str, counter_key: str) -> tuple[Payment | None, int]:
        with self._lock:
            raw = self._payments.get(payment_id)
            counter = self.receipts_store.counters.get(counter_key, 0)
        return (Payment.model_validate_json(raw) if raw is not None else None), counter

    def record_paid(self, payment: Payment, expected: Payment, issue, intents=(), reminders_of=None,
                    tallies=()) -> None:
        self._record_paid(payment, expected, issue, reminders_of)
        self.tallies.extend(tallies)
        if intents:
            self.outbox.accept(intents)

    def _subject_paid_ok(self, payment: Payment) -> bool:
        if payment.kind != "land":
            claim = self._claims.get(payment.claim_key)
            return claim is not None and (claim["state"] != "PAID" or claim["ref"] == payment.payment_id)
        _, notice = self._notice(payment)
        return (notice is not None and notice.version == payment.notice_version
                and notice.paid_payment_id in (None, payment.payment_id))

    def _record_paid(self, payment: Payment, expected: Payment, issue, reminders_of) -> None:
        with self._lock:
            ok_payment = self._payment_unchanged(expected)
            ok_subject = self._subject_paid_ok(payment)
            ok_issue = self.receipts_store._issue_ok_locked(issue)
            if not ok_subject and ok_payment and ok_issue:
                raise NoticeAlreadyPaidError()
            if not (ok_payment and ok_subject and ok_issue):
                raise ConcurrentUpdateError(payment.payment_id)
            self._payments[payment.payment_id] = payment.model_dump_json()
            if payment.kind != "land":
                self._claims[payment.claim_key] = {"state": "PAID", "ref": payment.payment_id,
                                                   "expires_at": payment.expires_at}
            else:
                dossier, _ = self._notice(payment)
                self._write_notice(dossier, payment.notice_number, paid_payment_id=payment.payment_id,
                                   live_payment_id=None, live_payment_expires_at=None)
            if reminders_of:
                self._dossiers.reminders.delete_locked(*reminders_of)
            self.receipts_store._issue_locked(issue)

    def record_double_payment(self, payment: Payment, expected: Payment, intents=(), tallies=()) -> None:
        with self._lock:
            if not self._payment_unchanged(expected):
                raise ConcurrentUpdateError(payment.payment_id)
            self._payments[payment.payment_id] = payment.model_dump_json()
            self.tallies.extend(tallies)
            self._add_anomaly("DOUBLE_PAYMENT", payment.payment_id, {
                "dossier_code": payment.dossier_code, "notice_number": payment.notice_number,
                "amount_vnd": payment.amount_vnd,
                "bank_txn_ref": (payment.extra_bank_txn_refs or [payment.bank_txn_ref])[-1]})
        if intents:
            self.outbox.accept(intents)

    def record_failed(self, payment: Payment, expected: Payment) -> None:
        with self._lock:
            if not self._payment_unchanged(expected):
                raise ConcurrentUpdateError(payment.payment_id)
            self._payments[payment.payment_id] = payment.model_dump_json()
            if payment.kind != "land":
                claim = self._claims.get(payment.claim_key)
                if claim and claim["ref"] == payment.payment_id and claim["state"] == "LIVE":
                    claim["state"] = "FREE"
                return
            dossier, notice = self._notice(payment)
            if notice is not None and notice.live_payment_id == payment.payment_id:
                self._write_notice(dossier, payment.notice_number, live_payment_id=None, live_payment_expires_at=None)
            # else: the notice is no longer held by this payment (claimed anew after expiry): only the payment moves.

    def paid_claims(self, claim_keys: list[str]) -> set[str]:
        with self._lock:
            return {k for k in claim_keys if self._claims.get(k, {}).get("state") == "PAID"}

    def record_anomaly(self, kind: str, payment_id: str, details: dict[str, Any], intents=()) -> None:
        with self._lock:
            self._add_anomaly(kind, payment_id[:80], details)
        if intents:
            self.outbox.accept(intents)

    def list_anomalies(self, payment_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [{k: v for k, v in a.items() if k != "payment_id"}
                    for a in self._anomalies if a["payment_id"] == payment_id]

    # -- receipts --
    def get_receipt(self, receipt_id: str) -> Receipt | None:
        return self.receipts_store.get_receipt(receipt_id)

    def count_receipts_for_payment(self, payment_id: str) -> int:
        return 1 if self.get_receipt(receipt_id_for(payment_id)) else 0

    # -- inspection (tests only) --
    @property
    def receipts(self) -> list[Receipt]:
        return self.receipts_store.all

    @property
    def payments(self) -> list[Payment]:
        with self._lock:
            return [Payment.model_validate_json(p) for p in self._payments.values()]

    @property
    def anomalies(self) -> list[dict[str, Any]]:
        with self._lock:
            return deepcopy(self._anomalies)

    def counter(self, unit: str, year: int) -> int:
        """The unit's counter for the year, whichever rules numbered it (legacy key, or a series of that year)."""
        counters = self.receipts_store.counters
        with self._lock:
            legacy = counters.get(f"CTR#{unit}#{year}", 0)
            modern = [v for k, v in counters.items() if k.startswith(f"CTR#{unit}#") and k.endswith(
                f"#{year % 100:02d}T" + k[-2:]) and k.count("#") == 3]
        return legacy + sum(modern)


# -- notifications, queue, identity -----------------------------------------------------------------------------
class FakeSms:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[tuple[str, str]] = []

    def send_sms(self, phone_e164: str, message: str) -> None:
        if self.fail:
            raise RuntimeError("SNS unavailable")
        self.sent.append((phone_e164, message))


class FakeAlerts:
    def __init__(self) -> None:
        self.published: list[tuple[str, str, dict[str, Any]]] = []

    def ops(self, kind: str, subject: str, details: dict[str, Any]) -> None:
        self.published.append((kind, subject, deepcopy(details)))

    @property
    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.published]


class FakeForwarding:
    """ForwardingQueue; `fail_times` makes the next receipt sends raise, as a crash between the ledger and SQS would;
    `fail_notices` makes every notice send raise."""

    def __init__(self, fail_times: int = 0, fail_notices: bool = False) -> None:
        self.fail_times, self.fail_notices = fail_times, fail_notices
        self.receipts: list[Receipt] = []
        self.sealed_ids: list[str | None] = []
        self.notices: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def enqueue_receipt(self, receipt: Receipt) -> None:
        with self._lock:
            if self.fail_times > 0:
                self.fail_times -= 1
                raise RuntimeError("SQS unavailable")
            self.receipts.append(receipt.model_copy(deep=True))

    def enqueue_receipt_doc(self, receipt: dict[str, Any], payer_id_sealed: str | None = None) -> None:
        self.sealed_ids.append(payer_id_sealed)
        self.enqueue_receipt(Receipt.model_validate(receipt))

    def enqueue_notices(self, province: str, notices: list[dict[str, Any]]) -> None:
        with self._lock:
            if self.fail_notices:
                raise RuntimeError("SQS unavailable")
            self.notices += [(province, deepcopy(n)) for n in notices]


class FakeHasher:
    def __init__(self, key: bytes = TEST_ID_HASH_KEY) -> None:
        self._key = key

    def hash_id(self, normalised_id_number: str) -> str:
        return hmac.new(self._key, normalised_id_number.encode(), hashlib.sha256).hexdigest()


class FakeBankLinks:
    def __init__(self, linked: set[tuple[str, str]] | None = None) -> None:
        self.linked = set(linked or ())

    def is_linked(self, citizen_sub: str, bank_code: str) -> bool:
        return (citizen_sub, bank_code) in self.linked


# -- wiring -----------------------------------------------------------------------------------------------------
def make_services(clock: FixedClock | None = None, **overrides: Any) -> Context:
    """A service context wired with the payment fakes, the default settings and a FixedClock at
    2026-05-20T09:00:00+07:00. Any port can be overridden (settings=, sms=, forwarding=, bank_links=, ...)."""
    outbox = overrides.pop("outbox", None) or FakeOutbox()
    dossiers = overrides.pop("dossiers", None)
    dossiers = dossiers if dossiers is not None else InMemoryDossiers(outbox)
    dossiers.outbox = outbox
    ledger = overrides.pop("ledger", None)
    from tests import fakes_receipts as fr

    ledger = ledger if ledger is not None else InMemoryLedger(dossiers)
    signing = overrides.pop("receipt_signing", None) or fr.signing_keys()
    settings = overrides.pop("settings", None) or Settings(return_url_hosts=("dichvucong.gov.vn",))
    fields: dict[str, Any] = {
        "settings": settings,
        "clock": clock if clock is not None else FixedClock(START),
        "dossiers": dossiers,
        "ledger": ledger,
        "receipts": ledger.receipts_store,
        "reports": ledger.receipts_store,
        "reminders": dossiers.reminders,
        "opt_outs": fr.FakeOptOuts(),
        "sealer": fr.sealer(),
        "receipt_signing": signing,
        "receipt_documents": _documents(signing, settings),
        "tax_reports": fr.FakeTaxReports(),
        "tax_payments": fr.FakeTaxPayments(),
        "sms": FakeSms(),
        "alerts": FakeAlerts(),
        "forwarding": FakeForwarding(),
        "hasher": FakeHasher(),
        "keys": HmacKeyring(lambda: TEST_MASTER_KEY),
        "bank_links": FakeBankLinks(set()),
    }
    fields.update(overrides)
    if "pay_pages" not in fields:
        from chalicelib.payments.adapters.pages import BankPaymentPages  # pure: the real URLs, a test secret

        fields["pay_pages"] = BankPaymentPages(fields["settings"], lambda: TEST_VNPAY_SECRET)
    fields.setdefault("status_refresh", lambda payment: None)  # no bank asked (tests/fakes_reconciliation.py does)
    fields["ledger"].outbox = outbox
    if "commune_maps" not in fields:
        from tests.fakes_communes import InMemoryCommuneMaps

        fields["commune_maps"] = InMemoryCommuneMaps()
    fields["ledger"].receipts_store.outbox = outbox
    ctx = Context(outbox=outbox, **fields)
    if "commune_codes" not in fields:
        from chalicelib.communes.services.resolve import CommuneResolver

        ctx.commune_codes = CommuneResolver(ctx)
    outbox.bind(ctx)
    return ctx


def _documents(signing, settings):
    from chalicelib.receipts.adapters.documents import InMemoryReceiptDocuments, ReceiptPdfMaker
    from chalicelib.receipts.adapters.pdf import render_receipt_pdf

    return InMemoryReceiptDocuments(ReceiptPdfMaker(render_receipt_pdf, signing, settings.receipt_verify_url))


# -- sample data ------------------------------------------------------------------------------------------------
DOSSIER_CODE = "000.00.43.H35-210520-0001"
ID_NUMBER = "035095001234"
OTHER_ID_NUMBER = "001090005678"
PAYER_PHONE = "0912345678"
NOTICE_NUMBER = "TB-2021-000123"
AMOUNT = 1378500


def sample_notice(
    notice_number: str = NOTICE_NUMBER, version: int = 1, amount: int = AMOUNT, **changes: Any
) -> dict[str, Any]:
    notice = {
        "notice_number": notice_number,
        "version": version,
        "payer_name": "Nguyễn Thị Trang",
        "payer_phone": PAYER_PHONE,
        "issued_at": "2021-05-20T09:00:00+07:00",
        "due_date": "2021-06-20",
        "items": [{"sub_item_code": "2801", "description": "Lệ phí trước bạ nhà đất", "amount_vnd": amount}],
        "total_vnd": amount,
    }
    notice.update(changes)
    return notice


def sample_batch(*notices: dict[str, Any], **changes: Any) -> dict[str, Any]:
    batch = {
        "dossier_code": DOSSIER_CODE,
        "id_number": ID_NUMBER,
        "commune_code": "00070",
        "commune_code_system": "gso",
        "property": {"address": "Số 12 đường Trần Phú, phường Hà Đông", "parcel_number": "12",
                     "map_sheet_number": "5", "area_m2": 120.5},
        "notices": list(notices) or [sample_notice()],
    }
    batch.update(changes)
    return batch


def payment_body(notice_number: str = NOTICE_NUMBER, bank_code: str = "BIDV", **changes: Any) -> dict[str, Any]:
    body = {
        "dossier_code": DOSSIER_CODE,
        "id_number": ID_NUMBER,
        "notice_number": notice_number,
        "bank_code": bank_code,
        "return_url": "https://dichvucong.gov.vn/p/thanh-toan/ket-qua",
    }
    body.update(changes)
    return body


def secret(svc: Any, payment_id: str) -> str:
    """The payment's access secret, as POST /v1/payments answers it to the payer's page."""
    from chalicelib.core.access import client_secret

    return client_secret(svc.hasher, payment_id)


WRONG_SECRET = "0" * 40
