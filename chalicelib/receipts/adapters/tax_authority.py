"""The tax authority's gateway, as the portal calls it: signed JSON over HTTPS, signed answers, short timeouts.

Every request is signed per Standard Webhooks (headers webhook-id / webhook-timestamp / webhook-signature, HMAC-SHA256
under the portal's secret at the tax authority); every answer must carry the tax authority's own signature over its
body (same scheme, its secret): an unsigned or wrongly signed answer is treated as no answer (retried), so a
man in the middle cannot forge "paid" or "accepted". Secrets come from the app secret:
``{"tax_authority": {"request_secret": "whsec_...", "answer_secrets": ["whsec_...", ...]}}``.

The HTTP itself goes through the portal's guarded client (the ``http`` port: no redirects, loopback only on the
simulated partners' ports locally). Used by the daily receipt reports (here) and by the taxes capability (M13).
The real gateway's paths and field names are unverified: they live in this module and the simulator only.
"""
from __future__ import annotations

import json
import time
import uuid
from typing import Any, Callable

from chalicelib.core.webhooks import SignatureError, sign_webhook, verify_webhook
from chalicelib.receipts.ports import ReportAck, TaxAuthorityError, TaxAuthoritySettings

REPORT_PATH = "/v1/receipt-reports"


class TaxAuthorityClient:
    def __init__(self, settings: TaxAuthoritySettings, http: Any, secrets: Callable[[], dict]) -> None:
        self._settings, self._http, self._secrets = settings, http, secrets

    def call(self, path: str, payload: dict[str, Any], attempts: int | None = None) -> dict[str, Any]:
        """POST ``payload``; the answer's JSON. Tries again (``attempts`` in all) when there was no usable answer.
        TaxAuthorityError: ``unavailable`` when nothing usable came back, else the tax authority's refusal."""
        tries = max(1, attempts if attempts is not None else self._settings.attempts)
        for attempt in range(tries):
            try:
                return self._once(path, payload)
            except TaxAuthorityError as exc:
                if not exc.unavailable or attempt == tries - 1:
                    raise
        raise AssertionError("unreachable")

    def _once(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        s = self._settings
        if not s.base_url:
            raise TaxAuthorityError("NOT_CONFIGURED", "no tax authority URL")
        keys = self._secrets()
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = sign_webhook(body, keys["request_secret"], f"msg_{uuid.uuid4().hex}", int(time.time()))
        try:
            answer = self._http.post_json(s.base_url + path, None, headers, s.connect_timeout_s, s.read_timeout_s,
                                          raw_body=body)
        except Exception as exc:  # noqa: BLE001 - timeouts, refused connections, the SSRF guard: no answer
            raise TaxAuthorityError(getattr(exc, "code", "UNREACHABLE"), type(exc).__name__) from None
        if answer.status >= 500 or answer.status == 429:
            raise TaxAuthorityError(f"HTTP_{answer.status}")
        try:
            verify_webhook(answer.body, answer.headers, keys.get("answer_secrets", []))
            data = json.loads(answer.body)
        except (SignatureError, ValueError):
            raise TaxAuthorityError("ANSWER_INVALID", "unsigned, wrongly signed or not JSON") from None
        if not isinstance(data, dict):
            raise TaxAuthorityError("ANSWER_INVALID", "not an object")
        if answer.status >= 400:
            raise TaxAuthorityError(str(data.get("code") or f"HTTP_{answer.status}"), str(data.get("message", ""))[:200],
                                    unavailable=False)
        return data


class TaxAuthorityReports:
    """TaxAuthorityReports over the gateway: the day's table, signed by the collecting organisation's key."""

    def __init__(self, client: TaxAuthorityClient, signing: Any) -> None:
        self._client, self._signing = client, signing

    def send_report(self, document: dict[str, Any]) -> ReportAck:
        data = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
        payload = {"document": document, "signature": self._signing.sign_detached(data)}
        try:
            answer = self._client.call(REPORT_PATH, payload, attempts=1)  # the schedule retries, not this call
        except TaxAuthorityError as exc:
            if exc.unavailable:
                raise
            return ReportAck(False, errors=(exc.code, exc.detail) if exc.detail else (exc.code,))
        if answer.get("status") == "accepted" and answer.get("ack_id"):
            return ReportAck(True, ack_id=str(answer["ack_id"])[:100])
        if answer.get("status") == "refused":
            return ReportAck(False, errors=tuple(str(e)[:200] for e in answer.get("errors", []))[:10] or ("REFUSED",))
        raise TaxAuthorityError("ANSWER_INVALID", "no acknowledgement")
