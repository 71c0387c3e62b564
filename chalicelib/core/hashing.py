"""Keyed hashes (HMAC-SHA256): nothing secret or personal is stored in clear, and nothing is hashed without a key.

- `HmacKeyring`: sub-keys derived from the app secret's ``id_hash_key`` (HMAC(master, label)), one per use (OTP codes
  and keys, verification tokens, ID numbers of accounts, phones), so a hash made for one use never matches one made
  for another. OTP codes have only a million values: unkeyed, their hashes would be reversed at once.
- `HmacIdHasher`: the dossier's ID-number hash, HMAC(master, number) (a plain hash of 12 digits is brute-forceable
  in minutes). Kept as it is: stored dossiers are keyed by it.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Callable

_SEP = "\x1f"


class HmacKeyring:
    def __init__(self, master_key: Callable[[], bytes]) -> None:
        self._master = master_key
        self._derived: dict[tuple[bytes, str], bytes] = {}

    def _key(self, label: str) -> bytes:
        master = self._master()
        key = self._derived.get((master, label))
        if key is None:
            key = hmac.new(master, label.encode(), hashlib.sha256).digest()
            self._derived[(master, label)] = key
        return key

    def _mac(self, label: str, *parts: str) -> str:
        return hmac.new(self._key(label), _SEP.join(parts).encode(), hashlib.sha256).hexdigest()

    def otp_key(self, phone: str, purpose: str, subject: str) -> str:
        return self._mac("otp", "key", phone, purpose, subject)

    def code_hash(self, otp_key: str, code: str) -> str:
        return self._mac("otp", "code", otp_key, code)

    def token_hash(self, token: str) -> str:
        return self._mac("otp-token", token)

    def id_hash(self, id_number: str) -> str:
        return self._mac("account-id", id_number)

    def phone_key(self, phone: str) -> str:
        return self._mac("phone", phone)

    def counter_key(self, kind: str, value: str) -> str:
        return self._mac("counter", kind, value)


class HmacIdHasher:
    """ID numbers are only ever stored as HMAC-SHA256 under a secret key (a plain hash of 12 digits is
    brute-forceable in minutes)."""

    def __init__(self, key_source) -> None:
        self._key_source = key_source

    def hash_id(self, normalised_id_number: str) -> str:
        return hmac.new(self._key_source(), normalised_id_number.encode(), hashlib.sha256).hexdigest()
