"""XMLDSig of the e-receipt: checked by verifiers that are not ours (signxml configured with the CA, openssl over
a canonical form made by Python's own C14N, and xmlsec1 when installed), and every tampering refused."""
from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from chalicelib.receipts.signing import (
    DS_NS,
    ReceiptSignatureError,
    ReceiptSigner,
    sign_receipt_xml,
    verify_receipt_xml,
)
from chalicelib.receipts.xml import build_receipt_xml
from tests.unit import receipt_fixtures as fx
from tests.unit.receipt_fixtures import SIGNING_TIME, sample_receipt


@pytest.fixture(scope="module")
def signer() -> ReceiptSigner:
    return ReceiptSigner(fx.trusted()["signing_key_pem"], fx.trusted()["signing_cert_pem"])


@pytest.fixture(scope="module")
def signed(signer) -> bytes:
    return signer.sign(build_receipt_xml(sample_receipt()), SIGNING_TIME)


def _ca() -> str:
    return fx.trusted()["ca_cert_pem"]


def _between(document: bytes, start: bytes, end: bytes) -> bytes:
    first = document.index(start)
    return document[first:document.index(end, first) + len(end)]


def _stdlib_c14n(fragment: bytes, default_ns: str | None = None) -> bytes:
    """Canonical form by CPython's pure-Python C14N 2.0, which for these fragments (one default namespace, no
    comments, no whitespace, no xml:* attributes) is byte-for-byte exclusive C14N 1.0."""
    text = fragment.decode("utf-8")
    if default_ns:
        tag = re.match(r"<(\w+)", text).group(1)
        text = text.replace(f"<{tag}", f'<{tag} xmlns="{default_ns}"', 1)
    return ET.canonicalize(text).encode("utf-8")


# --- the signature, as independent verifiers see it ---------------------------------------------


def test_signxml_with_the_ca_accepts_it_and_returns_exactly_the_signed_parts(signed):
    from signxml import SignatureConfiguration, XMLVerifier

    with tempfile.NamedTemporaryFile("w", suffix=".pem") as ca_file:
        ca_file.write(_ca())
        ca_file.flush()
        config = SignatureConfiguration(location="./DSCKS/TCThu/", expect_references=2,
                                        verification_time=SIGNING_TIME)
        results = XMLVerifier().verify(signed, ca_pem_file=ca_file.name, expect_config=config, validate_schema=False)
    assert results[0].signed_xml.tag == "DLBLai"
    assert results[1].signed_xml.find(f".//{{{DS_NS}}}SigningTime").text == "2026-11-30T10:01:02"


def test_signature_has_the_tax_authority_profile(signed):
    root = ET.fromstring(signed)
    sig = root.find(f"DSCKS/TCThu/{{{DS_NS}}}Signature")
    ds = f"{{{DS_NS}}}"
    assert [c.tag for c in sig] == [ds + "SignedInfo", ds + "SignatureValue", ds + "KeyInfo", ds + "Object"]
    assert b'<Signature xmlns="http://www.w3.org/2000/09/xmldsig#" Id="TCThuSig">' in signed  # default namespace
    refs = sig.findall(f"{ds}SignedInfo/{ds}Reference")
    assert [r.get("URI") for r in refs] == ["#data", "#SigningTime"]
    assert sig.find(f"{ds}SignedInfo/{ds}SignatureMethod").get("Algorithm").endswith("#rsa-sha256")
    assert sig.find(f"{ds}SignedInfo/{ds}CanonicalizationMethod").get("Algorithm") == \
        "http://www.w3.org/2001/10/xml-exc-c14n#"
    assert sig.find(f"{ds}KeyInfo/{ds}X509Data/{ds}X509SubjectName").text.startswith(
        "UID=MST:5701234566,CN=Thuế tỉnh Quảng Ninh,")
    prop = sig.find(f"{ds}Object/{ds}SignatureProperties/{ds}SignatureProperty")
    assert sig.find(f"{ds}Object").get("Id") == "SigningTime" and prop.get("Target") == "#TCThuSig"
    assert prop.find(f"{ds}SigningTime").text == "2026-11-30T10:01:02"  # GMT+7, no offset


