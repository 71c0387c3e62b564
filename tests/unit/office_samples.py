"""Real minimal Office files built in the test: OLE2 compound files (.doc/.xls) and OOXML packages (.docx/.xlsx).

No library writes a new OLE2 file, so ``compound_file`` lays one out by the [MS-CFB] rules (version 3, 512-byte
sectors, one FAT sector, every stream padded to the 4,096-byte mini-stream cutoff so no mini stream is needed);
the tests read each result back with olefile to prove it is a well-formed compound file.
"""
from __future__ import annotations

import io
import struct
import zipfile
from itertools import pairwise
from typing import Union

Tree = dict[str, Union[bytes, "Tree"]]

SECTOR = 512
FREE, END, FAT_SECTOR, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
MINI_CUTOFF = 4096


def _sort_key(name: str) -> tuple[int, str]:
    return len(name), name.upper()  # [MS-CFB] 2.6.4: shorter names first, then case-insensitive order


def _flatten(tree: Tree) -> list[dict]:
    """Directory entries: root first, then each storage's children chained as right siblings, in CFB order."""
    entries: list[dict] = [{"name": "Root Entry", "type": 5, "data": b"", "child": NO_STREAM, "right": NO_STREAM}]

    def add(parent: int, children: Tree) -> None:
        ids = []
        for name in sorted(children, key=_sort_key):
            value = children[name]
            entries.append({"name": name, "type": 2 if isinstance(value, bytes) else 1,
                            "data": value if isinstance(value, bytes) else b"", "child": NO_STREAM,
                            "right": NO_STREAM})
            ids.append(len(entries) - 1)
            if not isinstance(value, bytes):
                add(ids[-1], value)
        for left, right in pairwise(ids):
            entries[left]["right"] = right
        if ids:
            entries[parent]["child"] = ids[0]

    add(0, tree)
    return entries


def _entry(entry: dict, start: int, size: int) -> bytes:
    name = entry["name"].encode("utf-16-le") + b"\0\0"
    return (name.ljust(64, b"\0") + struct.pack("<HBB", len(name), entry["type"], 1)
            + struct.pack("<III", NO_STREAM, entry["right"], entry["child"]) + b"\0" * 16 + b"\0" * 4
            + b"\0" * 16 + struct.pack("<IQ", start, size))


def compound_file(tree: Tree) -> bytes:
    entries = _flatten(tree)
    dir_sectors = -(-len(entries) // 4)
    next_sector = 1 + dir_sectors  # sector 0 is the FAT
    fat = [FAT_SECTOR] + [i + 2 for i in range(dir_sectors - 1)] + [END]
    records, blobs = [], []
    for entry in entries:
        data = entry["data"]
        if entry["type"] != 2:
            records.append(_entry(entry, END if entry["type"] == 5 else 0, 0))
            continue
        data = data.ljust(max(MINI_CUTOFF, -(-len(data) // SECTOR) * SECTOR), b"\0")
        count = len(data) // SECTOR
        fat += [next_sector + i + 1 for i in range(count - 1)] + [END]
        records.append(_entry(entry, next_sector, len(data)))
        blobs.append(data)
        next_sector += count
    assert len(fat) <= SECTOR // 4, "sample too large for one FAT sector"
    unused = b"\0" * 68 + struct.pack("<III", NO_STREAM, NO_STREAM, NO_STREAM) + b"\0" * 48
    records += [unused] * (dir_sectors * 4 - len(records))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + b"\0" * 6 + struct.pack("<IIIIIIIII", 0, 1, 1, 0, MINI_CUTOFF, END, 0, END, 0)
              + struct.pack("<I", 0) + struct.pack("<I", FREE) * 108)
    fat_sector = b"".join(struct.pack("<I", v) for v in fat).ljust(SECTOR, b"\xff")
    return header + fat_sector + b"".join(records) + b"".join(blobs)


def word_97(macros: bool = False) -> bytes:
    tree: Tree = {"WordDocument": b"\xec\xa5" + b"\0" * 1000, "1Table": b"\0" * 600,
                  "\x05SummaryInformation": b"\xfe\xff" + b"\0" * 100}
    if macros:
        tree["Macros"] = {"PROJECT": b'ID="{00000000}"', "VBA": {"dir": b"\x01"}}
    return compound_file(tree)


def excel_97(macros: bool = False) -> bytes:
    tree: Tree = {"Workbook": b"\x09\x08\x10\x00\x00\x06\x05\x00" + b"\0" * 1000}
    if macros:
        tree["_VBA_PROJECT_CUR"] = {"PROJECT": b'ID="{00000000}"'}
    return compound_file(tree)


def word_with_embedded_workbook() -> bytes:
    return compound_file({"WordDocument": b"\xec\xa5" + b"\0" * 100,
                          "ObjectPool": {"_1234": {"Workbook": b"\x09\x08" + b"\0" * 100}}})


def encrypted_ooxml() -> bytes:
    return compound_file({"EncryptionInfo": b"\x04\x00\x04\x00", "EncryptedPackage": b"\0" * 64})


_CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                  '2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>')


def ooxml(kind: str, macros: bool = False, padding: int = 0) -> bytes:
    """A minimal .docx (kind "word") or .xlsx (kind "xl") package; ``padding`` adds a large stored part at the end."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        def put(name: str, data: str | bytes, compress_type: int = zipfile.ZIP_DEFLATED) -> None:
            # A fixed timestamp: the same sample on every run (pytest-xdist workers must collect identical ids).
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data, compress_type=compress_type)

        put("[Content_Types].xml", _CONTENT_TYPES)
        put("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        if kind == "word":
            put("word/document.xml", "<w:document><w:body><w:p><w:r><w:t>Đề nghị cấu hình URL API"
                             "</w:t></w:r></w:p></w:body></w:document>")
        else:
            put("xl/workbook.xml", "<workbook><sheets><sheet name='Sheet1'/></sheets></workbook>")
            put("xl/worksheets/sheet1.xml", "<worksheet><sheetData/></worksheet>")
        if macros:
            put(f"{kind}/vbaProject.bin", b"\xcc\x61" + b"\0" * 50)
        if padding:
            put(f"{kind}/media/image1.png", b"\0" * padding, compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()
