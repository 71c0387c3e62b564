"""The receipt's verification QR code: secret, URL, module matrix, and vector drawing that a scanner can read."""
from __future__ import annotations

import io
import re
import shutil
import subprocess

import pytest
import segno
from fpdf import FPDF
from pypdf import PdfReader

from chalicelib.receipts.qr import (
    QUIET_ZONE_MODULES,
    SECRET_ALPHABET,
    SECRET_LENGTH,
    dark_runs,
    draw_qr,
    new_verification_secret,
    qr_matrix,
    verification_url,
)

BASE = "https://dichvucong.gov.vn/bien-lai/tra-cuu"


def test_secret_is_ten_unambiguous_characters_and_never_repeats():
    secrets_made = {new_verification_secret() for _ in range(2000)}
    assert len(secrets_made) == 2000
    assert all(len(s) == SECRET_LENGTH == 10 and set(s) <= set(SECRET_ALPHABET) for s in secrets_made)
    assert not set("0O1IL") & set(SECRET_ALPHABET)
    assert set("".join(secrets_made)) == set(SECRET_ALPHABET)  # every character is used


def test_url_carries_series_number_and_secret_deterministically():
    url = verification_url(BASE, "26TAA", "0000123", "ABCD234567")
    assert url == BASE + "?kh=26TAA&so=0000123&ma=ABCD234567"
    assert verification_url(BASE, "26TAA", "0000123", "ABCD234567") == url
    assert verification_url("http://127.0.0.1:8000/bien-lai/tra-cuu", "26TAA", "1", "ABCD234567").startswith(
        "http://127.0.0.1:8000/")


@pytest.mark.parametrize("base, series, number, secret", [
    ("http://dichvucong.gov.vn/x", "26TAA", "0000123", "ABCD234567"),  # plain http outside the local stack
    (BASE + "?a=1", "26TAA", "0000123", "ABCD234567"),
    (BASE, "26taa", "0000123", "ABCD234567"),
    (BASE, "26TAA", "123456789", "ABCD234567"),
    (BASE, "26TAA", "0000123", "ABCD23456O"),  # O is not in the alphabet
    (BASE, "26TAA", "0000123", "ABCD2345"),
    (BASE, "26TAA", "0000123&ma=X", "ABCD234567"),
])
def test_url_refuses_bad_parts(base, series, number, secret):
    with pytest.raises(ValueError):
        verification_url(base, series, number, secret)


def test_matrix_is_segnos_symbol_and_stable():
    url = verification_url(BASE, "26TAA", "0000123", "ABCD234567")
    matrix = qr_matrix(url)
    reference = segno.make_qr(url, error="M", boost_error=False)
    assert len(matrix) == reference.symbol_size(border=0)[0] and all(len(row) == len(matrix) for row in matrix)
    assert matrix == tuple(tuple(bool(m) for m in row) for row in reference.matrix_iter(border=0))
    assert qr_matrix(url) == matrix
    assert matrix[0][:7] == (True,) * 7  # a finder pattern in the corner


def test_runs_cover_exactly_the_dark_modules():
    matrix = qr_matrix("https://dichvucong.gov.vn/?kh=26TAA&so=1&ma=ABCD234567")
    covered = {(row, col + i) for row, col, length in dark_runs(matrix) for i in range(length)}
    dark = {(r, c) for r, row in enumerate(matrix) for c, module in enumerate(row) if module}
    assert covered == dark


def _page_with_qr(data: str, size_mm: float = 25.0) -> tuple[bytes, float]:
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_compression(False)
    pdf.add_page()
    module = draw_qr(pdf, 20, 20, size_mm, data)
    return bytes(pdf.output()), module


def test_drawn_as_vector_rectangles_without_any_image():
    data = verification_url(BASE, "26TAA", "0000123", "ABCD234567")
    pdf, module = _page_with_qr(data)
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert "/XObject" not in page["/Resources"]  # no raster image
    rectangles = re.findall(rb" re f", page.get_contents().get_data())
    assert len(rectangles) == len(dark_runs(qr_matrix(data))) + 1  # + the white quiet-zone background
    assert module == pytest.approx(25.0 / (len(qr_matrix(data)) + 2 * QUIET_ZONE_MODULES))
    assert module >= 0.4  # printable and scannable at this size


@pytest.mark.skipif(shutil.which("zbarimg") is None or shutil.which("pdftoppm") is None,
                    reason="zbar-tools / poppler-utils not installed")
def test_a_scanner_reads_the_url_back_from_the_rendered_pdf(tmp_path):
    data = verification_url(BASE, "26TAA", "0000123", new_verification_secret())
    pdf, _ = _page_with_qr(data, size_mm=22.0)
    (tmp_path / "qr.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(tmp_path / "qr.pdf"), str(tmp_path / "qr")],
                   check=True, timeout=60)
    out = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "qr.png")], check=False, capture_output=True,
                         timeout=60)
    assert out.stdout.decode().strip() == data
