"""The banks' payment pages: the URL the citizen is redirected to after ``POST /v1/payments`` (payments.ports.PaymentPages).

- Standard Webhooks banks: ``{gateway}/pay`` (payment page, single sign-on) or ``{gateway}/ib/login`` (internet-banking
  login first) with ``payment_id``, ``bank_code``, ``amount_vnd`` and ``return_url``.
- The VNPay-style gateway: ``{gateway}/paymentv2/vpcpay.html`` with the signed ``vnp_`` parameters of
  ``vnpay.payment_url`` (the gateway refuses anything else). ``vnp_CreateDate`` is the payment's own creation time,
  which the status query (``querydr``) later sends back as ``vnp_TransactionDate``; ``vnp_ExpireDate`` its expiry,
  after which the gateway takes no payment for it; ``vnp_IpAddr`` the citizen's address.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlencode

from chalicelib.core import banks
from chalicelib.core.clock import VN_TZ
from chalicelib.payments.adapters.vnpay import PaymentUrlRequest, payment_url
from chalicelib.payments.domain.payments import Payment

if TYPE_CHECKING:
    from chalicelib.config import Settings

VNPAY_PAY_PATH = "/paymentv2/vpcpay.html"


class BankPaymentPages:
    """``redirect_url`` per bank protocol. ``vnpay_hash_secret`` returns the current hash secret (secret store)."""

    def __init__(self, settings: Settings, vnpay_hash_secret: Callable[[], str]) -> None:
        self._settings, self._secret = settings, vnpay_hash_secret

    def redirect_url(self, payment: Payment, direct: bool, client_ip: str | None) -> str:
        base = self._settings.bank_gateway_url(payment.bank_code)
        if banks.get_bank(payment.bank_code).protocol == "vnpay_ipn":
            return payment_url(base + VNPAY_PAY_PATH, self._vnpay_request(payment, client_ip), self._secret())
        query = {"payment_id": payment.payment_id, "bank_code": payment.bank_code, "amount_vnd": payment.amount_vnd}
        if payment.return_url:
            query["return_url"] = payment.return_url
        return f"{base}{'/pay' if direct else '/ib/login'}?{urlencode(query)}"

    def _vnpay_request(self, payment: Payment, client_ip: str | None) -> PaymentUrlRequest:
        s = self._settings
        return PaymentUrlRequest(
            payment_id=payment.payment_id,
            amount_vnd=payment.amount_vnd,
            # The gateway shows it to the payer (ASCII, made so by payment_url): what is paid, no personal data.
            order_info=f"Nop nghia vu tai chinh dat dai thong bao {payment.notice_number}",
            return_url=payment.return_url or s.vnpay_return_url,
            ip_addr=client_ip or s.server_ip,
            created_at=datetime.fromisoformat(payment.created_at),
            expires_at=datetime.fromtimestamp(payment.expires_at, VN_TZ),
            tmn_code=s.vnpay_tmn_code,
        )
