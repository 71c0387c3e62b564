"""Checks on the files attached to a support request (File đính kèm): allowed types, detected by content, and sizes.

The form allows only jpg, png, pdf, doc, docx, xls, xlsx, txt, mp3 and mp4. A name says nothing about a file, so
the type is read from the bytes (signatures; inside a zip, the word/ or xl/ parts of an Office Open XML package;
inside an OLE2 compound file, the WordDocument or Workbook stream) and a file whose content does not match its
extension is refused: an executable renamed ``.pdf`` never reaches the government office's staff.

``head`` is the file's first bytes. Pass the whole file when you have it (attachments are capped, so this is cheap):
containers are then checked structurally (``zipfile`` central directory, ``olefile`` directory tree). With only a
prefix (at least ``SNIFF_BYTES``), zip local headers and OLE2 directory entries found in it are used instead.
"""
from __future__ import annotations

import codecs
import io
import struct
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from chalicelib.core.validation import InvalidValueError

SNIFF_BYTES = 256 * 1024
MIB = 1024 * 1024


class Kind(str, Enum):
    JPG = "jpg"
    PNG = "png"
    PDF = "pdf"
    DOC = "doc"
    DOCX = "docx"
    XLS = "xls"
    XLSX = "xlsx"
    TXT = "txt"
    MP3 = "mp3"
    MP4 = "mp4"


EXTENSIONS: dict[str, Kind] = {**{k.value: k for k in Kind}, "jpeg": Kind.JPG}
MEDIA_TYPES: dict[Kind, str] = {
    Kind.JPG: "image/jpeg", Kind.PNG: "image/png", Kind.PDF: "application/pdf", Kind.DOC: "application/msword",
    Kind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    Kind.XLS: "application/vnd.ms-excel",
    Kind.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Kind.TXT: "text/plain; charset=utf-8", Kind.MP3: "audio/mpeg", Kind.MP4: "video/mp4",
}
_ALLOWED_TEXT = "jpg, png, pdf, doc, docx, xls, xlsx, txt, mp3, mp4"


@dataclass(frozen=True)
class AttachmentLimits:
    """Caps from configuration. Macros are refused by default: staff open these files on office machines."""

    max_file_bytes: int = 10 * MIB
    max_total_bytes: int = 25 * MIB
    max_files: int = 10
    allow_macros: bool = False


class InvalidAttachmentError(InvalidValueError):
    """An attachment refused; ``index`` is its position in the request when checked as part of one."""

    def __init__(self, code: str, message: str, index: int | None = None) -> None:
        super().__init__(code, message)
        self.index = index


@dataclass(frozen=True)
class _Sniffed:
    kind: Kind | None
    macros: bool = False
    encrypted: bool = False


# --- public ------------------------------------------------------------------------------------------------------


def detect_kind(head: bytes, total_size: int) -> Kind | None:
    """The allowed type the content is, or None if it is none of them (``head`` = first bytes, or all of them)."""
    return _sniff(head, total_size).kind


def check_attachment(name: str, head: bytes, size: int, limits: AttachmentLimits) -> Kind:
    """Check one attachment: a valid name with an allowed extension, within the size cap, content matching the name.

    Raises InvalidAttachmentError (an InvalidValueError) with a stable code and a Vietnamese message.
    """
    if len(head) > size:
        raise ValueError("head is longer than the declared size")
    declared = _declared_kind(name)
    if size <= 0:
        raise InvalidAttachmentError("ATTACHMENT_EMPTY", "Tệp đính kèm rỗng.")
    if size > limits.max_file_bytes:
        raise InvalidAttachmentError("ATTACHMENT_TOO_LARGE",
                                     f"Mỗi tệp đính kèm tối đa {_megabytes(limits.max_file_bytes)}.")
    sniffed = _sniff(head, size)
    if sniffed.encrypted:
        raise InvalidAttachmentError("ATTACHMENT_ENCRYPTED", "Tệp được đặt mật khẩu; vui lòng gửi tệp không có "
                                     "mật khẩu để cán bộ xử lý mở được.")
    if sniffed.kind is None:
        raise InvalidAttachmentError("ATTACHMENT_CONTENT_UNKNOWN", f"Nội dung tệp không phải tệp .{declared.value} "
                                     f"hợp lệ (chỉ chấp nhận {_ALLOWED_TEXT}).")
    if sniffed.kind is not declared:
        raise InvalidAttachmentError("ATTACHMENT_CONTENT_MISMATCH", f"Tệp có đuôi .{declared.value} nhưng nội dung "
                                     f"là tệp .{sniffed.kind.value}; vui lòng đặt đúng đuôi tệp.")
    if sniffed.macros and not limits.allow_macros:
        raise InvalidAttachmentError("ATTACHMENT_MACROS", "Tệp chứa macro; vui lòng gửi tệp không có macro.")
    return declared


