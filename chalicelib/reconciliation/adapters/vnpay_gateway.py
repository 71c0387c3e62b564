"""HTTP client of the VNPay-style gateway's transaction API: a payment's status (``querydr``) and refunds.

One ``POST`` of signed JSON per call, a connect and a read timeout, no retry inside (the job that calls us retries on
its own schedule, and a refund must only ever be repeated with the same request id). Every answer's signature is
checked before anything in it is believed, and it must be about the transaction we asked for. Whatever we cannot
trust is ``NO_ANSWER``; nothing here raises for the gateway's behaviour.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

from chalicelib.core.clock import Clock
from chalicelib.reconciliation.adapters.http import no_retry_session
from chalicelib.reconciliation.adapters.vnpay_api import (
    REFUND_FULL,
    REFUND_PARTIAL,
    GatewayAnswer,
    InvalidAnswerError,
    QueryDrRequest,
    RefundRequest,
    parse_answer,
    verify_query_answer,
    verify_refund_answer,
)
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

__all__ = ["API_PATH", "VnpayGatewayClient"]

log = logging.getLogger(__name__)

API_PATH = "/merchant_webapi/api/transaction"
DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds: a status job must not hang on one bank
_STATUS = {"00": BankStatusKind.PAID, "01": BankStatusKind.PENDING, "02": BankStatusKind.FAILED}
# Refund answers that are a definite "no": the amount, the transaction or its state does not allow it.
_REFUND_REFUSED = {"02", "03", "04", "13", "91", "93", "95"}


class VnpayGatewayClient:
    """``query_status`` and ``refund`` for the VNPay-style bank (implements ``ports.BankGateway``).

    ``api_base_url`` is the gateway's API host (``API_PATH`` is appended); ``hash_secret`` a string or a callable
    returning the current one (a secret store with rotation); ``server_ip`` goes in ``vnp_IpAddr``.
    """

    def __init__(
        self,
        api_base_url: str,
        tmn_code: str,
        hash_secret: str | Callable[[], str],
        *,
        server_ip: str,
        clock: Clock,
        new_request_id: Callable[[], str],
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self._url = api_base_url.rstrip("/") + API_PATH
        self._tmn_code, self._server_ip = tmn_code, server_ip
        self._secret = hash_secret if callable(hash_secret) else (lambda: hash_secret)
        self._clock, self._new_request_id, self._timeout = clock, new_request_id, timeout
        self._session = session

    def query_status(self, query: StatusQuery) -> BankStatus:
        request = QueryDrRequest(
            request_id=self._new_request_id(), tmn_code=self._tmn_code, txn_ref=query.payment_id,
            order_info=f"Truy van giao dich {query.payment_id}", transaction_date=query.created_at,
            create_date=self._clock.now(), ip_addr=self._server_ip, transaction_no=query.bank_txn_ref,
        )
        secret = self._secret()
        answer = self._exchange(request.to_json(secret), verify_query_answer, secret, query.payment_id, "querydr")
        if isinstance(answer, str):
            return BankStatus.no_answer(answer)
        return _status_of(answer)

    def refund(self, order: RefundOrder) -> RefundResult:
        request = RefundRequest(
            request_id=order.refund_id, tmn_code=self._tmn_code, txn_ref=order.payment_id,
            amount_vnd=order.amount_vnd, full=order.full, order_info=f"Hoan tien giao dich {order.payment_id}",
            transaction_date=order.payment_created_at, create_by=order.requested_by, create_date=self._clock.now(),
            ip_addr=self._server_ip, transaction_no=order.bank_txn_ref,
        )
        secret = self._secret()
        answer = self._exchange(request.to_json(secret), verify_refund_answer, secret, order.payment_id, "refund")
        if isinstance(answer, str):
            return RefundResult(RefundKind.NO_ANSWER, detail=answer)
        code = answer.response_code
        if code == "00":
            return RefundResult(RefundKind.REFUNDED, answer.transaction_no or None, "00")
        if code == "94":
            return RefundResult(RefundKind.DUPLICATE, detail="94")
        kind = RefundKind.REFUSED if code in _REFUND_REFUSED else RefundKind.NO_ANSWER
        return RefundResult(kind, detail=code)

    def _exchange(self, body: dict[str, str], verify: Callable[[Any, str], bool], secret: str, txn_ref: str,
                  command: str) -> GatewayAnswer | str:
        """The verified answer about ``txn_ref``, or a short reason why there is none."""
        import requests

        try:
            response = self._http().post(self._url, json=body, timeout=self._timeout)
        except requests.RequestException as error:
            log.warning("gateway %s unreachable", command, extra={"error": type(error).__name__})
            return f"UNREACHABLE:{type(error).__name__}"
        if response.status_code != 200:
            log.warning("gateway %s answered HTTP %s", command, response.status_code)
            return f"HTTP_{response.status_code}"
        try:
            data = response.json()
        except ValueError:
            return "NOT_JSON"
        if not isinstance(data, dict) or not verify(data, secret):
            log.warning("gateway %s answer has a bad signature", command)
            return "INVALID_SIGNATURE"
        try:
            answer = parse_answer(data)
        except InvalidAnswerError as error:
            return f"MALFORMED:{error}"
        # A signed answer about another transaction, merchant or command (a replayed or misrouted answer) says
        # nothing about ours. Error answers (97, 99...) may leave the reference out; they are errors anyway.
        if answer.response_code in ("00", "91", "94") and (
            answer.txn_ref != txn_ref or answer.tmn_code != self._tmn_code or answer.command != command
        ):
            return "MISMATCHED_ANSWER"
        return answer

    def _http(self) -> requests.Session:
        if self._session is None:
            self._session = no_retry_session()
        return self._session


def _status_of(answer: GatewayAnswer) -> BankStatus:
    code = answer.response_code
    if code == "91":
        return BankStatus(BankStatusKind.NOT_FOUND, detail="91")
    if code != "00":
        return BankStatus.no_answer(code)
    kind = _STATUS.get(answer.transaction_status)
    if kind is None:
        # Reversal, refund in progress, suspected fraud...: known to the gateway, but nothing a status job may act
        # on by itself. PENDING keeps the payment as it is; the detail tells the operator which state it was.
        return BankStatus(BankStatusKind.PENDING, detail=f"00/{answer.transaction_status}")
    if kind is BankStatusKind.PAID and (answer.amount_vnd is None or not answer.transaction_no):
        return BankStatus.no_answer("PAID_WITHOUT_AMOUNT_OR_REFERENCE")
    # vnp_TransactionType 02/03: the gateway reports the transaction's refund (full/partial) - what a refund whose
    # answer was lost needs to know (a repeat of its request id is refused as a duplicate).
    return BankStatus(kind, answer.transaction_no or None, answer.amount_vnd, answer.pay_date,
                      f"00/{answer.transaction_status}",
                      refunded=answer.transaction_type in (REFUND_FULL, REFUND_PARTIAL))
