"""Support-request attachments: the type comes from the content, and a name that lies about it is refused.

Every sample is a real minimal file made here: images by Pillow, the PDF by fpdf2, OOXML packages by zipfile, OLE2
compound files by tests/unit/office_samples.py (read back with olefile), MP3 frames and MP4 boxes by hand.
"""
from __future__ import annotations

import codecs
import io
import struct

import olefile
import pytest
from PIL import Image

from chalicelib.core.validation import InvalidValueError
from chalicelib.onboarding.domain.attachments import (
    MIB,
    SNIFF_BYTES,
    AttachmentLimits,
    InvalidAttachmentError,
    Kind,
    check_attachment,
    check_request_attachments,
    detect_kind,
)
from tests.unit import office_samples as office

LIMITS = AttachmentLimits(max_file_bytes=2 * MIB, max_total_bytes=3 * MIB, max_files=4)


def image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def pdf() -> bytes:
    from fpdf import FPDF

    doc = FPDF()
    doc.add_page()
    doc.set_font("helvetica", size=12)
    doc.cell(text="Bien nhan")
    return bytes(doc.output())


def mp3_frames(count: int = 3) -> bytes:
    header = bytes([0xFF, 0xFB, 0x90, 0x00])  # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding: 417 bytes
    return (header + b"\0" * 413) * count


def mp4(major: bytes = b"isom", compatible: tuple[bytes, ...] = (b"isom", b"iso2", b"mp41")) -> bytes:
    ftyp = b"ftyp" + major + struct.pack(">I", 512) + b"".join(compatible)
    return struct.pack(">I", len(ftyp) + 4) + ftyp + struct.pack(">I", 8) + b"free" + struct.pack(">I", 8) + b"mdat"


def exe() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\0" * 44 + b"\x80\0\0\0" + b"PE\0\0" * 8


SAMPLES = {
    "anh-chup.jpg": (image("JPEG"), Kind.JPG),
    "man-hinh.png": (image("PNG"), Kind.PNG),
    "bien-lai.pdf": (pdf(), Kind.PDF),
    "de-nghi.docx": (office.ooxml("word"), Kind.DOCX),
    "danh-sach.xlsx": (office.ooxml("xl"), Kind.XLSX),
    "cong-van.doc": (office.word_97(), Kind.DOC),
    "bang-ke.xls": (office.excel_97(), Kind.XLS),
    "ghi-chu.txt": ("URL API thanh toán: https://dvc.tinh.gov.vn/api\r\nĐầu mối: phòng CNTT\n".encode(), Kind.TXT),
    "ghi-am.mp3": (b"ID3\x04\x00\x00\x00\x00\x00\x10" + b"\0" * 16 + mp3_frames(), Kind.MP3),
    "video.mp4": (mp4(), Kind.MP4),
}


def check(name: str, data: bytes, limits: AttachmentLimits = LIMITS) -> Kind:
    return check_attachment(name, data, len(data), limits)


def refused(name: str, data: bytes, limits: AttachmentLimits = LIMITS) -> InvalidAttachmentError:
    with pytest.raises(InvalidAttachmentError) as err:
        check(name, data, limits)
    assert isinstance(err.value, InvalidValueError) and err.value.message
    return err.value


def test_the_hand_built_compound_files_are_real_ole2_files() -> None:
    with olefile.OleFileIO(io.BytesIO(office.word_97())) as ole:
        assert ole.exists("WordDocument") and ole.openstream("WordDocument").read(2) == b"\xec\xa5"
    with olefile.OleFileIO(io.BytesIO(office.excel_97())) as ole:
        assert ole.exists("Workbook")


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_allowed_type_is_recognised_by_its_content(name: str) -> None:
    data, kind = SAMPLES[name]
    assert detect_kind(data, len(data)) is kind
    assert check(name, data) is kind