def check_request_attachments(files: Sequence[tuple[str, bytes, int]], limits: AttachmentLimits) -> list[Kind]:
    """Check every (name, head, size) of one request, then the count and total size caps."""
    if len(files) > limits.max_files:
        raise InvalidAttachmentError("ATTACHMENTS_TOO_MANY", f"Tối đa {limits.max_files} tệp đính kèm mỗi yêu cầu.")
    kinds = []
    for index, (name, head, size) in enumerate(files):
        try:
            kinds.append(check_attachment(name, head, size, limits))
        except InvalidAttachmentError as exc:
            raise InvalidAttachmentError(exc.code, f"Tệp đính kèm thứ {index + 1}: {exc.message}", index) from None
    if sum(size for _, _, size in files) > limits.max_total_bytes:
        raise InvalidAttachmentError("ATTACHMENTS_TOTAL_TOO_LARGE", "Tổng dung lượng tệp đính kèm tối đa "
                                     f"{_megabytes(limits.max_total_bytes)}.")
    return kinds


# --- names and sizes -----------------------------------------------------------------------------------------------


def attachment_name_pattern() -> str:
    """The JSON Schema pattern of a name ``declared_kind`` accepts: no path, no control character, a non-blank stem
    and an allowed extension (any case, from EXTENSIONS)."""
    ext = "|".join("".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in e) for e in sorted(EXTENSIONS))
    return rf"^[^/\\\x00-\x1f\x7f]*[^/\\\x00-\x20\x7f.][^/\\\x00-\x1f\x7f]*\.(?:{ext})$"


def declared_kind(name: object) -> Kind:
    """The allowed type a file name declares (its extension); InvalidAttachmentError for any other name."""
    return _declared_kind(name)



def _declared_kind(name: object) -> Kind:
    if (not isinstance(name, str) or not name.strip() or len(name) > 255 or "/" in name or "\\" in name
            or any(ord(c) < 32 or ord(c) == 127 for c in name)):
        raise InvalidAttachmentError("ATTACHMENT_NAME_INVALID", "Tên tệp đính kèm không hợp lệ (tối đa 255 ký tự, "
                                     "không chứa đường dẫn hay ký tự điều khiển).")
    stem, dot, extension = name.strip().rpartition(".")
    kind = EXTENSIONS.get(extension.lower()) if dot and stem else None
    if kind is None:
        raise InvalidAttachmentError("ATTACHMENT_TYPE_NOT_ALLOWED", f"Chỉ chấp nhận tệp {_ALLOWED_TEXT}.")
    return kind


def _megabytes(n: int) -> str:
    value = n / MIB
    return f"{value:.0f} MB" if value == int(value) else f"{value:.1f} MB".replace(".", ",")


# --- content ---------------------------------------------------------------------------------------------------


def _sniff(head: bytes, total_size: int) -> _Sniffed:
    head = bytes(head[:total_size]) if total_size >= 0 else b""
    complete = len(head) >= total_size
    if head.startswith(b"PK\x03\x04"):
        return _sniff_ooxml(head, complete)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _sniff_ole(head, complete)
    for kind, matches in _SIGNATURES:
        if matches(head, total_size):
            return _Sniffed(kind)
    return _Sniffed(Kind.TXT if _is_text(head, complete) else None)


def _is_jpeg(head: bytes, _size: int) -> bool:
    return head.startswith(b"\xff\xd8\xff")


def _is_png(head: bytes, _size: int) -> bool:
    return head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR"


def _is_pdf(head: bytes, _size: int) -> bool:
    return head.startswith(b"%PDF-") and head[5:6].isdigit()


# MP4 brands (ISO/IEC 14496-12 and -14, 3GPP, Apple M4V/M4A); HEIF/AVIF images share the ftyp box and are refused.
_MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso8", b"iso9", b"mp41", b"mp42", b"mp71",
               b"avc1", b"dash", b"M4V ", b"M4VH", b"M4VP", b"M4A ", b"f4v ", b"MSNV", b"mmp4", b"3gp4", b"3gp5",
               b"3gp6", b"3g2a"}
_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}


def _is_mp4(head: bytes, _size: int) -> bool:
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    box_size = struct.unpack(">I", head[:4])[0]
    if box_size < 16 or box_size % 4:
        return False
    major = head[8:12]
    brands = {major, *(head[i:i + 4] for i in range(16, min(box_size, len(head)) - 3, 4))}
    return major not in _IMAGE_BRANDS and bool(brands & _MP4_BRANDS)


# MPEG audio Layer III: kbit/s per bitrate index and Hz per sample-rate index, for MPEG-1 and for MPEG-2/2.5.
_MP3_BITRATES = {1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
                 2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)}
_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # by version bits


