"""Province API credentials in Secrets Manager: one secret per province and API type,
``lfo/<stage>/provinces/<agency code>/<api type>`` = ``{"username": ..., "password": ..., "version": n}``.

Read only when a session token has to be fetched (not per delivery), and cached per container for ``max_age_s``
unless the caller needs a later version than the cached one. Written only by the outbox consumer
(`store_versioned`), never by the internet-facing function; a write never replaces a later version, so intents
delivered out of order cannot bring back an old password. Never logged, never returned by the API.

Credentials filed in a support request are sealed by the API with the app key (``KmsCredentialSealer``: the API's
role may encrypt with it, never decrypt) and written here by the outbox consumer (``put_sealed``), whose role may
decrypt and write secrets: the internet-facing function never holds a way to read them back.
"""
from __future__ import annotations

import base64
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

    def put_sealed(self, agency_code: str, api_type: str, sealed: str, version: int = 0) -> bool:
        """Open credentials sealed by ``KmsCredentialSealer`` (same encryption context) and store them."""
        plaintext = client("kms", self._region).decrypt(
            CiphertextBlob=base64.b64decode(sealed), EncryptionContext=encryption_context(agency_code, api_type),
        )["Plaintext"]
        creds = Credentials.model_validate_json(plaintext)
        return self.store_versioned(agency_code, api_type, creds.model_dump(), version)


def encryption_context(agency_code: str, api_type: str) -> dict[str, str]:
    """Binds a ciphertext to its province and API type: it cannot be replayed as another province's credentials."""
    return {"purpose": "province-credentials", "agency_code": agency_code, "api_type": api_type}


class KmsCredentialSealer:
    """The CredentialSealer port: KMS Encrypt under the app key (alias/lfo-<stage>-app), nothing stored here."""

    def __init__(self, region: str, key_id: str) -> None:
        self._region, self._key_id = region, key_id

    def seal(self, agency_code: str, api_type: str, plaintext: bytes) -> str:
        blob = client("kms", self._region).encrypt(
            KeyId=self._key_id, Plaintext=plaintext, EncryptionContext=encryption_context(agency_code, api_type),
        )["CiphertextBlob"]
        return base64.b64encode(blob).decode("ascii")