@pytest.mark.parametrize("name", ["ẢNH CHỤP.JPG", "anh.jpeg", "Ảnh.Jpeg"])
def test_extension_case_and_jpeg_spelling_do_not_matter(name: str) -> None:
    assert check(name, SAMPLES["anh-chup.jpg"][0]) is Kind.JPG


def test_a_pdf_renamed_docx_is_refused_as_a_mismatch() -> None:
    err = refused("de-nghi.docx", SAMPLES["bien-lai.pdf"][0])
    assert err.code == "ATTACHMENT_CONTENT_MISMATCH" and ".pdf" in err.message and ".docx" in err.message


def test_an_executable_renamed_pdf_is_refused() -> None:
    assert detect_kind(exe(), len(exe())) is None
    assert refused("bien-lai.pdf", exe()).code == "ATTACHMENT_CONTENT_UNKNOWN"


@pytest.mark.parametrize(("name", "sample"), [
    ("danh-sach.docx", "danh-sach.xlsx"), ("de-nghi.xlsx", "de-nghi.docx"),
    ("cong-van.xls", "cong-van.doc"), ("bang-ke.doc", "bang-ke.xls"),
    ("cong-van.docx", "cong-van.doc"), ("anh.png", "anh-chup.jpg"), ("video.mp3", "video.mp4"),
])
def test_office_and_media_look_alikes_are_told_apart(name: str, sample: str) -> None:
    assert refused(name, SAMPLES[sample][0]).code == "ATTACHMENT_CONTENT_MISMATCH"


def test_a_plain_zip_or_an_image_in_an_mp4_box_is_not_accepted() -> None:
    buffer = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("setup.exe", exe())
    assert refused("tai-lieu.docx", buffer.getvalue()).code == "ATTACHMENT_CONTENT_UNKNOWN"
    heic = mp4(b"heic", (b"mif1", b"heic"))
    assert detect_kind(heic, len(heic)) is None


def test_a_word_file_with_an_embedded_workbook_is_still_a_word_file() -> None:
    data = office.word_with_embedded_workbook()
    assert check("bao-cao.doc", data) is Kind.DOC  # only root-level streams decide


@pytest.mark.parametrize(("name", "data"), [
    ("de-nghi.docx", office.ooxml("word", macros=True)), ("bang.xlsx", office.ooxml("xl", macros=True)),
    ("cong-van.doc", office.word_97(macros=True)), ("bang-ke.xls", office.excel_97(macros=True)),
], ids=["docx", "xlsx", "doc", "xls"])
def test_files_with_macros_are_refused_unless_configured(name: str, data: bytes) -> None:
    assert refused(name, data).code == "ATTACHMENT_MACROS"
    assert check(name, data, AttachmentLimits(allow_macros=True)) is not None


def test_a_password_protected_office_file_is_refused_with_its_own_message() -> None:
    err = refused("de-nghi.docx", office.encrypted_ooxml())
    assert err.code == "ATTACHMENT_ENCRYPTED" and "mật khẩu" in err.message


def test_containers_are_recognised_from_a_prefix_of_a_large_file() -> None:
    docx = office.ooxml("word", padding=SNIFF_BYTES * 2)
    assert detect_kind(docx[:SNIFF_BYTES], len(docx)) is Kind.DOCX
    assert check_attachment("de-nghi.docx", docx[:SNIFF_BYTES], len(docx), LIMITS) is Kind.DOCX
    doc = office.word_97()
    assert detect_kind(doc[:4096], len(doc)) is Kind.DOC
    xls = office.excel_97()
    assert detect_kind(xls[:4096], len(xls)) is Kind.XLS


@pytest.mark.parametrize(("data", "kind"), [
    ("Tiếng Việt có dấu: Đề nghị cấu hình".encode(), Kind.TXT),
    (codecs.BOM_UTF8 + "Đầu mối phối hợp".encode(), Kind.TXT),
    ("Đầu mối phối hợp".encode("utf-16"), Kind.TXT),  # with a BOM
    ("Đầu mối".encode("utf-16-le"), None),  # UTF-16 without a BOM is binary-looking: refused
    ("Đơn vi\u0323".encode("cp1258"), None),  # legacy Vietnamese code page: not UTF-8
    (b"text\x00with a NUL", None),
    (b"\x01\x02\x03\x04", None),
])
def test_text_files_must_be_utf8_or_utf16_with_bom_without_control_bytes(data: bytes, kind: Kind | None) -> None:
    assert detect_kind(data, len(data)) is kind