def _mp3_frame_length(header: bytes) -> int | None:
    """The length of the Layer III frame starting with ``header`` (4 bytes), or None if it is not one."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer = (header[1] >> 3) & 3, (header[1] >> 1) & 3
    bitrate_index, rate_index, padding = header[2] >> 4, (header[2] >> 2) & 3, (header[2] >> 1) & 1
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    bitrate = _MP3_BITRATES[1 if version == 3 else 2][bitrate_index] * 1000
    rate = _MP3_RATES[version][rate_index]
    return (144 if version == 3 else 72) * bitrate // rate + padding


def _is_mp3(head: bytes, size: int) -> bool:
    if head.startswith(b"ID3"):  # ID3v2 tag: version 2-4, flags, then a 28-bit "syncsafe" size
        return len(head) >= 10 and head[3] in (2, 3, 4) and head[4] != 0xFF and all(b < 0x80 for b in head[6:10])
    length = _mp3_frame_length(head[:4])
    if length is None or length > size:
        return False
    # One header-shaped word is weak evidence: where the next frame is in view, it must be a frame too.
    return length == size or len(head) < length + 4 or _mp3_frame_length(head[length:length + 4]) is not None


_SIGNATURES = ((Kind.JPG, _is_jpeg), (Kind.PNG, _is_png), (Kind.PDF, _is_pdf), (Kind.MP4, _is_mp4),
               (Kind.MP3, _is_mp3))


def _is_text(head: bytes, complete: bool) -> bool:
    """UTF-8 (BOM optional) or UTF-16 with a BOM, without NUL or other control characters than tab/newlines."""
    if not head:
        return False
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = "utf-16"
        if not complete:
            head = head[: len(head) - len(head) % 2]
    else:
        codec = "utf-8-sig"
    try:
        # A prefix may end inside a multi-byte character: only the complete file must end on a boundary.
        text = codecs.getincrementaldecoder(codec)().decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    return not any(ord(c) < 32 and c not in "\t\n\r\f" for c in text)


# --- containers ----------------------------------------------------------------------------------------------------


def _zip_names(head: bytes, complete: bool) -> list[str] | None:
    if complete:
        try:
            with zipfile.ZipFile(io.BytesIO(head)) as archive:
                return archive.namelist()  # the central directory only: nothing is decompressed
        except (zipfile.BadZipFile, ValueError, EOFError):
            return None
    names, at = [], head.find(b"PK\x03\x04")
    while at != -1 and at + 30 <= len(head):  # local file headers: the name sits 30 bytes after the signature
        name_length = struct.unpack("<H", head[at + 26:at + 28])[0]
        names.append(head[at + 30:at + 30 + name_length].decode("utf-8", "replace"))
        at = head.find(b"PK\x03\x04", at + 30)
    return names


def _sniff_ooxml(head: bytes, complete: bool) -> _Sniffed:
    names = _zip_names(head, complete)
    if not names or "[Content_Types].xml" not in names:
        return _Sniffed(None)
    word = any(n.startswith("word/") for n in names)
    excel = any(n.startswith("xl/") for n in names)
    if word == excel:  # neither, or both: not a document we know how to call
        return _Sniffed(None)
    macros = any(n.lower().endswith("vbaproject.bin") for n in names)
    return _Sniffed(Kind.DOCX if word else Kind.XLSX, macros=macros)


def _ole_root_names(head: bytes, complete: bool) -> set[str] | None:
    if complete:
        import olefile  # lazily: only an OLE2 upload needs it

        try:
            with olefile.OleFileIO(io.BytesIO(head)) as ole:
                return {entry.name.lower() for entry in ole.root.kids}
        except Exception:  # noqa: BLE001 - any parse failure of untrusted bytes: an unknown file, refused
            return None
    return _ole_names_in_prefix(head)


def _ole_names_in_prefix(head: bytes) -> set[str]:
    """Root-level names of an OLE2 file seen through a prefix, assuming its directory is stored contiguously.

    Entry i of the directory is then 128 * i bytes after the first directory sector; the root's children form a
    binary tree (left and right sibling ids) that is walked as far as the prefix shows it.
    """
    if len(head) < 512:
        return set()
    sector = 1 << min(struct.unpack("<H", head[30:32])[0], 16)
    first = (struct.unpack("<I", head[48:52])[0] + 1) * sector

    def entry(sid: int) -> bytes | None:
        at = first + 128 * sid
        return head[at:at + 128] if sid < 0xFFFFFFFA and at + 128 <= len(head) else None

    root = entry(0)
    pending = [struct.unpack("<I", root[76:80])[0]] if root else []
    names: set[str] = set()
    seen: set[int] = set()
    while pending and len(seen) < 4096:  # the bound stops a crafted loop of sibling ids
        sid = pending.pop()
        record = entry(sid)
        if sid in seen or record is None:
            continue
        seen.add(sid)
        length = struct.unpack("<H", record[64:66])[0]
        if 2 <= length <= 64 and length % 2 == 0:
            names.add(record[:length - 2].decode("utf-16-le", "replace").lower())
        pending += list(struct.unpack("<II", record[68:76]))
    return names


def _sniff_ole(head: bytes, complete: bool) -> _Sniffed:
    names = _ole_root_names(head, complete)
    if names is None:
        return _Sniffed(None)
    if "encryptedpackage" in names:  # a password-protected docx/xlsx is an OLE2 wrapper around the package
        return _Sniffed(None, encrypted=True)
    macros = bool(names & {"macros", "_vba_project_cur", "_vba_project"})
    if "worddocument" in names:
        return _Sniffed(Kind.DOC, macros=macros)
    if names & {"workbook", "book"}:
        return _Sniffed(Kind.XLS, macros=macros)
    return _Sniffed(None)
