"""Standard Webhooks signatures for inbound partner calls (tax notices, banks' generic JSON callbacks).

A partner signs ``"{webhook-id}.{webhook-timestamp}.{raw body}"`` with HMAC-SHA256 under a shared secret
``whsec_<base64>`` and sends ``webhook-signature: v1,<base64>`` (several space-separated signatures allowed, so a
partner can sign with the old and the new secret during a key rotation). We accept a call when its timestamp is at
most 300 s away from our clock, in either direction, and any signature matches any configured secret.

Why we do not call ``standardwebhooks.Webhook.verify`` (1.1.0) at run time, although its HMAC is the same:
- it reads the wall clock and has a fixed tolerance, so the clock cannot be injected (tests, replays, one clock);
- it accepts non-integer timestamps (``"1614265330.9"`` is parsed as a float);
- it decodes the body as UTF-8 and JSON-parses it by default: we verify the raw bytes before any parsing;
- a malformed signature entry (``"v1"`` without a comma, ``"v1,a,b"``) raises ``ValueError``, not its own error;
- it decodes the secret leniently (invalid base64 characters are silently dropped).
Its ``sign`` also misreads an aware non-UTC datetime (``replace(tzinfo=utc)`` drops the offset). The package stays
the reference in the tests (the specification's vector and cross-checks), and the code below is the stdlib HMAC.

Pure module: no boto3, no Chalice.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from typing import Mapping, Sequence

__all__ = ["SignatureError", "TOLERANCE_SECONDS", "sign_webhook", "verify_webhook"]

TOLERANCE_SECONDS = 300
SECRET_PREFIX = "whsec_"
# A rotation needs two signatures; a handful more is harmless. Refusing long lists bounds the HMAC work per call.
MAX_SIGNATURES = 10
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() would also take "١٢" or " 12 " or "+12"


class SignatureError(Exception):
    """A webhook call failed authentication. ``reason`` is a short English phrase for logs, never shown to callers."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify_webhook(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    now: int | None = None,
) -> str:
    """Check a Standard Webhooks signature on the raw ``body``; return the ``webhook-id`` on success.

    ``headers`` is looked up case-insensitively. ``secrets`` holds every secret currently valid for the partner
    (``whsec_<base64>``). ``now`` is the unix time to judge the timestamp against (defaults to the system clock).
    Raises ``SignatureError`` on any failure, and ``ValueError`` if a configured secret is malformed (a
    configuration error, which should surface as such rather than as a partner's bad signature).
    """
    if isinstance(secrets, (str, bytes)):
        raise TypeError("secrets must be a sequence of secrets, not a single string")
    keys = [_decode_secret(secret) for secret in secrets]
    if not keys:
        raise SignatureError("no secret configured")
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = _required(lowered, "webhook-id")
    timestamp = _check_timestamp(_required(lowered, "webhook-timestamp"), now)
    offered = _offered_signatures(_required(lowered, "webhook-signature"))
    expected = [_hmac(key, msg_id, timestamp, body) for key in keys]
    # Compare every pair, without stopping early, so timing says nothing about which one matched.
    matched = False
    for candidate in offered:
        for digest in expected:
            matched |= hmac.compare_digest(candidate, digest)
    if not matched:
        raise SignatureError("no matching signature")
    return msg_id


def sign_webhook(body: bytes, secret: str, msg_id: str, timestamp: int) -> dict[str, str]:
    """Return the three Standard Webhooks headers for ``body`` (used by simulated partners, the demo and tests).

    >>> sign_webhook(b'{"test": 2432232314}', "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ...              "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330)["webhook-signature"]
    'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
    """
    if not msg_id:
        raise ValueError("msg_id must not be empty")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError("timestamp must be a non-negative integer (unix seconds)")
    digest = _hmac(_decode_secret(secret), msg_id, timestamp, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode("ascii"),
    }


def _hmac(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode("utf-8") + bytes(body)
    return hmac.new(key, signed, hashlib.sha256).digest()


def _decode_secret(secret: str) -> bytes:
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise ValueError("webhook secret must be a string starting with 'whsec_'")
    encoded = secret[len(SECRET_PREFIX):]
    try:
        # Strict base64; padding may be omitted, as some providers print secrets without it.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret is not valid base64 after 'whsec_'") from None
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def _required(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value or not value.strip():
        raise SignatureError(f"missing header {name}")
    return value.strip()


def _check_timestamp(raw: str, now: int | None) -> int:
    if not _TIMESTAMP.fullmatch(raw):
        raise SignatureError("timestamp is not an integer")
    timestamp = int(raw)
    current = int(time.time()) if now is None else now
    if current - timestamp > TOLERANCE_SECONDS:
        raise SignatureError("timestamp too old")
    if timestamp - current > TOLERANCE_SECONDS:
        raise SignatureError("timestamp too new")
    return timestamp


def _offered_signatures(header: str) -> list[bytes]:
    """Decode the ``v1`` entries of the signature header; other versions and malformed entries are skipped."""
    entries = header.split()
    if len(entries) > MAX_SIGNATURES:
        raise SignatureError("too many signatures")
    decoded = []
    for entry in entries:
        version, comma, value = entry.partition(",")
        if version != "v1" or not comma or not value:
            continue
        try:
            decoded.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    return decoded
