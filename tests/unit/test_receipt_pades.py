"""PAdES signature of the receipt PDF: pyHanko's validation, plus readers that are not pyHanko (pypdf for the
signature dictionary, openssl for the CMS, poppler's pdfsig when installed), and tampering refused."""
from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from pypdf import PdfReader

from chalicelib.receipts.adapters.pdf import render_receipt_pdf
from chalicelib.receipts.pades import REASON, ReceiptPdfSignatureError, ReceiptPdfSigner, verify_receipt_pdf
from tests.unit import receipt_fixtures as fx
from tests.unit.receipt_fixtures import sample_receipt


@pytest.fixture(scope="module")
def pki() -> dict:
    return fx.current()


@pytest.fixture(scope="module")
def signer(pki) -> ReceiptPdfSigner:
    return ReceiptPdfSigner(pki["signing_key_pem"], pki["signing_cert_pem"])


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    return render_receipt_pdf(sample_receipt())


@pytest.fixture(scope="module")
def signed(signer, unsigned) -> bytes:
    return signer.sign(unsigned)


def _signature_dict(pdf: bytes):
    field = PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/AcroForm"]["/Fields"][0].get_object()
    return field, field["/V"].get_object()


def _cms_and_signed_bytes(pdf: bytes) -> tuple[bytes, bytes]:
    _, sig = _signature_dict(pdf)
    a, b, c, d = (int(n) for n in sig["/ByteRange"])
    return bytes(sig["/Contents"]).rstrip(b"\x00"), pdf[a:a + b] + pdf[c:c + d]


def test_pyhanko_finds_it_intact_valid_and_trusted(signed, pki):
    verified = verify_receipt_pdf(signed, pki["ca_cert_pem"])
    assert (verified.intact, verified.valid, verified.trusted) == (True, True, True)
    assert verified.signer_name == "Thuế tỉnh Quảng Ninh"
    assert "Bộ Tài chính" in verified.signer_subject and verified.signing_time is not None


def test_signature_dictionary_is_pades_with_vietnamese_signer_reason_and_location(signed):
    field, sig = _signature_dict(signed)  # read by pypdf, not pyHanko
    assert sig["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig["/Name"] == "Thuế tỉnh Quảng Ninh"  # from the certificate's common name, NFC
    assert sig["/Reason"] == REASON == "Biên lai điện tử"
    assert sig["/Location"] == "Quảng Ninh"  # the certificate's locality
    assert [float(v) for v in field["/Rect"]] == [0, 0, 0, 0]  # invisible field


def test_openssl_verifies_the_cms_over_the_signed_byte_ranges(signed, pki, tmp_path):
    cms, content = _cms_and_signed_bytes(signed)
    args = ["cms", "-verify", "-binary", "-inform", "DER", "-in", fx.write(tmp_path, "sig.der", cms),
            "-content", fx.write(tmp_path, "content.bin", content), "-purpose", "any", "-out", "/dev/null"]
    assert fx.openssl(*args, "-CAfile", fx.write(tmp_path, "ca.pem", pki["ca_cert_pem"])).returncode == 0
    other = fx.write(tmp_path, "other.pem", fx.stranger()["ca_cert_pem"])
    assert fx.openssl(*args, "-CAfile", other).returncode != 0
    printed = fx.openssl("cms", "-cmsout", "-print", "-inform", "DER", "-in", str(tmp_path / "sig.der")).stdout
    assert b"signingCertificateV2" in printed  # PAdES B-B binds the signing certificate
    assert b"pkcs9-signingTime" not in printed  # ...and keeps the time in /M, not in the CMS


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="pdfsig not installed (apt-get install poppler-utils)")
def test_poppler_pdfsig_finds_the_signature_valid(signed, tmp_path):
    out = subprocess.run(["pdfsig", fx.write(tmp_path, "r.pdf", signed)], check=False, capture_output=True, timeout=60)
    assert b"Signature is Valid." in out.stdout
    assert "Thuế tỉnh Quảng Ninh".encode() in out.stdout and b"Total document signed" in out.stdout


def _flip_stream_byte(pdf: bytes) -> bytes:
    at = pdf.index(b"stream\n") + 20
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1:]


def _incremental_update(pdf: bytes) -> bytes:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    writer.root["/Lang"] = generic.TextStringObject("en")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("edit, code", [
    (_flip_stream_byte, "SIGNATURE_INVALID"),
    (_incremental_update, "NOT_WHOLE_FILE"),
    (lambda pdf: pdf.replace(b"/Location", b"/Locatioo", 1), "SIGNATURE_INVALID"),  # signature dictionary
])
def test_changed_pdfs_are_refused(signed, pki, edit, code):
    changed = edit(signed)
    assert changed != signed
    with pytest.raises(ReceiptPdfSignatureError) as caught:
        verify_receipt_pdf(changed, pki["ca_cert_pem"])
    assert caught.value.code == code


def test_untrusted_unsigned_and_unreadable_pdfs_are_refused(signed, unsigned, pki):
    cases = [(signed, fx.stranger()["ca_cert_pem"], "CERTIFICATE_UNTRUSTED"),
             (unsigned, pki["ca_cert_pem"], "NOT_SIGNED"),
             (b"%PDF-1.7 nonsense", pki["ca_cert_pem"], "PDF_INVALID")]
    for pdf, ca, code in cases:
        with pytest.raises(ReceiptPdfSignatureError) as caught:
            verify_receipt_pdf(pdf, ca)
        assert caught.value.code == code


def test_one_signer_signs_many_and_never_shows_its_key(signer, pki):
    for number in ("0000124", "0000125"):
        pdf = signer.sign(render_receipt_pdf(sample_receipt(receipt_number=number)))
        assert verify_receipt_pdf(pdf, pki["ca_cert_pem"]).signer_name == "Thuế tỉnh Quảng Ninh"
    assert "PRIVATE" not in repr(signer) and "MII" not in repr(signer)
    with pytest.raises(ReceiptPdfSignatureError) as caught:
        ReceiptPdfSigner(pki["signing_key_pem"].replace("MII", "MIX", 1), pki["signing_cert_pem"])
    assert caught.value.code == "KEY_INVALID" and caught.value.__cause__ is None
    with pytest.raises(ReceiptPdfSignatureError) as caught:
        ReceiptPdfSigner(fx.stranger()["signing_key_pem"], pki["signing_cert_pem"])  # not this certificate's key
    assert caught.value.code == "KEY_INVALID"
    with pytest.raises(ReceiptPdfSignatureError) as caught:
        signer.sign(b"not a pdf")
    assert caught.value.code == "PDF_INVALID"
