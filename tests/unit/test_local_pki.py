"""The local PKI that `make run` stores: a CA and a receipt-signing certificate that openssl accepts, reused while
usable and regenerated when not."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from chalicelib.local.pki import SECRET_KEYS, ensure_local_pki, generate_local_pki
from tests.unit import receipt_fixtures as fx


@pytest.fixture(scope="module")
def secret() -> dict:
    return fx.current()


def test_secret_is_the_three_pem_values_as_json(secret):
    assert tuple(secret) == SECRET_KEYS == ("ca_cert_pem", "signing_key_pem", "signing_cert_pem")
    assert json.loads(json.dumps(secret)) == secret
    assert secret["signing_key_pem"].startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted


def test_openssl_verifies_the_chain_and_reads_the_utf8_subject(secret, tmp_path):
    ca = fx.write(tmp_path, "ca.pem", secret["ca_cert_pem"])
    leaf = fx.write(tmp_path, "leaf.pem", secret["signing_cert_pem"])
    assert fx.openssl("verify", "-CAfile", ca, leaf).returncode == 0
    subject = fx.openssl("x509", "-in", leaf, "-noout", "-subject", "-nameopt", "utf8,sep_comma_plus").stdout
    assert "CN=Thuế tỉnh Quảng Ninh" in subject.decode("utf-8") and "C=VN" in subject.decode("utf-8")
    usage = fx.openssl("x509", "-in", leaf, "-noout", "-ext", "keyUsage").stdout.decode()
    assert "critical" in usage and "Digital Signature, Non Repudiation" in usage


def test_certificates_have_the_receipt_signing_profile(secret):
    ca = x509.load_pem_x509_certificate(secret["ca_cert_pem"].encode())
    leaf = x509.load_pem_x509_certificate(secret["signing_cert_pem"].encode())
    assert leaf.issuer == ca.subject and leaf.public_key().key_size == 2048 and ca.public_key().key_size == 3072
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Bộ Tài chính"
    assert leaf.subject.get_attributes_for_oid(NameOID.USER_ID)[0].value == "MST:5701234566"
    years = (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days / 365
    assert 2.9 < years < 3.1


def test_ensure_reuses_a_usable_pki_and_replaces_anything_else(secret):
    assert ensure_local_pki(secret) is secret
    now = datetime.now(timezone.utc)
    expired_soon = now + timedelta(days=3 * 365 - 10)
    assert ensure_local_pki(secret, now=expired_soon) is not secret
    other = fx.stranger()
    for broken in (None, {}, {**secret, "signing_key_pem": ""}, {**secret, "signing_cert_pem": "garbage"},
                   {**secret, "signing_key_pem": other["signing_key_pem"]},  # key of another certificate
                   {**secret, "ca_cert_pem": other["ca_cert_pem"]}):  # CA that did not issue it
        fresh = ensure_local_pki(broken)
        assert fresh is not broken and set(fresh) == set(SECRET_KEYS)
        assert ensure_local_pki(fresh) is fresh


def test_generated_at_a_given_moment():
    moment = datetime(2026, 1, 1, tzinfo=timezone.utc)
    leaf = x509.load_pem_x509_certificate(generate_local_pki(now=moment)["signing_cert_pem"].encode())
    assert leaf.not_valid_before_utc == moment - timedelta(days=1)
