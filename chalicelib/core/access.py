"""Who may read and cancel a payment and read its receipt: the signed-in citizen who started it, or whoever holds
its access secret (client_secret). The secret is answered once, to the payer's page, when the payment is created;
it never goes to the bank (the redirect carries the payment id only) and is never stored: it is an HMAC of the
payment id under the app secret, so the same answer can be replayed for an idempotent retry and checked without a
read."""
from __future__ import annotations

import hmac

HEADER = "X-Client-Secret"
_LABEL = "payment-access\x1f"
LENGTH = 40  # hex characters: 160 bits


def client_secret(hasher, payment_id: str) -> str:
    """The payment's access secret (``hasher`` is the IdHasher port: HMAC-SHA256 under the app secret)."""
    return hasher.hash_id(_LABEL + payment_id)[:LENGTH]


def holds_secret(hasher, payment_id: str, offered: str | None) -> bool:
    if not offered or len(offered) != LENGTH:
        return False
    return hmac.compare_digest(client_secret(hasher, payment_id), offered)
