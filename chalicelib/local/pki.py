"""Local PKI for the embedded stack: a test CA and the receipt-signing certificate of a collecting organisation.

Deployed stages sign receipts with a certificate from a licensed Vietnamese CA kept in Secrets Manager (or an HSM);
this module only makes stand-ins so that `make run` and the tests can sign and verify receipts with no network. The
names say "thử nghiệm" (test) so that no one mistakes a locally signed receipt for a real one.

Secret layout (one JSON object, the one `make run` stores in the local Secrets Manager):
    {"ca_cert_pem": "...", "signing_key_pem": "...", "signing_cert_pem": "..."}
The CA's private key is not kept: it signs the one certificate and is dropped, so a leaked local secret cannot mint
further certificates. When the signing certificate is near its end, ``ensure_local_pki`` makes a new CA and certificate
(receipts signed before stay verifiable with the CA certificate that was current when they were signed).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.core.taxcode import tax_code_check_digit

SECRET_KEYS = ("ca_cert_pem", "signing_key_pem", "signing_cert_pem")

# RSA 2048 for the signing key (what Vietnamese public CAs issue for organisation signing tokens, and fast to use),
# RSA 3072 for the longer-lived CA.
SIGNING_KEY_BITS = 2048
CA_KEY_BITS = 3072
SIGNING_CERT_DAYS = 3 * 365
CA_CERT_DAYS = 10 * 365
# Start validity a day early so a verifier whose clock is a little behind still accepts a fresh certificate.
BACKDATE = timedelta(days=1)
# Renew when less than this is left: a receipt signed just before expiry must still be checked at its signing time.
RENEW_BEFORE = timedelta(days=30)

LOCAL_ORGANISATION = {
    "common_name": "Thuế tỉnh Quảng Ninh",
    "organisation": "Bộ Tài chính",
    "unit": "Môi trường thử nghiệm cục bộ",
    "locality": "Quảng Ninh",
    "tax_code_first_nine": "570123456",
}
LOCAL_CA_NAME = "CA thử nghiệm cục bộ (không dùng thật)"


def ensure_local_pki(existing: dict | None, now: datetime | None = None) -> dict:
    """Return ``existing`` unchanged when it is a usable local PKI, else a newly generated one.

    Usable: the three PEM values parse, the key belongs to the signing certificate, the CA certificate issued it,
    and the signing certificate is valid now and for at least ``RENEW_BEFORE`` more.
    """
    moment = now or datetime.now(timezone.utc)
    if existing and _usable(existing, moment):
        return existing
    return generate_local_pki(now=moment)


def generate_local_pki(now: datetime | None = None, organisation: dict | None = None) -> dict:
    """A new CA certificate, signing key and signing certificate, as the secret's JSON object."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    moment = now or datetime.now(timezone.utc)
    org = {**LOCAL_ORGANISATION, **(organisation or {})}
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=CA_KEY_BITS)
    ca_cert = _ca_certificate(ca_key, moment)
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=SIGNING_KEY_BITS)
    signing_cert = _signing_certificate(signing_key.public_key(), ca_cert, ca_key, org, moment)
    pem = serialization.Encoding.PEM
    return {
        "ca_cert_pem": ca_cert.public_bytes(pem).decode("ascii"),
        "signing_key_pem": signing_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii"),
        "signing_cert_pem": signing_cert.public_bytes(pem).decode("ascii"),
    }


def _ca_certificate(ca_key: Any, moment: datetime) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Cổng Dịch vụ công quốc gia (thử nghiệm)"),
        x509.NameAttribute(NameOID.COMMON_NAME, LOCAL_CA_NAME),
    ])
    ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - BACKDATE)
        .not_valid_after(moment + timedelta(days=CA_CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(ski, critical=False)
    )
    return builder.sign(ca_key, hashes.SHA256())


def _signing_certificate(public_key: Any, ca_cert: Any, ca_key: Any, org: dict, moment: datetime) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, org["locality"]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org["organisation"]),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, org["unit"]),
        x509.NameAttribute(NameOID.COMMON_NAME, org["common_name"]),
        # Vietnamese CAs put the organisation's tax code in UID as "MST:<tax code>".
        x509.NameAttribute(NameOID.USER_ID, "MST:" + _tax_code(org["tax_code_first_nine"])),
    ])
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment - BACKDATE)
        .not_valid_after(moment + timedelta(days=SIGNING_CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    return builder.sign(ca_key, hashes.SHA256())


def _key_usage(cert_sign: bool) -> Any:
    """CA: keyCertSign + cRLSign. Signer: digitalSignature + nonRepudiation (content commitment), as for e-receipts."""
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=not cert_sign, content_commitment=not cert_sign, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
        encipher_only=False, decipher_only=False,
    )


def _tax_code(first_nine: str) -> str:
    check = tax_code_check_digit(first_nine)
    if check is None:
        raise ValueError("these nine digits have no valid tax-code check digit")
    return first_nine + str(check)


def _usable(existing: dict, moment: datetime) -> bool:
    """True when the stored PKI can sign now and for a while; any parse or consistency failure means regenerate."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization

    if not all(isinstance(existing.get(k), str) and existing[k] for k in SECRET_KEYS):
        return False
    try:
        ca = x509.load_pem_x509_certificate(existing["ca_cert_pem"].encode("ascii"))
        cert = x509.load_pem_x509_certificate(existing["signing_cert_pem"].encode("ascii"))
        key = serialization.load_pem_private_key(existing["signing_key_pem"].encode("ascii"), password=None)
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, UnicodeError, InvalidSignature):
        return False
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    same_key = key.public_key().public_bytes(*spki) == cert.public_key().public_bytes(*spki)
    fresh = cert.not_valid_before_utc <= moment and moment + RENEW_BEFORE <= cert.not_valid_after_utc
    return same_key and fresh and moment + RENEW_BEFORE <= ca.not_valid_after_utc