def test_openssl_verifies_signature_value_and_digests_over_independent_c14n(signed, tmp_path):
    ds = f"{{{DS_NS}}}"
    sig = ET.fromstring(signed).find(f"DSCKS/TCThu/{ds}Signature")
    digests = [base64.b64decode(d.text) for d in sig.iter(ds + "DigestValue")]
    assert hashlib.sha256(_stdlib_c14n(_between(signed, b"<DLBLai", b"</DLBLai>"))).digest() == digests[0]
    obj = _between(signed, b'<Object Id="SigningTime">', b"</Object>")
    assert hashlib.sha256(_stdlib_c14n(obj, DS_NS)).digest() == digests[1]

    signed_info = _stdlib_c14n(_between(signed, b"<SignedInfo>", b"</SignedInfo>"), DS_NS)
    der = base64.b64decode(sig.find(f"{ds}KeyInfo/{ds}X509Data/{ds}X509Certificate").text)
    cert = fx.write(tmp_path, "signer.der", der)
    pub = fx.openssl("x509", "-inform", "DER", "-in", cert, "-pubkey", "-noout").stdout
    result = fx.openssl("dgst", "-sha256", "-verify", fx.write(tmp_path, "pub.pem", pub), "-signature",
                        fx.write(tmp_path, "sig.bin", base64.b64decode(sig.find(f"{ds}SignatureValue").text)),
                        fx.write(tmp_path, "si.xml", signed_info))
    assert result.returncode == 0 and b"Verified OK" in result.stdout


def test_openssl_accepts_the_embedded_certificate_chain_only_with_the_right_ca(signed, tmp_path):
    ds = f"{{{DS_NS}}}"
    der = base64.b64decode(ET.fromstring(signed).find(f".//{ds}X509Certificate").text)
    cert = fx.write(tmp_path, "signer.der", der)
    pem = fx.openssl("x509", "-inform", "DER", "-in", cert).stdout
    leaf = fx.write(tmp_path, "signer.pem", pem)
    at = ["-attime", str(int(SIGNING_TIME.timestamp()))]
    assert fx.openssl("verify", *at, "-CAfile", fx.write(tmp_path, "ca.pem", _ca()), leaf).returncode == 0
    other = fx.write(tmp_path, "other.pem", fx.stranger()["ca_cert_pem"])
    assert fx.openssl("verify", *at, "-CAfile", other, leaf).returncode != 0


@pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="xmlsec1 not installed (apt-get install xmlsec1)")
def test_xmlsec1_verifies_it(signed, tmp_path):
    args = ["xmlsec1", "--verify", "--trusted-pem", fx.write(tmp_path, "ca.pem", _ca()), "--id-attr:Id", "DLBLai",
            "--id-attr:Id", "Object", "--verification-gmt-time", "2026-11-30 03:01:02"]
    def xmlsec1(name: str, document: bytes) -> int:
        path = fx.write(tmp_path, name, document)
        return subprocess.run([*args, path], check=False, capture_output=True, timeout=60).returncode

    assert xmlsec1("ok.xml", signed) == 0
    assert xmlsec1("bad.xml", signed.replace(b"<STien>378500</STien>", b"<STien>378501</STien>")) != 0


# --- our verifier -------------------------------------------------------------------------------


def test_verify_returns_the_signed_receipt_time_and_signer(signed):
    verified = verify_receipt_xml(signed, _ca())
    assert verified.receipt["receipt_number"] == "0000123" and verified.receipt["amount_vnd"] == 1_378_500
    assert verified.signing_time == SIGNING_TIME
    assert verified.signer_name == "Thuế tỉnh Quảng Ninh"
    assert "O=Bộ Tài chính" in verified.signer_subject and verified.signer_subject.endswith("C=VN")
    assert len(verified.certificate_sha256) == 64


def test_same_input_and_time_give_the_same_bytes(signer):
    document = build_receipt_xml(sample_receipt())
    again = ReceiptSigner(fx.trusted()["signing_key_pem"], fx.trusted()["signing_cert_pem"])
    assert signer.sign(document, SIGNING_TIME) == again.sign(document, SIGNING_TIME)
    assert sign_receipt_xml(document, fx.trusted()["signing_key_pem"], fx.trusted()["signing_cert_pem"],
                            SIGNING_TIME) == signer.sign(document, SIGNING_TIME)
    assert signer.sign(document, SIGNING_TIME + timedelta(seconds=1)) != signer.sign(document, SIGNING_TIME)


