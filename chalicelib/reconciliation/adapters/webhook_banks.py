"""HTTP client of the Standard Webhooks banks' status and refund API (VCB, ICB, BIDV, VBA).

``GET {base}/transactions/{payment_id}`` and ``POST {base}/refunds``, authenticated the way the portal authenticates
these banks' callbacks, in the other direction: the request carries Standard Webhooks headers over its body (empty
for the GET) under the bank's secret, and so does the answer, which is verified before it is read.

Status answer: ``{"payment_id", "bank_txn_ref", "status": SUCCESS|FAILED|PENDING|NOT_FOUND, "amount_vnd",
"paid_at"}``. Refund request: ``{"refund_id", "payment_id", "bank_txn_ref", "amount_vnd", "reason"}`` where
``refund_id`` is stable across retries (the bank records one refund per id); answer ``{"refund_id", "payment_id",
"status": REFUNDED|REFUSED, "bank_refund_ref", "amount_vnd", "reason"?}``. No retries inside; nothing raises for
the bank's behaviour: what cannot be trusted is ``NO_ANSWER``.

The GET's signature covers an empty body, not the path (the documented scheme): the answer's ``payment_id`` is
therefore checked against the one asked, so that a replayed answer about another payment is not believed.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Sequence
from urllib.parse import quote

from chalicelib.core.clock import Clock, epoch
from chalicelib.core.webhooks import SignatureError, sign_webhook, verify_webhook
from chalicelib.reconciliation.adapters.http import no_retry_session
from chalicelib.reconciliation.ports import (
    BankStatus,
    BankStatusKind,
    RefundKind,
    RefundOrder,
    RefundResult,
    StatusQuery,
)

if TYPE_CHECKING:
    import requests

__all__ = ["WebhookBankClient"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (3.05, 10.0)
_STATUS = {"SUCCESS": BankStatusKind.PAID, "FAILED": BankStatusKind.FAILED, "PENDING": BankStatusKind.PENDING,
           "NOT_FOUND": BankStatusKind.NOT_FOUND}


class _Untrusted(Exception):
    """No answer we may believe; ``str(self)`` is the short reason."""


class WebhookBankClient:
    """``query_status`` and ``refund`` for one Standard Webhooks bank (implements ``ports.BankGateway``).

    ``secrets`` returns the bank's currently valid secrets (``whsec_...``; the first signs, any verifies).
    """

    def __init__(
        self,
        bank_code: str,
        api_base_url: str,
        secrets: Callable[[], Sequence[str]],
        *,
        clock: Clock,
        new_message_id: Callable[[], str],
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.bank_code = bank_code
        self._base = api_base_url.rstrip("/")
        self._secrets, self._clock, self._new_id, self._timeout = secrets, clock, new_message_id, timeout
        self._session = session

    def query_status(self, query: StatusQuery) -> BankStatus:
        url = f"{self._base}/transactions/{quote(query.payment_id, safe='')}"
        try:
            data = self._exchange("GET", url, b"", ok=(200, 404))
            if data.get("payment_id") != query.payment_id:
                raise _Untrusted("MISMATCHED_ANSWER")
            return _status_of(data)
        except _Untrusted as reason:
            return BankStatus.no_answer(str(reason))

    def refund(self, order: RefundOrder) -> RefundResult:
        payload = {"refund_id": order.refund_id, "payment_id": order.payment_id, "bank_txn_ref": order.bank_txn_ref,
                   "amount_vnd": order.amount_vnd, "reason": order.reason}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            data = self._exchange("POST", f"{self._base}/refunds", body, ok=(200, 409, 422))
            if data.get("refund_id") != order.refund_id or data.get("payment_id") != order.payment_id:
                raise _Untrusted("MISMATCHED_ANSWER")
        except _Untrusted as reason:
            return RefundResult(RefundKind.NO_ANSWER, detail=str(reason))
        status, reason = data.get("status"), str(data.get("reason") or "")
        if status == "REFUNDED":
            ref = data.get("bank_refund_ref")
            return RefundResult(RefundKind.REFUNDED, ref if isinstance(ref, str) and ref else None, "REFUNDED")
        if status == "REFUSED":
            return RefundResult(RefundKind.REFUSED, detail=reason or "REFUSED")
        return RefundResult(RefundKind.NO_ANSWER, detail="UNKNOWN_STATUS")

    def _exchange(self, method: str, url: str, body: bytes, ok: tuple[int, ...]) -> dict[str, Any]:
        """Send a signed request; the verified JSON object of the answer, or ``_Untrusted``."""
        import requests

        secrets = list(self._secrets())
        if not secrets:
            log.error("bank %s has no secret configured", self.bank_code)
            raise _Untrusted("NO_SECRET_CONFIGURED")
        headers = sign_webhook(body, secrets[0], self._new_id(), epoch(self._clock.now()))
        if body:
            headers["Content-Type"] = "application/json"
        try:
            response = self._http().request(method, url, data=body or None, headers=headers, timeout=self._timeout)
        except requests.RequestException as error:
            log.warning("bank %s %s unreachable", self.bank_code, method, extra={"error": type(error).__name__})
            raise _Untrusted(f"UNREACHABLE:{type(error).__name__}") from None
        if response.status_code not in ok:
            log.warning("bank %s %s answered HTTP %s", self.bank_code, method, response.status_code)
            raise _Untrusted(f"HTTP_{response.status_code}")
        try:
            verify_webhook(response.content, response.headers, secrets, now=epoch(self._clock.now()))
        except SignatureError as error:
            log.warning("bank %s answer not authenticated", self.bank_code, extra={"reason": error.reason})
            raise _Untrusted("INVALID_SIGNATURE") from None
        try:
            data = json.loads(response.content)
        except ValueError:
            raise _Untrusted("NOT_JSON") from None
        if not isinstance(data, dict):
            raise _Untrusted("NOT_AN_OBJECT")
        return data

    def _http(self) -> requests.Session:
        if self._session is None:
            self._session = no_retry_session()
        return self._session


def _status_of(data: dict[str, Any]) -> BankStatus:
    kind = _STATUS.get(data.get("status"))
    if kind is None:
        return BankStatus.no_answer("UNKNOWN_STATUS")
    if kind is not BankStatusKind.PAID:
        return BankStatus(kind, detail=str(data["status"]))
    ref, amount, paid_at = data.get("bank_txn_ref"), data.get("amount_vnd"), data.get("paid_at")
    if not isinstance(ref, str) or not ref or isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        return BankStatus.no_answer("PAID_WITHOUT_AMOUNT_OR_REFERENCE")
    try:
        moment = datetime.fromisoformat(paid_at) if isinstance(paid_at, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        return BankStatus.no_answer("PAID_WITHOUT_VALID_PAID_AT")
    return BankStatus(BankStatusKind.PAID, ref, amount, moment, "SUCCESS")
