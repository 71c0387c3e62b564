"""Secrets from Secrets Manager through Powertools Parameters (cached per container, refreshed after max_age).

One JSON secret per stage (`lfo/<stage>/app-secrets`):
  {"id_hash_key": "...",
   "partners": {"<partner id>": ["whsec_...", ...],                       # may send for every province
                "<partner id>": {"secrets": ["whsec_..."], "provinces": ["H49", ...]}},  # only for these
   "banks": {"VCB": ["whsec_..."], ...}, "vnpay_hash_secret": "..."}
Lists allow rotation: any listed secret verifies. A partner's provinces are level-1 agency codes (H49,
000.00.00.H49) or statistics codes; a partner given as a plain list is the tax authority, nationwide.
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

    def partners(self) -> list[tuple[str, list[str], tuple[str, ...] | None]]:
        """(partner id, its secrets, the provinces it may send for or None for every province)."""
        out = []
        for partner, entry in self._all().get("partners", {}).items():
            if isinstance(entry, dict):
                out.append((partner, list(entry.get("secrets", [])), tuple(entry.get("provinces", []))))
            else:
                out.append((partner, list(entry), None))
        return out

    def bank_secrets(self, bank_code: str) -> list[str]:
        return list(self._all().get("banks", {}).get(bank_code, []))

    def vnpay_hash_secret(self) -> str:
        return str(self._all()["vnpay_hash_secret"])

    def id_hash_key(self) -> bytes:
        return str(self._all()["id_hash_key"]).encode()
