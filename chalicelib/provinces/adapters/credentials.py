"""Province API credentials in Secrets Manager: one secret per province and API type,
``lfo/<stage>/provinces/<agency code>/<api type>`` = ``{"username": ..., "password": ...}``.

Read only when a session token has to be fetched (not per delivery), and cached per container for ``max_age_s``.
Never logged, never returned by the API.

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
from chalicelib.provinces.domain.registry import Credentials


class SecretsManagerCredentials:
    def __init__(self, stage: str, region: str, max_age_s: float = 300) -> None:
        self._prefix, self._region, self._max_age = f"lfo/{stage}/provinces", region, max_age_s
        self._cache: dict[str, tuple[float, Credentials | None]] = {}
        self._lock = threading.Lock()

    def name(self, agency_code: str, api_type: ApiType) -> str:
        return f"{self._prefix}/{agency_code}/{api_type.value}"

    def get(self, agency_code: str, api_type: ApiType) -> Credentials | None:
        name = self.name(agency_code, api_type)
        hit = self._cache.get(name)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        sm = client("secretsmanager", self._region)
        try:
            value = sm.get_secret_value(SecretId=name)["SecretString"]
            creds: Credentials | None = Credentials.model_validate(json.loads(value))
        except sm.exceptions.ResourceNotFoundException:
            creds = None
        with self._lock:
            self._cache[name] = (time.monotonic() + self._max_age, creds)
        return creds

    def put(self, agency_code: str, api_type: ApiType, credentials: Credentials) -> None:
        name = self.name(agency_code, api_type)
        value = credentials.model_dump_json()
        sm = client("secretsmanager", self._region)
        try:
            sm.put_secret_value(SecretId=name, SecretString=value)
        except sm.exceptions.ResourceNotFoundException:
            sm.create_secret(Name=name, SecretString=value,
                             Description="Province one-stop API credentials (lfo province registry).")
        with self._lock:
            self._cache.pop(name, None)

    def put_sealed(self, agency_code: str, api_type: str, sealed: str) -> None:
        """Open credentials sealed by ``KmsCredentialSealer`` (same encryption context) and store them."""
        plaintext = client("kms", self._region).decrypt(
            CiphertextBlob=base64.b64decode(sealed), EncryptionContext=encryption_context(agency_code, api_type),
        )["Plaintext"]
        self.put(agency_code, ApiType(api_type), Credentials.model_validate_json(plaintext))


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
