"""Province API credentials in Secrets Manager: one secret per province and API type,
``lfo/<stage>/provinces/<agency code>/<api type>`` = ``{"username": ..., "password": ..., "version": n}``.

Read only when a session token has to be fetched (not per delivery), and cached per container for ``max_age_s``
unless the caller needs a later version than the cached one. Written only by the outbox consumer
(`store_versioned`), never by the internet-facing function; a write never replaces a later version, so intents
delivered out of order cannot bring back an old password. Never logged, never returned by the API.
"""
from __future__ import annotations

import json
import threading
import time

from chalicelib.aws.clients import client
from chalicelib.provinces.domain.delivery import ApiType
from chalicelib.provinces.domain.registry import Credentials, StoredCredentials


class SecretsManagerCredentials:
    def __init__(self, stage: str, region: str, max_age_s: float = 300) -> None:
        self._prefix, self._region, self._max_age = f"lfo/{stage}/provinces", region, max_age_s
        self._cache: dict[str, tuple[float, Credentials | None]] = {}
        self._lock = threading.Lock()

    def name(self, agency_code: str, api_type: ApiType) -> str:
        return f"{self._prefix}/{agency_code}/{api_type.value}"

    def get(self, agency_code: str, api_type: ApiType, min_version: int = 0) -> StoredCredentials | None:
        name = self.name(agency_code, api_type)
        hit = self._cache.get(name)
        if hit is not None and hit[0] > time.monotonic() and (hit[1] is not None and hit[1].version >= min_version):
            return hit[1]
        creds = self._read(name)
        with self._lock:
            self._cache[name] = (time.monotonic() + self._max_age, creds)
        return creds

    def _read(self, name: str) -> StoredCredentials | None:
        sm = client("secretsmanager", self._region)
        try:
            value = sm.get_secret_value(SecretId=name)["SecretString"]
        except sm.exceptions.ResourceNotFoundException:
            return None
        return StoredCredentials.model_validate(json.loads(value))

    def store_versioned(self, agency_code: str, api_type: str, credentials: dict, version: int) -> bool:
        """The outbox's channel. False (and nothing written) when the store already holds ``version`` or later."""
        name = self.name(agency_code, ApiType(api_type))
        current = self._read(name)
        if current is not None and current.version >= version:
            return False
        value = json.dumps({**Credentials.model_validate(credentials).model_dump(), "version": version})
        sm = client("secretsmanager", self._region)
        try:
            sm.put_secret_value(SecretId=name, SecretString=value)
        except sm.exceptions.ResourceNotFoundException:
            sm.create_secret(Name=name, SecretString=value,
                             Description="Province one-stop API credentials (lfo province registry).")
        with self._lock:
            self._cache.pop(name, None)
        return True