def test_a_text_prefix_may_end_inside_a_multibyte_letter() -> None:
    data = ("Đề nghị " * 100).encode()
    cut = data.index("ề".encode()) + 1  # in the middle of a 3-byte character
    assert detect_kind(data[:cut], len(data)) is Kind.TXT
    assert detect_kind(data[:cut], cut) is None  # but a whole file may not


def test_mp3_by_frame_sync_needs_the_next_frame_to_be_a_frame_too() -> None:
    frames = mp3_frames()
    assert detect_kind(frames, len(frames)) is Kind.MP3
    fake = frames[:417] + b"\x00" * 417
    assert detect_kind(fake, len(fake)) is None
    assert detect_kind(b"\xff\xfb\x90\x00", 4) is None  # shorter than the frame it announces


@pytest.mark.parametrize(("size", "code"), [(0, "ATTACHMENT_EMPTY"), (2 * MIB + 1, "ATTACHMENT_TOO_LARGE")])
def test_empty_and_oversize_files_are_refused(size: int, code: str) -> None:
    head = SAMPLES["bien-lai.pdf"][0][:size]
    with pytest.raises(InvalidAttachmentError) as err:
        check_attachment("bien-lai.pdf", head, size, LIMITS)
    assert err.value.code == code
    if code == "ATTACHMENT_TOO_LARGE":
        assert "2 MB" in err.value.message


@pytest.mark.parametrize("name", ["", "   ", "../../etc/passwd.pdf", "C:\\x.pdf", "a\x00.pdf", "x" * 252 + ".pdf"])
def test_bad_names_are_refused(name: str) -> None:
    assert refused(name, SAMPLES["bien-lai.pdf"][0]).code == "ATTACHMENT_NAME_INVALID"


@pytest.mark.parametrize("name", ["virus.exe", "tai-lieu.zip", "pdf", ".pdf", "bien-lai.pdf.exe", "bao-cao.docm"])
def test_names_without_an_allowed_extension_are_refused(name: str) -> None:
    assert refused(name, SAMPLES["bien-lai.pdf"][0]).code == "ATTACHMENT_TYPE_NOT_ALLOWED"


def test_a_request_checks_count_total_size_and_says_which_file_is_wrong() -> None:
    files = [(n, d, len(d)) for n, (d, _) in sorted(SAMPLES.items())[:3]]
    assert check_request_attachments(files, LIMITS) == [Kind.JPG, Kind.XLS, Kind.PDF]
    with pytest.raises(InvalidAttachmentError) as err:
        check_request_attachments(files + [("a.pdf", exe(), len(exe()))], LIMITS)
    assert err.value.index == 3 and err.value.message.startswith("Tệp đính kèm thứ 4:")
    with pytest.raises(InvalidAttachmentError) as err:
        check_request_attachments(files * 2, LIMITS)
    assert err.value.code == "ATTACHMENTS_TOO_MANY"
    big = SAMPLES["bien-lai.pdf"][0]
    with pytest.raises(InvalidAttachmentError) as err:
        check_request_attachments([("a.pdf", big, 2 * MIB), ("b.pdf", big, 2 * MIB)], LIMITS)
    assert err.value.code == "ATTACHMENTS_TOTAL_TOO_LARGE" and "3 MB" in err.value.message


def test_a_head_longer_than_the_declared_size_is_a_caller_bug() -> None:
    with pytest.raises(ValueError):
        check_attachment("a.pdf", b"%PDF-1.7 xxxxxxxx", 4, LIMITS)