def test_vietnamese_text_round_trips_nfc_through_signing(signer):
    nfd = unicodedata.normalize("NFD", "Trần Văn Đức, phường Hồng Hải")
    signed = signer.sign(build_receipt_xml(sample_receipt(payer_name=nfd)), SIGNING_TIME)
    name = verify_receipt_xml(signed, _ca()).receipt["payer_name"]
    assert name == unicodedata.normalize("NFC", nfd) and name != nfd


def _replace(old: bytes, new: bytes):
    def edit(document: bytes) -> bytes:
        assert old in document
        return document.replace(old, new, 1)
    return edit


def _swap_items(document: bytes) -> bytes:
    first = _between(document, b"<Khoan><STT>1</STT>", b"</Khoan>")
    second = _between(document, b"<Khoan><STT>2</STT>", b"</Khoan>")
    return document.replace(first + second, second + first)


def _move_object_first(document: bytes) -> bytes:
    obj = _between(document, b'<Object Id="SigningTime">', b"</Object>")
    body = document.replace(obj, b"")
    return body.replace(b'Id="TCThuSig">', b'Id="TCThuSig">' + obj)


TAMPERING = {
    "one amount": (_replace(b"<STien>378500</STien>", b"<STien>378501</STien>"), "DIGEST_MISMATCH"),
    "amount and total": (lambda d: d.replace(b"378500</STien>", b"378600</STien>").replace(
        b"1378500</TgTTBSo>", b"1378600</TgTTBSo>"), "DIGEST_MISMATCH"),
    "one digit of the number": (_replace(b"<SBLai>0000123<", b"<SBLai>0000124<"), "DIGEST_MISMATCH"),
    "payer name": (_replace("Nguyễn Thị Trang".encode(), "Nguyễn Thị Trâng".encode()), "DIGEST_MISMATCH"),
    "signing time": (_replace(b"T10:01:02</SigningTime>", b"T10:01:03</SigningTime>"), "DIGEST_MISMATCH"),
    "item order": (_swap_items, "DIGEST_MISMATCH"),
    "signature value": (lambda d: re.sub(rb"<SignatureValue>(.)", lambda m: b"<SignatureValue>" + (
        b"A" if m.group(1) != b"A" else b"B"), d, count=1), "SIGNATURE_INVALID"),
    "strip SigningTime": (lambda d: re.sub(rb"<SigningTime>[^<]*</SigningTime>", b"", d), "SIGNING_TIME_MISSING"),
    "strip the Object": (lambda d: d.replace(_between(d, b'<Object Id="SigningTime">', b"</Object>"), b""),
                         "SIGNING_TIME_MISSING"),
    "signing time with offset": (_replace(b"T10:01:02</SigningTime>", b"T10:01:02+07:00</SigningTime>"),
                                 "SIGNING_TIME_MISSING"),
    "re-ordered signature": (_move_object_first, "SIGNATURE_MALFORMED"),
    "second data element": (_replace(b"<DSCKS>", b'<DLBLai Id="data"></DLBLai><DSCKS>'), "SIGNATURE_MALFORMED"),
    "second Object": (lambda d: d.replace(b"</Signature>", _between(d, b'<Object Id="SigningTime">', b"</Object>")
                                          .replace(b'Id="SigningTime"', b'Id="Other"') + b"</Signature>"),
                      "SIGNATURE_MALFORMED"),
    "drop a reference": (lambda d: d.replace(_between(d, b'<Reference URI="#SigningTime">', b"</Reference>"), b""),
                         "SIGNATURE_MALFORMED"),
    "subject name": (_replace(b"CN=Thu", b"CN=Chi nh\xc3\xa1nh Thu"), "SIGNATURE_MALFORMED"),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_every_tampering_is_refused(signed, name):
    edit, code = TAMPERING[name]
    with pytest.raises(ReceiptSignatureError) as caught:
        verify_receipt_xml(edit(signed), _ca())
    assert caught.value.code == code


def _with_certificate_of(secret: dict, document: bytes) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = x509.load_pem_x509_certificate(secret["signing_cert_pem"].encode())
    b64 = base64.b64encode(cert.public_bytes(Encoding.DER))
    return re.sub(rb"<X509Certificate>[^<]*<", b"<X509Certificate>" + b64 + b"<", document)


def test_swapped_certificate_is_refused(signed):
    with pytest.raises(ReceiptSignatureError) as caught:  # same CA and name, another key
        verify_receipt_xml(_with_certificate_of(fx.sibling(), signed), _ca())
    assert caught.value.code == "SIGNATURE_INVALID"


def test_signature_from_another_ca_is_refused():
    stranger = fx.stranger()
    signed = sign_receipt_xml(build_receipt_xml(sample_receipt()), stranger["signing_key_pem"],
                              stranger["signing_cert_pem"], SIGNING_TIME)
    assert verify_receipt_xml(signed, stranger["ca_cert_pem"]).signer_name == "Thuế tỉnh Quảng Ninh"
    with pytest.raises(ReceiptSignatureError) as caught:
        verify_receipt_xml(signed, _ca())
    assert caught.value.code == "CERTIFICATE_UNTRUSTED"


def test_unreadable_trusted_ca_is_a_configuration_error_not_a_verdict(signed):
    with pytest.raises(ReceiptSignatureError) as caught:
        verify_receipt_xml(signed, "not a certificate")
    assert caught.value.code == "CA_INVALID"


def test_chain_is_checked_at_the_signing_time_or_when_asked(signed):
    assert verify_receipt_xml(signed, _ca(), at=SIGNING_TIME + timedelta(days=365)).signing_time == SIGNING_TIME
    with pytest.raises(ReceiptSignatureError) as caught:
        verify_receipt_xml(signed, _ca(), at=SIGNING_TIME + timedelta(days=4 * 365))  # after the cert expired
    assert caught.value.code == "CERTIFICATE_UNTRUSTED"


def test_signing_outside_the_certificate_validity_does_not_verify(signer):
    signed = signer.sign(build_receipt_xml(sample_receipt()), datetime(2020, 1, 1, tzinfo=fx.GMT7))
    with pytest.raises(ReceiptSignatureError) as caught:
        verify_receipt_xml(signed, _ca())
    assert caught.value.code == "CERTIFICATE_UNTRUSTED"


# --- the signer ---------------------------------------------------------------------------------


def test_signer_refuses_a_key_that_is_not_the_certificates_and_a_non_signing_certificate():
    with pytest.raises(ReceiptSignatureError) as caught:
        ReceiptSigner(fx.trusted()["signing_key_pem"], fx.sibling()["signing_cert_pem"])
    assert caught.value.code == "CERTIFICATE_INVALID"
    odd = fx.no_nonrepudiation()
    with pytest.raises(ReceiptSignatureError) as caught:
        ReceiptSigner(odd["signing_key_pem"], odd["signing_cert_pem"])
    assert caught.value.code == "CERTIFICATE_INVALID"


def test_key_material_never_appears_in_errors_or_repr(signer):
    key = fx.trusted()["signing_key_pem"]
    broken = key.replace("MII", "MIX", 1)
    with pytest.raises(ReceiptSignatureError) as caught:
        ReceiptSigner(broken, fx.trusted()["signing_cert_pem"])
    body = "".join(key.splitlines()[1:3])
    assert caught.value.code == "KEY_INVALID"
    assert body[:40] not in str(caught.value) and caught.value.__cause__ is None
    assert body[:40] not in repr(signer) and "PRIVATE" not in repr(signer)


def test_signer_refuses_documents_that_are_not_unsigned_canonical_receipts(signer, signed):
    document = build_receipt_xml(sample_receipt())
    for bad in (signed, document.replace(b"<STT>2</STT>", b"<STT>9</STT>"), b"<BLai/>"):
        with pytest.raises(ReceiptSignatureError) as caught:
            signer.sign(bad, SIGNING_TIME)
        assert caught.value.code == "DOCUMENT_INVALID"
    with pytest.raises(ReceiptSignatureError):
        signer.sign(document, SIGNING_TIME.replace(tzinfo=None))


def test_receipt_modules_import_no_heavy_library_until_used():
    code = ("import sys, chalicelib.receipts.xml, chalicelib.receipts.signing, chalicelib.receipts.pades, "
            "chalicelib.receipts.qr, chalicelib.local.pki; "
            "print(sorted(m for m in ('lxml', 'signxml', 'pyhanko', 'segno', 'aiohttp') if m in sys.modules))")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60,
                         cwd=root)
    assert out.returncode == 0 and out.stdout.strip() == "[]"
