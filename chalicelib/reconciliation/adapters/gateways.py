"""Each bank's status/refund client (``ports.BankGateways``), built once per container and kept with its session.

The VNPay-style bank gets the gateway's merchant API client (``querydr``/``refund``), the others the Standard Webhooks
client; the protocol comes from the bank table (data/banks.json), the URLs from the settings. Two clients per bank:
the schedule's and the refunds' (``bank_timeout_s``), and the return page's ``quick`` one. A bank whose API URL a
deployed stage has not configured answers NO_ANSWER ("NOT_CONFIGURED"): the payment waits, and after an hour the
operators are told, rather than a job failing for everyone.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from chalicelib.core import banks
from chalicelib.core.clock import Clock, new_ulid
from chalicelib.reconciliation.adapters.vnpay_gateway import VnpayGatewayClient
from chalicelib.reconciliation.adapters.webhook_banks import WebhookBankClient
from chalicelib.reconciliation.ports import BankGateway, BankStatus, RefundKind, RefundOrder, RefundResult, StatusQuery

if TYPE_CHECKING:
    from chalicelib.config import Settings

CONNECT_SHARE = 1 / 3  # connect timeout as a part of the read timeout (a bank that accepts is quick to do so)


class _Unconfigured:
    def __init__(self, bank_code: str) -> None:
        self.bank_code = bank_code

    def query_status(self, query: StatusQuery) -> BankStatus:
        return BankStatus.no_answer("NOT_CONFIGURED")

    def refund(self, order: RefundOrder) -> RefundResult:
        return RefundResult(RefundKind.NO_ANSWER, detail="NOT_CONFIGURED")


class HttpBankGateways:
    """``gateway(bank_code, quick)`` for every bank of the bank table. ``secrets`` is the app's secret store."""

    def __init__(self, settings: Settings, secrets: Any, clock: Clock) -> None:
        self._settings, self._secrets, self._clock = settings, secrets, clock
        self._clients: dict[tuple[str, bool], BankGateway] = {}
        self._lock = threading.Lock()

    def gateway(self, bank_code: str, quick: bool = False) -> BankGateway:
        key = (bank_code, quick)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._build(bank_code, quick)
            return self._clients[key]

    def _build(self, bank_code: str, quick: bool) -> BankGateway:
        s = self._settings
        bank = banks.get_bank(bank_code)
        url = s.bank_api_url(bank.code, bank.protocol)
        if not url:
            return _Unconfigured(bank.code)
        read = s.stale.quick_timeout_s if quick else s.stale.bank_timeout_s
        timeout = (max(0.1, read * CONNECT_SHARE), read)
        if bank.protocol == "vnpay_ipn":
            return VnpayGatewayClient(url, s.vnpay_tmn_code, self._secrets.vnpay_hash_secret, server_ip=s.server_ip,
                                      clock=self._clock, new_request_id=new_ulid, timeout=timeout)
        return WebhookBankClient(bank.code, url, lambda: self._secrets.bank_secrets(bank.code), clock=self._clock,
                                 new_message_id=lambda: f"msg_{new_ulid()}", timeout=timeout)
