"""boto3 clients, created once per container on first use (never at import, never per request)."""
from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str, region: str) -> Any:
    import boto3

    # AWS_ENDPOINT_URL (set only by the local stack) is honoured by botocore itself.
    return boto3.session.Session().client(service, region_name=region)
