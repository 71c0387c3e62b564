"""boto3 clients, created once per container on first use (never at import, never per request)."""
from __future__ import annotations

from functools import cache
from typing import Any


@cache
def client(service: str, region: str) -> Any:
    import boto3

    # AWS_ENDPOINT_URL (set only by the local stack) is honoured by botocore itself.
    return boto3.session.Session().client(service, region_name=region)


@cache
def s3_client(region: str, endpoint_url: str = "") -> Any:
    """An S3 client signing v4 (presigned URLs) at ``endpoint_url`` (the local stack's moto server; empty in AWS)."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client("s3", region_name=region, endpoint_url=endpoint_url or None,
                                          config=Config(signature_version="s3v4", retries={"mode": "standard"}))
