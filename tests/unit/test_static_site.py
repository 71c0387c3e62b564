"""The local stack's static site and the CloudFront fragment it mirrors: only built files are served (nothing
outside the manifest, whatever the path), with the build's content type and cache policy, compressed on request;
the security headers are read from infra/web.json; the fragment merges into the template, lints clean, and the
local stack leaves out what moto cannot create."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.local.cognito_local import merge_fragment
from chalicelib.local.resources import TEMPLATE_PATH, local_template
from chalicelib.local.static_site import WEB_FRAGMENT, StaticSite, is_site_path, security_headers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def site(tmp_path):
    (tmp_path / "index.html").write_text("<h1>Trang chủ</h1>", encoding="utf-8")
    (tmp_path / "404.html").write_text("<h1>Không tìm thấy trang</h1>", encoding="utf-8")
    (tmp_path / "a.js").write_text("export const x = 1;", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("not listed", encoding="utf-8")
    files = {"/index.html": {"type": "text/html; charset=utf-8", "cache": "no-cache"},
             "/404.html": {"type": "text/html; charset=utf-8", "cache": "no-cache"},
             "/a.js": {"type": "text/javascript; charset=utf-8", "cache": "public, max-age=31536000, immutable"}}
    (tmp_path / "manifest.json").write_text(json.dumps({"files": files}), encoding="utf-8")
    return StaticSite(tmp_path)


def test_serves_built_files_with_their_type_and_cache_policy(site):
    status, headers, body = site.answer("/")
    assert (status, headers["Content-Type"], headers["Cache-Control"]) == (200, "text/html; charset=utf-8", "no-cache")
    assert body.decode() == "<h1>Trang chủ</h1>"
    status, headers, _ = site.answer("/a.js?v=1")
    assert status == 200 and headers["Cache-Control"].endswith("immutable")


@pytest.mark.parametrize("path", ["/secret.txt", "/../manifest.json", "/%2e%2e/etc/passwd", "/manifest.json",
                                  "/index.html/", "//etc/passwd"])
def test_nothing_outside_the_manifest_is_served(site, path):
    status, headers, body = site.answer(path)
    assert status == 404 and headers["Cache-Control"] == "no-store" and "Không tìm thấy" in body.decode()


def test_compresses_text_when_asked(site):
    status, headers, body = site.answer("/a.js", accept_encoding="gzip, deflate, br")
    assert headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == b"export const x = 1;"
    assert "Content-Encoding" not in site.answer("/a.js")[1]


def test_unbuilt_site_says_how_to_build(tmp_path):
    status, _, body = StaticSite(tmp_path / "nothing").answer("/")
    assert status == 503 and "make web" in body.decode()


def test_api_paths_go_to_the_api():
    assert not is_site_path("/v1/lookup") and not is_site_path("/openapi.json")
    assert is_site_path("/") and is_site_path("/thanh-toan-dat-dai.html") and is_site_path("/v1")


def test_security_headers_come_from_the_cloudfront_policy():
    headers = security_headers(upload_origin="http://127.0.0.1:5000")
    policy = json.loads(WEB_FRAGMENT.read_text(encoding="utf-8"))["Resources"]["SiteSecurityHeaders"]
    csp = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    text, variables = csp["ContentSecurityPolicy"]["Fn::Sub"]
    assert headers["Content-Security-Policy"] == text.replace("${UploadOrigin}", "http://127.0.0.1:5000")
    assert "'unsafe-inline'" not in text and "'unsafe-eval'" not in text
    assert headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains; preload"
    assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Cross-Origin-Opener-Policy"] == "same-origin"


def _merged() -> dict:
    template = json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))
    return merge_fragment(template, json.loads(WEB_FRAGMENT.read_text(encoding="utf-8")))


def test_uploads_may_go_to_the_documents_bucket_endpoint_only():
    """connect-src adds exactly the documents bucket's regional endpoint (where the API's presigned POSTs point), and
    that bucket lets only the site's origin read S3's answer (POST only); locally the moto endpoint stands in."""
    merged = _merged()
    csp = merged["Resources"]["SiteSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"][
        "SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    text, variables = csp["Fn::Sub"]
    assert variables == {"UploadOrigin": {"Fn::Sub": "https://${DocumentsBucket.RegionalDomainName}"}}
    assert "connect-src 'self' ${UploadOrigin};" in text and "form-action 'self';" in text
    assert "connect-src 'self';" in security_headers()["Content-Security-Policy"]
    rules = merged["Resources"]["DocumentsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rules == [{"Id": "site-uploads", "AllowedMethods": ["POST"], "AllowedOrigins": [{"Ref": "SiteOrigin"}],
                      "MaxAge": 600}]
    assert merged["Parameters"]["SiteOrigin"]["Default"].startswith("https://")


def test_presigned_posts_name_the_regional_endpoint_the_csp_allows(monkeypatch):
    from chalicelib.accounts.adapters.scans import S3ScanFiles, s3_client

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    s3_client.cache_clear()
    try:
        form = S3ScanFiles("ap-southeast-1", "lfo-prod-documents-123456789012").upload_form(
            "citizen-scans/X", "application/pdf", {}, 10, 60)
        assert form["url"] == "https://lfo-prod-documents-123456789012.s3.ap-southeast-1.amazonaws.com/"
        local = S3ScanFiles("ap-southeast-1", "b", "http://127.0.0.1:5000").upload_form("k", "application/pdf", {}, 10, 60)
        assert local["url"] == "http://127.0.0.1:5000/b"
    finally:
        s3_client.cache_clear()


def test_fragment_routes_the_api_and_keeps_the_bucket_private():
    resources = _merged()["Resources"]
    config = resources["SiteDistribution"]["Properties"]["DistributionConfig"]
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert behaviours["/v1/*"]["TargetOriginId"] == "api" and "POST" in behaviours["/v1/*"]["AllowedMethods"]
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "site"
    for behaviour in [config["DefaultCacheBehavior"], *behaviours.values()]:
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "SiteSecurityHeaders"}
    site_origin = next(o for o in config["Origins"] if o["Id"] == "site")
    assert site_origin["OriginAccessControlId"] == {"Fn::GetAtt": ["SiteOriginAccessControl", "Id"]}
    block = resources["SiteBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    assert all(block.values())
    assert "CustomErrorResponses" not in config  # they would replace the API's problem+json 403/404 too


def test_local_stack_leaves_out_cloudfront_and_what_refers_to_it():
    local, deferred = local_template(_merged())
    kinds = {r["Type"] for r in local["Resources"].values()}
    assert not any(k.startswith("AWS::CloudFront::") for k in kinds)
    assert "SiteBucket" in local["Resources"] and "SiteBucketPolicy" not in local["Resources"]
    assert "SiteUrl" not in local["Outputs"] and "SiteBucketName" in local["Outputs"]
    assert not deferred.keys() & {"SiteBucket", "SiteDistribution"}


def test_merged_template_lints_clean(tmp_path):
    path = tmp_path / "merged.json"
    path.write_text(json.dumps(_merged()), encoding="utf-8")
    lint = subprocess.run([str(Path(sys.executable).with_name("cfn-lint")), str(path)], capture_output=True, text=True, cwd=ROOT,
                          timeout=180)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_publish_uploads_assets_before_pages_with_their_headers(tmp_path):
    import boto3
    from moto import mock_aws

    from web.build import build
    from web.publish import publish

    dist = tmp_path / "dist"
    manifest = build(dist)
    with mock_aws():
        s3 = boto3.client("s3", region_name="ap-southeast-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
        s3.create_bucket(Bucket="site", CreateBucketConfiguration={"LocationConstraint": "ap-southeast-1"})
        keys = publish(s3, "site", dist)
        first_page = min(i for i, k in enumerate(keys) if k.endswith(".html"))
        assert all(not k.endswith(".html") for k in keys[:first_page]) and keys[0].startswith("assets/")
        assert all(k.endswith(".html") or k == "manifest.json" for k in keys[first_page:])
        page = s3.head_object(Bucket="site", Key="thanh-toan-dat-dai.html")
        assert page["ContentType"] == "text/html; charset=utf-8" and page["CacheControl"] == "no-cache"
        css = next(u for u in manifest["files"] if u.endswith(".css"))
        asset = s3.head_object(Bucket="site", Key=css.lstrip("/"))
        assert asset["CacheControl"] == "public, max-age=31536000, immutable"


def test_a_partial_is_inserted_with_the_page_marked_current(tmp_path):
    from web.build import BuildError, _partials

    (tmp_path / "partials").mkdir()
    (tmp_path / "partials" / "menu.html").write_text('<nav><a href="/a.html">A</a> <a href="/b.html">B</a></nav>\n')
    main = _partials(tmp_path, "<h1>B</h1>\n{{partial:menu}}", "/b.html", "b.html")
    assert main == '<h1>B</h1>\n<nav><a href="/a.html">A</a> <a href="/b.html" aria-current="page">B</a></nav>'
    with pytest.raises(BuildError, match="unknown partial"):
        _partials(tmp_path, "{{partial:missing}}", "/b.html", "b.html")
