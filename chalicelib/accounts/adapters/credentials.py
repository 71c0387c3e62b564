"""Keyed hashes, password hashes and the token issuer used by the citizen-account use cases.

- `HmacKeyring`: HMAC-SHA256 under sub-keys derived from the app secret's ``id_hash_key`` (HMAC(master, label)), one
  per use (OTP codes and keys, verification tokens, ID numbers, phones), so no new secret is needed and a hash
  made for one use never matches one made for another. OTP codes have only a million values: unkeyed, their
  hashes would be reversed at once by anyone reading the table.
- `Argon2Passwords`: Argon2id (argon2-cffi) with OWASP's recommended minimum (m = 19 MiB, t = 2, p = 1): about
  20-30 ms per hash on a Lambda-sized CPU, where argon2-cffi's default (64 MiB, t = 3, p = 4) costs 4-5 times more
  per sign-in and would make the endpoint an easy way to burn Lambda time. The parameters live in each hash, so
  raising them later only needs a re-hash at the next successful sign-in.
- `LocalTokenIssuer`: the local HS256 issuer. Behind the `TokenIssuer` port: with the portal's identity provider,
  sign-in would be delegated to it instead (and tokens verified through JWKS, as the rest of the API already does).
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


class Argon2Passwords:
    TIME_COST, MEMORY_KIB, PARALLELISM = 2, 19_456, 1

    def __init__(self, time_cost: int | None = None, memory_cost: int | None = None,
                 parallelism: int | None = None) -> None:
        from argon2 import PasswordHasher

        self._hasher = PasswordHasher(time_cost=time_cost or self.TIME_COST,
                                      memory_cost=memory_cost or self.MEMORY_KIB,
                                      parallelism=parallelism or self.PARALLELISM)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


class LocalTokenIssuer:
    def __init__(self, secret: str, issuer: str, audience: str) -> None:
        self._secret, self._issuer, self._audience = secret, issuer, audience

    def __repr__(self) -> str:
        return f"LocalTokenIssuer(issuer={self._issuer!r})"

    def issue(self, subject: str, roles: list[str], ttl_s: int) -> str:
        from chalicelib.identity.tokens import issue_local_token

        return issue_local_token(self._secret, self._issuer, self._audience, subject, roles, ttl_s)
