"""The four measured operations, each as a stream of API Gateway events built (and signed) outside the timed region.

Data flows from one operation to the next, so nothing is seeded behind the app's back:
intake creates new dossiers (one notice each) -> initiate pays those notices at BIDV (one payment per notice)
-> bank result reports SUCCESS for those payments. Lookup reads one dossier seeded through the intake route.
"""
from __future__ import annotations

import json
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from chalicelib.core.webhooks import sign_webhook
from chalicelib.local.demo import DEMO_ID_NUMBER, demo_notice
from chalicelib.local.devkeys import LOCAL_BANK_SECRETS, LOCAL_TAX_AUTHORITY_SECRET

from .lambda_proxy import proxy_event

VN = timezone(timedelta(hours=7))
BANK = "BIDV"
RETURN_URL = "https://dichvucong.gov.vn/ket-qua"


@dataclass
class Request:
    event: dict[str, Any]
    expected_status: int
    check: Callable[[dict], None]  # inspects the decoded JSON body; raises on a wrong answer
    on_success: Callable[[dict], None] = lambda body: None


class DossierCodes:
    """Distinct, valid dossier codes: agency 000.00.43.H35, a receiving date, a daily sequence."""

    def __init__(self) -> None:
        self._i = 0
        self._base = datetime(2025, 1, 1).date()

    def next(self) -> str:
        i, self._i = self._i, self._i + 1
        day = self._base + timedelta(days=i // 10_000)
        return f"000.00.43.H35-{day:%y%m%d}-{i % 10_000:04d}"


def _signed_event(resource: str, payload: dict, secret: str, path_parameters: dict | None = None) -> dict:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = sign_webhook(body, secret, f"msg_{uuid.uuid4().hex}", int(time.time()))
    return proxy_event("POST", resource, path_parameters, body, headers)


def _expect(**fields) -> Callable[[dict], None]:
    def check(body: dict) -> None:
        for k, v in fields.items():
            if body.get(k) != v:
                raise AssertionError(f"expected {k}={v!r}, got {body!r}")
    return check


class Pipeline:
    """Holds what one operation leaves for the next."""

    def __init__(self) -> None:
        self.codes = DossierCodes()
        self.notices: deque[tuple[str, str]] = deque()  # (dossier_code, notice_number) ready to pay
        self.payments: deque[tuple[str, int]] = deque()  # (payment_id, amount_vnd) waiting for the bank
        self.lookup_dossier: str | None = None

    # -- intake: POST /v1/partners/notices, a signed notice for a new dossier --------------------------------
    def intake(self) -> Request:
        code = self.codes.next()
        notice = demo_notice(code)
        number = notice["notices"][0]["notice_number"]
        return Request(
            _signed_event("/v1/partners/notices", notice, LOCAL_TAX_AUTHORITY_SECRET), 200,
            _expect(accepted=1, unchanged=0),
            lambda body: self.notices.append((code, number)),
        )

    def lookup_seed(self) -> Request:
        """One dossier for the lookups, created through the intake route and kept out of the payment pool."""
        code = self.codes.next()
        self.lookup_dossier = code
        return Request(_signed_event("/v1/partners/notices", demo_notice(code), LOCAL_TAX_AUTHORITY_SECRET), 200,
                       _expect(accepted=1, unchanged=0))

    # -- lookup: POST /v1/lookup on the seeded dossier ---------------------------------------------------------
    def lookup(self) -> Request:
        code = self.lookup_dossier

        def check(body: dict) -> None:
            if body.get("dossier_code") != code or len(body.get("notices", [])) != 1:
                raise AssertionError(f"unexpected lookup answer: {body!r}")

        return Request(proxy_event("POST", "/v1/lookup", body={"dossier_code": code, "id_number": DEMO_ID_NUMBER}),
                       200, check)

    # -- initiate: POST /v1/payments with an Idempotency-Key, one fresh notice per call -----------------------
    def initiate(self) -> Request:
        code, number = self.notices.popleft()
        body = {"dossier_code": code, "id_number": DEMO_ID_NUMBER, "notice_number": number, "bank_code": BANK,
                "return_url": RETURN_URL}
        event = proxy_event("POST", "/v1/payments", body=body, headers={"Idempotency-Key": str(uuid.uuid4())})

        def check(answer: dict) -> None:
            if answer.get("state") != "PENDING_BANK" or not answer.get("payment_id"):
                raise AssertionError(f"unexpected payment answer: {answer!r}")

        return Request(event, 201, check,
                       lambda answer: self.payments.append((answer["payment_id"], answer["amount_vnd"])))

    # -- bank result: POST /v1/partners/banks/BIDV/callbacks, signed SUCCESS for a pending payment ------------
    def bank_result(self) -> Request:
        payment_id, amount = self.payments.popleft()
        payload = {"payment_id": payment_id, "bank_txn_ref": f"FT{uuid.uuid4().hex[:16].upper()}",
                   "amount_vnd": amount, "currency": "VND", "status": "SUCCESS",
                   "paid_at": datetime.now(VN).replace(microsecond=0).isoformat()}
        return Request(
            _signed_event("/v1/partners/banks/{bank_code}/callbacks", payload, LOCAL_BANK_SECRETS[BANK],
                          {"bank_code": BANK}),
            200, _expect(result="applied"),
        )
