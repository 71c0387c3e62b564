"""Password hashes for citizen accounts: Argon2id (argon2-cffi) with OWASP's recommended minimum (m = 19 MiB, t = 2,
p = 1): about 20-30 ms per hash on a Lambda-sized CPU, where argon2-cffi's default (64 MiB, t = 3, p = 4) costs 4-5
times more per sign-in and would make the endpoint an easy way to burn Lambda time. The parameters live in each
hash, so raising them later only needs a re-hash at the next successful sign-in.
"""
from __future__ import annotations


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
