"""The vendored DejaVu fonts every generated document embeds (the Lambda runtime has no system fonts).

fpdf2 parses and re-subsets the whole font on every document, which for the full DejaVu (about 6,000 glyphs, two
styles) costs ~200 ms per document. So once per process (~0.15 s) the vendored fonts are cut down to the Vietnamese
repertoire (~330 characters) in a private temporary directory and reused; a document then renders in ~40 ms. Text
with a character outside that repertoire falls back to the full fonts rather than printing a blank box.
fontTools is imported lazily: only the document paths need it.
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import warnings
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parents[1] / "assets" / "fonts"


_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}  # fpdf2 style -> file


FAMILY = "DejaVuSans"


# The Vietnamese alphabet and what a receipt prints around it. Every glyph kept costs parsing time
# on each document, so anything rarer (other Latin letters, Cyrillic...) takes the full-font path.
_FAST_REPERTOIRE = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1: à á â ã è é ê ì í ò ó ô õ ù ú ý, « » ×
    (0x0102, 0x0103),  # Ă ă
    (0x0110, 0x0111),  # Đ đ
    (0x0128, 0x0129),  # Ĩ ĩ
    (0x0168, 0x0169),  # Ũ ũ
    (0x01A0, 0x01A1),  # Ơ ơ
    (0x01AF, 0x01B0),  # Ư ư
    (0x0300, 0x0301),  # combining tone marks left over after NFC: grave, acute,
    (0x0303, 0x0303),  # tilde,
    (0x0309, 0x0309),  # hook above,
    (0x0323, 0x0323),  # dot below
    (0x1EA0, 0x1EF9),  # Ạ ... ỹ
    (0x2010, 0x2027),  # dashes, quotes, bullet, ellipsis
    (0x2030, 0x2030),  # per mille
    (0x2039, 0x203A),  # angle quotes
    (0x20AB, 0x20AC),  # ₫ €
    (0x2116, 0x2116),  # №
)


_fast_fonts_lock = threading.Lock()


_fast_fonts: dict[str, Path] | None = None


def font_files(text: str) -> dict[str, Path]:
    if all(_in_fast_repertoire(ord(c)) for c in set(text)):
        return _fast_font_files()
    return {style: FONT_DIR / name for style, name in _FONT_FILES.items()}


def _in_fast_repertoire(codepoint: int) -> bool:
    return any(lo <= codepoint <= hi for lo, hi in _FAST_REPERTOIRE)


def _fast_font_files() -> dict[str, Path]:
    global _fast_fonts
    with _fast_fonts_lock:
        if _fast_fonts is None or not all(p.is_file() for p in _fast_fonts.values()):
            out_dir = Path(tempfile.mkdtemp(prefix="receipt-fonts-"))
            atexit.register(shutil.rmtree, out_dir, ignore_errors=True)
            _fast_fonts = _subset_fonts(out_dir)
        return _fast_fonts


def _subset_fonts(out_dir: Path) -> dict[str, Path]:
    """Write the vendored fonts, cut to the Vietnamese repertoire, into out_dir (private, 0700)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    unicodes = [cp for lo, hi in _FAST_REPERTOIRE for cp in range(lo, hi + 1)]
    options = subset.Options()
    options.layout_features = []  # fpdf2 shapes no text here: GSUB/GPOS would be dead weight
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern", "FFTM"]
    options.hinting = False
    options.notdef_outline = True
    options.glyph_names = False
    options.name_IDs = ["*"]  # keep the copyright and licence records
    options.name_languages = ["*"]
    options.recalc_timestamp = False  # keeps output byte-identical between processes
    paths = {}
    for style, name in _FONT_FILES.items():
        font = TTFont(FONT_DIR / name, recalcTimestamp=False, lazy=True)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=unicodes)
        subsetter.subset(font)
        paths[style] = out_dir / name
        font.save(paths[style])
    return paths


def fpdf_class():
    """fpdf2's FPDF, imported without its "Pillow could not be imported" warning: the Lambda zip leaves Pillow out
    on purpose (no document embeds an image; infra/bundle.py), so the warning would only be noise in every cold
    start's logs."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Pillow could not be imported", category=UserWarning)
        from fpdf import FPDF
    return FPDF
