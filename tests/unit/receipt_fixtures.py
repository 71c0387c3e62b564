"""A sample receipt and test PKI for the receipt document/signing tests; the PKI is made once per test process.

``trusted()`` is the local PKI as `make run` would store it, at a fixed moment (so the XML tests need no real clock:
the XML verifier checks the chain at the signing time). ``current()`` is one made now (pyHanko signs with the real
clock). ``sibling()`` is a second signing certificate from the same CA as ``trusted()``; ``stranger()`` a complete PKI
from another CA; ``no_nonrepudiation()`` a certificate of the trusted CA without nonRepudiation.
"""
from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.local import pki

GMT7 = timezone(timedelta(hours=7))
MOMENT = datetime(2026, 11, 30, 3, 0, 0, tzinfo=timezone.utc)  # 10:00 in Hà Nội
SIGNING_TIME = datetime(2026, 11, 30, 10, 1, 2, tzinfo=GMT7)


def _pem_key(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def _pem_cert(cert) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


@cache
def _trusted_with_ca_key() -> tuple[dict, rsa.RSAPrivateKey]:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_cert = pki._ca_certificate(ca_key, MOMENT)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = pki._signing_certificate(key.public_key(), ca_cert, ca_key, pki.LOCAL_ORGANISATION, MOMENT)
    return {"ca_cert_pem": _pem_cert(ca_cert), "signing_key_pem": _pem_key(key),
            "signing_cert_pem": _pem_cert(cert)}, ca_key


def trusted() -> dict:
    return _trusted_with_ca_key()[0]


@cache
def sibling() -> dict:
    """Same CA, same organisation name, another key."""
    secret, ca_key = _trusted_with_ca_key()
    ca_cert = x509.load_pem_x509_certificate(secret["ca_cert_pem"].encode())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = pki._signing_certificate(key.public_key(), ca_cert, ca_key, pki.LOCAL_ORGANISATION, MOMENT)
    return {**secret, "signing_key_pem": _pem_key(key), "signing_cert_pem": _pem_cert(cert)}


@cache
def no_nonrepudiation() -> dict:
    secret, ca_key = _trusted_with_ca_key()
    ca_cert = x509.load_pem_x509_certificate(secret["ca_cert_pem"].encode())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    cert = (x509.CertificateBuilder().subject_name(x509.Name.from_rfc4514_string("CN=Khong chong choi bo,C=VN"))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(MOMENT - timedelta(days=1)).not_valid_after(MOMENT + timedelta(days=30))
            .add_extension(usage, critical=True).sign(ca_key, hashes.SHA256()))
    return {**secret, "signing_key_pem": _pem_key(key), "signing_cert_pem": _pem_cert(cert)}


@cache
def stranger() -> dict:
    return pki.generate_local_pki(now=MOMENT, organisation={"unit": "Tổ chức khác"})


@cache
def current() -> dict:
    return pki.generate_local_pki()


def openssl(*args: str, input_bytes: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], input=input_bytes, check=False, capture_output=True, timeout=30)


def write(tmp_path: Path, name: str, data: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return str(path)


def sample_receipt(**changes) -> dict:
    """A receipt mapping as the issuing flow will hand it over (Receipt fields + the new legal ones)."""
    receipt = {
        "receipt_id": "RCP01JQ8Z3K5W7X9Y2B4C6D8E0F1G",
        "receipt_number": "0000123",
        "template_symbol": "EBL01",
        "series": "26TAA",
        "collecting_unit_code": "000.00.00.H49",
        "collecting_unit_name": "Thuế tỉnh Quảng Ninh",
        "collecting_unit_tax_code": "5701234566",
        "payer_name": "Nguyễn Thị Trang",
        "payer_tax_code": "0100109106",
        "dossier_code": "H35.22-260315-0001",
        "notice_number": "TB-2026-000456",
        "reference_number": "PAY01JQ8Z3K5W7X9Y2B4C6D8E0F1G",
        "tax_payment_id": "3120260000456",
        "items": [
            {"sub_item_code": "2801", "description": "Lệ phí trước bạ nhà đất", "amount_vnd": 1_000_000},
            {"sub_item_code": "1006", "description": "Thuế thu nhập từ chuyển nhượng bất động sản",
             "amount_vnd": 378_500},
        ],
        "amount_vnd": 1_378_500,
        "amount_in_words": "Một triệu ba trăm bảy mươi tám nghìn năm trăm đồng",
        "bank_code": "VCB",
        "bank_name": "Ngân hàng TMCP Ngoại thương Việt Nam",
        "bank_txn_ref": "FT26074123456789",
        "paid_at": "2026-11-30T10:00:30+07:00",
        "issued_at": "2026-11-30T03:01:00Z",  # 10:01:00 in GMT+7
        "payment_id": "PAY01JQ8Z3K5W7X9Y2B4C6D8E0F1G",
    }
    receipt.update(changes)
    return receipt
