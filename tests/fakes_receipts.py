"""In-memory fakes for receipts (store, reports), reminders, opt-outs, the signing keys, the tax authority and the
sealer, mirroring their DynamoDB / HTTP adapters' conditions. The ledger fake (tests/fakes.py) writes issued
receipts here under its own lock, all or nothing, as the paying transaction does."""
from __future__ import annotations

import json
import threading
from dataclasses import asdict
from datetime import datetime
from functools import cache
from typing import Any

from chalicelib.receipts.domain import Issue, Receipt, verification_key
from chalicelib.receipts.ports import AlreadyCorrectedError, ReceiptWriteConflictError, ReportAck, TaxAuthorityError
from chalicelib.receipts.reporting import DayReport, ReportState, report_day, row_key, summary_row
from chalicelib.reminders.domain import NoticeReminders

TEST_SEAL_KEY = b"unit-test-seal-key-never-used-in-production-000"


def sealer():
    from chalicelib.outbox.adapters import AesGcmSealer

    return AesGcmSealer(lambda: TEST_SEAL_KEY, label=b"personal-data-v1")


@cache
def test_pki() -> dict:
    """A local PKI valid from the end of 2025 to the end of 2028 (made once per test process)."""
    from chalicelib.local.pki import generate_local_pki

    return generate_local_pki(now=datetime.fromisoformat("2026-01-01T00:00:00+00:00"))


def signing_keys(pki: dict | None = None):
    from chalicelib.receipts.adapters.keys import SecretReceiptKeys

    secret = pki or test_pki()
    return SecretReceiptKeys(lambda: secret)


class InMemoryReceipts:
    """ReceiptStore and ReportStore. ``lock`` is the ledger fake's: issuing happens inside its transactions."""

    def __init__(self, lock: threading.Lock, outbox: Any = None) -> None:
        self.lock, self.outbox = lock, outbox
        self._receipts: dict[str, str] = {}
        self._xml: dict[str, bytes] = {}
        self.counters: dict[str, int] = {}
        self._lookups: dict[str, str] = {}
        self._relations: dict[str, str] = {}
        self._rows: dict[tuple[str, str], dict[str, str]] = {}
        self._days: dict[tuple[str, str], dict[str, Any]] = {}

    # -- issuing (lock held) --
    def _issue_ok_locked(self, issue: Issue) -> bool:
        r = issue.receipt
        counter_ok = (issue.counter_key not in self.counters if issue.counter_was == 0
                      else self.counters.get(issue.counter_key) == issue.counter_was)
        lookup_ok = not r.verification_secret or self._lookup_key(r) not in self._lookups
        return r.receipt_id not in self._receipts and counter_ok and lookup_ok

    @staticmethod
    def _lookup_key(r: Receipt) -> str:
        return verification_key(r.series, r.receipt_number, r.verification_secret)

    def _issue_locked(self, issue: Issue) -> None:
        r = issue.receipt
        self._receipts[r.receipt_id] = r.model_dump_json()
        if issue.signed_xml:
            self._xml[r.receipt_id] = issue.signed_xml
        self.counters[issue.counter_key] = r.sequence
        if r.test:  # a self-test receipt: no verification key, no row of any day's report (as the adapter)
            return
        if r.verification_secret:
            self._lookups[self._lookup_key(r)] = r.receipt_id
        key = (r.collecting_unit_code, report_day(r.issued_at))
        self._rows.setdefault(key, {})[row_key(r)] = json.dumps(summary_row(r), ensure_ascii=False)
        day = self._days.setdefault(key, {"rows": 0, "state": "OPEN", "open": True, "doc": {}})
        day["rows"] += 1
        day["open"] = "OPEN"

    # -- ReceiptStore --
    def get_receipt(self, receipt_id: str) -> Receipt | None:
        with self.lock:
            raw = self._receipts.get(receipt_id)
        return Receipt.model_validate_json(raw) if raw is not None else None

    def get_signed_xml(self, receipt_id: str) -> bytes | None:
        with self.lock:
            return self._xml.get(receipt_id)

    def find_by_verification(self, key: str) -> str | None:
        with self.lock:
            return self._lookups.get(key)

    def correction_of(self, receipt_id: str) -> str | None:
        with self.lock:
            return self._relations.get(receipt_id)

    def counter(self, key: str) -> int:
        with self.lock:
            return self.counters.get(key, 0)

    def record_correction(self, issue: Issue, old_receipt_id: str) -> None:
        with self.lock:
            if old_receipt_id in self._relations:
                raise AlreadyCorrectedError(old_receipt_id)
            if not self._issue_ok_locked(issue):
                raise ReceiptWriteConflictError(issue.receipt.receipt_id)
            self._relations[old_receipt_id] = issue.receipt.receipt_id
            self._issue_locked(issue)

    # -- test helpers --
    def tamper(self, receipt_id: str, signed_xml: bytes | None = None, **doc_changes: Any) -> None:
        with self.lock:
            if signed_xml is not None:
                self._xml[receipt_id] = signed_xml
            if doc_changes:
                doc = json.loads(self._receipts[receipt_id])
                self._receipts[receipt_id] = json.dumps({**doc, **doc_changes}, ensure_ascii=False)

    @property
    def all(self) -> list[Receipt]:
        with self.lock:
            return [Receipt.model_validate_json(r) for r in self._receipts.values()]

    # -- ReportStore --
    def _report(self, key: tuple[str, str]) -> DayReport:
        day = self._days[key]
        return DayReport(unit=key[0], day=key[1], rows=day["rows"], state=ReportState(day["state"]), **day["doc"])

    def open_days(self, limit: int) -> list[DayReport]:
        with self.lock:
            keys = sorted((k for k, d in self._days.items() if d["open"] == "OPEN"), key=lambda k: (k[1], k[0]))
            return [self._report(k) for k in keys[:limit]]

    def get_day(self, unit: str, day: str) -> DayReport | None:
        with self.lock:
            return self._report((unit, day)) if (unit, day) in self._days else None

    def days(self, unit: str, first_day: str, last_day: str) -> list[DayReport]:
        with self.lock:
            return [self._report(k) for k in sorted(self._days) if k[0] == unit and first_day <= k[1] <= last_day]

    def rows(self, unit: str, day: str) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(r) for _, r in sorted(self._rows.get((unit, day), {}).items())]

    def save_outcome(self, report: DayReport, close_if_rows: int | None, intents=()) -> bool:
        if intents:
            self.outbox.accept(intents)
        doc = {k: v for k, v in asdict(report).items() if k not in ("unit", "day", "rows", "state")}
        with self.lock:
            day = self._days[(report.unit, report.day)]
            day.update(state=report.state.value, doc=doc)
            if close_if_rows is None:
                if report.state in (ReportState.REFUSED, ReportState.DEAD):
                    day["open"] = "ATTENTION"
                return True
            if day["rows"] == close_if_rows:
                day["open"] = None
                return True
            day["state"] = "OPEN"
            return False


