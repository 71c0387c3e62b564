"""Secrets from Secrets Manager through Powertools Parameters (cached per container, refreshed after max_age).

One JSON secret per stage (`lfo/<stage>/app-secrets`):
  {"id_hash_key": "...", "partners": {"<partner id>": ["whsec_...", ...]},
   "banks": {"VCB": ["whsec_..."], ...}, "vnpay_hash_secret": "..."}
Lists allow rotation: any listed secret verifies.
"""
from __future__ import annotations

from typing import Any

from chalicelib.aws.clients import client


class AppSecrets:
    def __init__(self, secret_name: str, region: str, max_age_s: int = 300) -> None:
        self._name, self._region, self._max_age = secret_name, region, max_age_s
        self._provider = None

    def _all(self) -> dict[str, Any]:
        if self._provider is None:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            self._provider = SecretsProvider(boto3_client=client("secretsmanager", self._region))
        return self._provider.get(self._name, transform="json", max_age=self._max_age)

    def all_partner_secrets(self) -> dict[str, list[str]]:
        return dict(self._all().get("partners", {}))

    def bank_secrets(self, bank_code: str) -> list[str]:
        return list(self._all().get("banks", {}).get(bank_code, []))

    def vnpay_hash_secret(self) -> str:
        return str(self._all()["vnpay_hash_secret"])

    def id_hash_key(self) -> bytes:
        return str(self._all()["id_hash_key"]).encode()
