"""A requests session that signs what the fuzzer sends to the partner endpoints, as a real partner would.

Signing happens on the prepared request, over the exact bytes that go on the wire: the Standard Webhooks headers for
`/v1/partners/notices` (the tax authority's secret) and the bank callbacks (that bank's secret), and `vnp_SecureHash`
over the generated query for the VNPay IPN. A case whose webhook headers the fuzzer made schema-invalid, or left out,
is sent as generated: that refusal (401) is what such a case tests, so it must not be "repaired" by signing.
"""
from __future__ import annotations

import re
import time
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

IPN_PATH = "/v1/partners/banks/vnpay/ipn"
_RETURN_PATH = re.compile(r"^/v1/payments/[^/]+/vnpay-return$")  # the gateway signs the browser's return URL too
_WEBHOOK_HEADERS = {"webhook-id": re.compile(r"^.{1,255}$", re.S), "webhook-timestamp": re.compile(r"^[0-9]{1,12}$"),
                    "webhook-signature": re.compile(r"^.{1,2000}$", re.S)}


def _secret_for(path: str) -> str:
    from chalicelib.local import devkeys

    parts = path.split("/")
    if len(parts) > 4 and parts[3] == "banks":
        return devkeys.LOCAL_BANK_SECRETS.get(parts[4].upper(), devkeys.LOCAL_BANK_SECRETS["BIDV"])
    return devkeys.LOCAL_TAX_AUTHORITY_SECRET


def _headers_as_declared(headers) -> bool:
    return all(isinstance(headers.get(name), str) and rule.fullmatch(headers[name])
               for name, rule in _WEBHOOK_HEADERS.items())


class SigningSession(requests.Session):
    """Signs what the gateway signs (the VNPay return URL a browser brings back) and, for `partner`, the partner
    requests (see the module docstring); counts what it signed, so the run can show it did."""

    def __init__(self, partner: bool = False) -> None:
        super().__init__()
        self.partner = partner
        self.signed = 0

    def send(self, request, **kwargs):
        path = urlsplit(request.url).path
        if _RETURN_PATH.match(path) or (self.partner and path == IPN_PATH):
            self._sign_ipn(request)
        elif self.partner and path.startswith("/v1/partners/") and _headers_as_declared(request.headers):
            self._sign_webhook(request, path)
        return super().send(request, **kwargs)

    def _sign_ipn(self, request) -> None:
        from chalicelib.local.devkeys import LOCAL_VNPAY_HASH_SECRET
        from chalicelib.payments.adapters.vnpay import sign_params

        parts = urlsplit(request.url)
        params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "vnp_SecureHash"]
        digest = sign_params(dict(params), LOCAL_VNPAY_HASH_SECRET)
        request.url = urlunsplit(parts._replace(query=urlencode([*params, ("vnp_SecureHash", digest)])))
        self.signed += 1

    def _sign_webhook(self, request, path: str) -> None:
        from chalicelib.core.webhooks import sign_webhook

        body = request.body or b""
        body = body.encode("utf-8") if isinstance(body, str) else body
        request.headers.update(sign_webhook(body, _secret_for(path), f"msg_{uuid.uuid4().hex}", int(time.time())))
        self.signed += 1
