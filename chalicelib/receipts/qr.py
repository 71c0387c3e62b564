"""The verification QR code printed on a receipt: its URL, its secret, and drawing it into an fpdf2 PDF as vectors.

The URL carries the receipt's series and number and a short verification secret (so a receipt's data cannot be
looked up by guessing numbers). The secret is 10 characters from an alphabet without look-alikes (no 0/O, 1/I/L),
so it can also be typed from paper: 31^10 ≈ 2^49.5 possibilities, with the lookup endpoint rate-limited.

The QR code is drawn as filled rectangles (one per horizontal run of dark modules), so the receipt PDF holds no
raster image and stays sharp at any print size. segno (BSD licence, pure Python) makes the matrix; it is imported on
first use.
"""
from __future__ import annotations

import re
import secrets
from functools import cache
from typing import Any
from urllib.parse import urlencode, urlsplit

SECRET_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
SECRET_LENGTH = 10
ERROR_CORRECTION = "M"  # survives ~15 % damage (a fold, a stamp) at a moderate size
QUIET_ZONE_MODULES = 4  # the white margin the QR standard requires around the symbol
_SERIES = re.compile(r"[0-9A-Z]{5}", re.ASCII)
_NUMBER = re.compile(r"\d{1,8}", re.ASCII)
_SECRET = re.compile(f"[{SECRET_ALPHABET}]{{{SECRET_LENGTH}}}")


def new_verification_secret() -> str:
    """A fresh secret for one receipt, from the ``secrets`` module (never ``random``)."""
    return "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))


def verification_url(base: str, series: str, number: str, secret: str) -> str:
    """``base?kh=<series>&so=<number>&ma=<secret>`` (ký hiệu, số, mã tra cứu); same inputs, same URL."""
    parts = urlsplit(base)
    local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")  # the embedded stack
    if not (parts.scheme == "https" or local) or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("base must be an https URL without query or fragment")
    if not _SERIES.fullmatch(series) or not _NUMBER.fullmatch(number) or not _SECRET.fullmatch(secret):
        raise ValueError("series, number or secret does not have the required format")
    return f"{base}?{urlencode({'kh': series, 'so': number, 'ma': secret})}"


def qr_matrix(data: str) -> tuple[tuple[bool, ...], ...]:
    """The QR symbol's modules, row by row (True = dark), without the quiet zone."""
    segno = _segno()
    # boost_error=False and a fixed level: the symbol depends on the data alone.
    code = segno.make_qr(data, error=ERROR_CORRECTION, boost_error=False)
    return tuple(tuple(bool(module) for module in row) for row in code.matrix_iter(border=0))


def dark_runs(matrix: tuple[tuple[bool, ...], ...]) -> list[tuple[int, int, int]]:
    """(row, first column, length) of each horizontal run of dark modules: one rectangle each."""
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            runs.append((y, start, x - start))
    return runs


def draw_qr(pdf: Any, x: float, y: float, size_mm: float, data: str) -> float:
    """Draw the QR code of ``data`` on the current page of an fpdf2 FPDF (unit mm) in the square at (x, y) of side
    ``size_mm``, quiet zone included (painted white). Returns the module size in mm (keep it ≥ 0.4 mm to print and
    scan reliably)."""
    matrix = qr_matrix(data)
    module = size_mm / (len(matrix) + 2 * QUIET_ZONE_MODULES)
    origin_x = x + QUIET_ZONE_MODULES * module
    origin_y = y + QUIET_ZONE_MODULES * module
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, size_mm, size_mm, style="F")
    pdf.set_fill_color(0, 0, 0)
    for row, column, length in dark_runs(matrix):
        pdf.rect(origin_x + column * module, origin_y + row * module, length * module, module, style="F")
    return module


@cache
def _segno() -> Any:
    import segno

    return segno