class InMemoryReminders:
    """ReminderStore: one record per notice, written by the dossiers fake, deleted by the ledger fake."""

    def __init__(self, lock: threading.Lock, outbox: Any = None) -> None:
        self.lock, self.outbox = lock, outbox
        self.items: dict[tuple[str, str], NoticeReminders] = {}

    def put_locked(self, r: NoticeReminders) -> None:
        self.items[(r.dossier_code, r.notice_number)] = r

    def delete_locked(self, dossier_code: str, notice_number: str) -> None:
        self.items.pop((dossier_code, notice_number), None)

    def due(self, now_epoch: int, limit: int) -> list[NoticeReminders]:
        with self.lock:
            due = [r for r in self.items.values() if r.next_due() and r.next_due()[1] <= now_epoch]
            return [NoticeReminders(**r.__dict__) for r in sorted(due, key=lambda r: r.next_due()[1])[:limit]]

    def _swap(self, r: NoticeReminders, after: NoticeReminders) -> bool:
        current = self.items.get((r.dossier_code, r.notice_number))
        if current is None or current.rev != r.rev:
            return False
        self.items[(r.dossier_code, r.notice_number)] = after
        return True

    def record_sent(self, r: NoticeReminders, days_before: int, at: str, intents) -> bool:
        pending = {d: t for d, t in r.pending.items() if d != days_before}
        after = NoticeReminders(**{**r.__dict__, "pending": pending, "sent": {**r.sent, days_before: at},
                                   "rev": r.rev + 1})
        with self.lock:
            ok = self._swap(r, after)
        if ok and intents:
            self.outbox.accept(intents)
        return ok

    def postpone(self, r: NoticeReminders, until_epoch: int) -> bool:
        days = r.next_due()[0]
        after = NoticeReminders(**{**r.__dict__, "pending": {**r.pending, days: until_epoch}, "rev": r.rev + 1})
        with self.lock:
            return self._swap(r, after)


class FakeOptOuts:
    def __init__(self) -> None:
        self.phones: set[str] = set()

    def opted_out(self, phone_e164: str) -> bool:
        return phone_e164 in self.phones

    def set_opt_out(self, phone_e164: str, opted_out: bool, at: str, source: str) -> None:
        (self.phones.add if opted_out else self.phones.discard)(phone_e164)


class FakeTaxReports:
    """TaxAuthorityReports: accepts (or refuses, or is down) and keeps every document sent."""

    def __init__(self) -> None:
        self.mode = "ok"  # ok | down | refuse
        self.sent: list[dict] = []

    def send_report(self, document: dict) -> ReportAck:
        if self.mode == "down":
            raise TaxAuthorityError("HTTP_503")
        self.sent.append(json.loads(json.dumps(document, ensure_ascii=False)))
        if self.mode == "refuse":
            return ReportAck(False, errors=("Số dòng không khớp",))
        return ReportAck(True, ack_id=f"ACK-{len(self.sent)}")


class FakeTaxPayments:
    def __init__(self) -> None:
        self.fail = False
        self.notified: list[dict] = []

    def notify_payment(self, payload: dict) -> None:
        if self.fail:
            raise TaxAuthorityError("HTTP_503")
        self.notified.append(json.loads(json.dumps(payload, ensure_ascii=False)))


class FakeTaxAuthority:
    """TaxAuthority + TaxPaymentChannel: answers like the simulator (``chalicelib.local.tax_authority_sim``)."""

    def __init__(self) -> None:
        from chalicelib.local.tax_authority_sim import demo_taxpayer

        self.mode = "ok"  # ok | down
        self.taxpayers = {"035095001234": demo_taxpayer()}
        self.paid: set[str] = set()
        self.lookups = 0

    def lookup(self, tax_code: str):
        from chalicelib.taxes.domain import TaxInfo

        self.lookups += 1
        if self.mode == "down":
            raise TaxAuthorityError("TIMEOUT")
        known = self.taxpayers.get(tax_code)
        return TaxInfo.model_validate(known) if known else None

    def notify_payment(self, payload: dict) -> None:
        if self.mode == "down":
            raise TaxAuthorityError("HTTP_503")
        self.paid.add(payload["tax_payment_id"])


class FakeTaxpayers:
    def __init__(self, accounts: dict | None = None) -> None:
        from chalicelib.taxes.ports import TaxpayerAccount

        self.accounts = {k: TaxpayerAccount(*v) for k, v in (accounts or {}).items()}

    def account(self, account_id: str):
        return self.accounts.get(account_id)
