"""The local moto server answers a browser's requests to a bucket by that bucket's CORS rules only, as S3 does
(chalicelib.local.moto._BucketCors): an upload POST from the allowed origin is readable, from any other origin (or
to a bucket without a rule) it is not; preflights are answered 200 or 403 by the rule; boto3 is untouched."""
from __future__ import annotations

import boto3
import pytest
import requests

from chalicelib.local.fixups import _cors_rule
from chalicelib.local.moto import start_moto

SITE = "http://127.0.0.1:8000"
ACAO = "Access-Control-Allow-Origin"


@pytest.fixture(scope="module")
def s3():
    server, endpoint = start_moto()
    client = boto3.session.Session().client("s3", endpoint_url=endpoint, region_name="ap-southeast-1",
                                            aws_access_key_id="testing", aws_secret_access_key="testing")
    for name in ("cors-test-with-rule", "cors-test-without-rule"):
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-1"})
    client.put_bucket_cors(Bucket="cors-test-with-rule", CORSConfiguration={"CORSRules": [_cors_rule(
        {"Id": "site-uploads", "AllowedMethods": ["POST"], "AllowedOrigins": [SITE], "MaxAge": 600})]})
    yield client
    server.stop()


def _upload(s3, bucket: str, origin: str | None) -> requests.Response:
    post = s3.generate_presigned_post(bucket, "citizen-scans/X")
    return requests.post(post["url"], data=post["fields"], files={"file": ("a.pdf", b"%PDF-1.7\n")},
                         headers={"Origin": origin} if origin else {}, timeout=10)


def test_an_upload_from_the_site_origin_is_readable(s3):
    r = _upload(s3, "cors-test-with-rule", SITE)
    assert r.status_code == 204 and r.headers[ACAO] == SITE
    assert s3.get_object(Bucket="cors-test-with-rule", Key="citizen-scans/X")["Body"].read() == b"%PDF-1.7\n"


def test_another_origin_or_a_bucket_without_a_rule_gets_no_cors_header(s3):
    assert ACAO not in _upload(s3, "cors-test-with-rule", "https://evil.example").headers
    assert ACAO not in _upload(s3, "cors-test-without-rule", SITE).headers  # moto alone would say "*"


def test_preflights_follow_the_rule(s3):
    url = f"{s3.meta.endpoint_url}/cors-test-with-rule"
    ok = requests.options(url, headers={"Origin": SITE, "Access-Control-Request-Method": "POST"}, timeout=10)
    assert ok.status_code == 200 and ok.headers[ACAO] == SITE and ok.headers["Access-Control-Max-Age"] == "600"
    for origin, method in ((SITE, "PUT"), ("https://evil.example", "POST")):
        r = requests.options(url, headers={"Origin": origin, "Access-Control-Request-Method": method}, timeout=10)
        assert r.status_code == 403 and ACAO not in r.headers, (origin, method)
