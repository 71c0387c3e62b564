"""The e-receipt (biên lai điện tử) as an XML document: build it from a receipt mapping, and parse it back.

Content follows Decree 254/2026 art. 23.2 (DOMAIN.md "Receipts"). Element names are Vietnamese abbreviations in the
style of the tax authority's e-invoice formats (HDon/DLHDon/TTChung...); no namespace, UTF-8, no indentation:

    BLai                         biên lai (root)
      DLBLai Id="data"           dữ liệu biên lai: the part the collecting organisation signs
        TTChung                  thông tin chung
          PBan                   phiên bản định dạng (format version)
          TBLai                  tên biên lai
          KHMSBLai               ký hiệu mẫu số biên lai (form symbol, e.g. EBL01)
          KHBLai                 ký hiệu biên lai (series, e.g. 26TAA)
          SBLai                  số biên lai (up to 8 digits)
          MBLai?                 mã biên lai (the system's receipt id)
          NLap                   ngày lập, GMT+7 without offset (2026-11-30T10:01:02)
          DVTTe                  đơn vị tiền tệ (VND)
          TTBLLQuan?             thông tin biên lai liên quan (this receipt replaces/adjusts an earlier one)
            TCBLai               tính chất: 1 = thay thế (replacement), 2 = điều chỉnh (adjustment), 3 = hủy
                                 (cancellation; unverified code: the circular names the case, not its code)
            KHMSBLCLQuan, KHBLCLQuan, SBLCLQuan, NLBLCLQuan, GChu?   its form, series, number, date; note
        NDBLai                   nội dung biên lai
          TCThu                  tổ chức thu: Ten, MST, MDVi? (unit code)
          NNop                   người nộp: Ten, MST?, DChi?
          TTTToan                thông tin thanh toán: MHSo? (mã hồ sơ), STBao (số thông báo), STChieu? (số tham
                                 chiếu), MDDanh? (mã định danh khoản phải nộp), MNHang?, TNHang (ngân hàng),
                                 MGDich (mã giao dịch ngân hàng), TGTToan (thời gian thanh toán)
          DSKhoan/Khoan+         each fee/tax: STT, MTMuc (tiểu mục), ND (nội dung), STien (số tiền)
          TToan                  tổng: TgTTBSo (bằng số), TgTTBChu (bằng chữ)
      DSCKS/TCThu                danh sách chữ ký số: the collecting organisation's ds:Signature goes here

The mapping of receipt keys to elements lives in ``FIELDS`` (and ``RELATED_FIELDS``/``ITEM_FIELDS``) and nowhere
else: the builder and the parser both walk it. Output is canonical: the same receipt gives the same bytes, and the
parser refuses any document that is not exactly what the builder makes of the values it read.
lxml is imported on first use, so importing this module costs nothing on other paths.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any, NamedTuple

from chalicelib.core.taxcode import validate_tax_code
from chalicelib.core.validation import InvalidValueError
from chalicelib.core.words import MAX_AMOUNT, amount_in_words

GMT7 = timezone(timedelta(hours=7))
FORMAT_VERSION = "1.0.0"
DATA_ID = "data"
DEFAULT_RECEIPT_NAME = "Biên lai thu thuế, phí, lệ phí"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'
MAX_DOCUMENT_BYTES = 1_000_000
# Circular 91/2026: form symbol 5 characters (EBL01/EBL02); series = 2-digit year + "T" + 2 letters of the
# 20-letter Vietnamese alphabet (no F, I, J, O, W, Z).
_FORM_SYMBOL = re.compile(r"[A-Z0-9]{5}", re.ASCII)
_SERIES = re.compile(r"(\d{2})T[ABCDEGHKLMNPQRSTUVXY]{2}", re.ASCII)
_NUMBER = re.compile(r"\d{1,8}", re.ASCII)
_LOCAL_TIME = "%Y-%m-%dT%H:%M:%S"
RELATIONS = {"replacement": "1", "adjustment": "2", "cancellation": "3"}


class ReceiptXmlError(ValueError):
    """The receipt cannot be written as (or was not read from) a canonical e-receipt document.

    Messages name the field, never its value (payer tax codes can be personal ID numbers)."""


class Kind(NamedTuple):
    write: Callable[[Any, str], str]  # receipt value -> element text (raises ReceiptXmlError)
    read: Callable[[str], Any]  # element text -> receipt value


class Field(NamedTuple):
    key: str  # key in the receipt mapping
    path: str  # element path below DLBLai (or below the group element)
    kind: Kind | str  # a Kind, or "related" / "items" / "words" / "constant" for the special entries
    required: bool = True


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise ReceiptXmlError(f"{field} must be text")
    # NFC so a letter is one code point in the signed bytes whichever keyboard typed it; control and invisible
    # format characters could make the document read differently from what is printed.
    value = unicodedata.normalize("NFC", value)
    value = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in value)
    value = " ".join("".join(c for c in value if unicodedata.category(c) != "Cf").split())
    if not value:
        raise ReceiptXmlError(f"{field} must not be empty")
    return value


def _pattern(regex: re.Pattern) -> Kind:
    def write(value: Any, field: str) -> str:
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if not isinstance(text, str) or not regex.fullmatch(text):
            raise ReceiptXmlError(f"{field} does not have the required format")
        return text

    return Kind(write, str)


def _number(value: Any, field: str) -> str:
    text = _pattern(_NUMBER).write(value, field)
    if int(text) == 0:
        raise ReceiptXmlError(f"{field} must not be zero")
    return text


def _tax_code(allow_personal_id: bool) -> Kind:
    def write(value: Any, field: str) -> str:
        try:
            return validate_tax_code(_text(value, field), allow_personal_id=allow_personal_id)
        except InvalidValueError:
            raise ReceiptXmlError(f"{field} is not a valid tax code") from None

    return Kind(write, str)


def _time(value: Any, field: str) -> str:
    """An aware datetime or RFC 3339 text -> GMT+7 wall time without offset, to the second."""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ReceiptXmlError(f"{field} is not a timestamp") from None
    if moment.tzinfo is None:
        raise ReceiptXmlError(f"{field} has no UTC offset")
    return moment.astimezone(GMT7).strftime(_LOCAL_TIME)


def _read_time(text: str) -> str:
    return datetime.strptime(text, _LOCAL_TIME).replace(tzinfo=GMT7).isoformat()


def _amount(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_AMOUNT:
        raise ReceiptXmlError(f"{field} must be a positive whole number of đồng")
    return str(value)


def _relation(value: Any, field: str) -> str:
    if value not in RELATIONS:
        raise ReceiptXmlError(f"{field} must be one of {sorted(RELATIONS)}")
    return RELATIONS[value]


TEXT = Kind(_text, str)
TIME = Kind(_time, _read_time)
AMOUNT = Kind(_amount, int)
NUMBER = Kind(_number, str)
FORM = _pattern(_FORM_SYMBOL)
SERIES = _pattern(_SERIES)
RELATION = Kind(_relation, {code: name for name, code in RELATIONS.items()}.__getitem__)

RELATED_FIELDS = (
    Field("relation", "TCBLai", RELATION),
    Field("template_symbol", "KHMSBLCLQuan", FORM),
    Field("series", "KHBLCLQuan", SERIES),
    Field("receipt_number", "SBLCLQuan", NUMBER),
    Field("issued_at", "NLBLCLQuan", TIME),
    Field("note", "GChu", TEXT, required=False),
)
ITEM_FIELDS = (
    Field("sub_item_code", "MTMuc", TEXT),
    Field("description", "ND", TEXT),
    Field("amount_vnd", "STien", AMOUNT),
)
FIELDS = (
    Field("format_version", "TTChung/PBan", "constant"),
    Field("receipt_name", "TTChung/TBLai", TEXT),
    Field("template_symbol", "TTChung/KHMSBLai", FORM),
    Field("series", "TTChung/KHBLai", SERIES),
    Field("receipt_number", "TTChung/SBLai", NUMBER),
    Field("receipt_id", "TTChung/MBLai", TEXT, required=False),
    Field("issued_at", "TTChung/NLap", TIME),
    Field("currency", "TTChung/DVTTe", "constant"),
    Field("related_receipt", "TTChung/TTBLLQuan", "related", required=False),
    Field("collecting_unit_name", "NDBLai/TCThu/Ten", TEXT),
    Field("collecting_unit_tax_code", "NDBLai/TCThu/MST", _tax_code(allow_personal_id=False)),
    Field("collecting_unit_code", "NDBLai/TCThu/MDVi", TEXT, required=False),
    Field("payer_name", "NDBLai/NNop/Ten", TEXT),
    Field("payer_tax_code", "NDBLai/NNop/MST", _tax_code(allow_personal_id=True), required=False),
    Field("payer_address", "NDBLai/NNop/DChi", TEXT, required=False),
    Field("dossier_code", "NDBLai/TTTToan/MHSo", TEXT, required=False),  # land payments only
    Field("notice_number", "NDBLai/TTTToan/STBao", TEXT),
    Field("reference_number", "NDBLai/TTTToan/STChieu", TEXT, required=False),
    Field("tax_payment_id", "NDBLai/TTTToan/MDDanh", TEXT, required=False),
    Field("bank_code", "NDBLai/TTTToan/MNHang", TEXT, required=False),
    Field("bank_name", "NDBLai/TTTToan/TNHang", TEXT),
    Field("bank_txn_ref", "NDBLai/TTTToan/MGDich", TEXT),
    Field("paid_at", "NDBLai/TTTToan/TGTToan", TIME),
    Field("items", "NDBLai/DSKhoan", "items"),
    Field("amount_vnd", "NDBLai/TToan/TgTTBSo", AMOUNT),
    Field("amount_in_words", "NDBLai/TToan/TgTTBChu", "words"),
)
CONSTANTS = {"format_version": FORMAT_VERSION, "currency": "VND"}
DEFAULTS = {"receipt_name": DEFAULT_RECEIPT_NAME, "currency": "VND"}


# --- building ---------------------------------------------------------------------------------


def build_receipt_xml(receipt: Mapping[str, Any]) -> bytes:
    """The unsigned e-receipt document (UTF-8 bytes) for ``receipt``; raises ReceiptXmlError on any bad value."""
    etree = _etree()
    root = etree.Element("BLai")
    root.append(build_data_element(receipt))
    etree.SubElement(etree.SubElement(root, "DSCKS"), "TCThu")
    return serialise(root)


def build_data_element(receipt: Mapping[str, Any]) -> Any:
    """The DLBLai element (the signed part) for ``receipt``."""
    etree = _etree()
    values = {**DEFAULTS, **{k: v for k, v in receipt.items() if v is not None}}
    data = etree.Element("DLBLai", Id=DATA_ID)
    parents: dict[str, Any] = {"": data}
    for field in FIELDS:
        text_or_group = _field_content(field, values)
        if text_or_group is None:
            continue
        parent_path, _, tag = field.path.rpartition("/")
        element = etree.SubElement(_parent(parents, parent_path), tag)
        if isinstance(text_or_group, str):
            element.text = text_or_group
        else:
            element.extend(text_or_group)
    _check_consistency(values)
    return data


def serialise(root: Any) -> bytes:
    """Canonical bytes of a document: fixed declaration, UTF-8 characters as themselves, no added whitespace."""
    return XML_DECLARATION + _etree().tostring(root, encoding="UTF-8", xml_declaration=False)


def _parent(parents: dict[str, Any], path: str) -> Any:
    if path not in parents:
        head, _, tag = path.rpartition("/")
        parents[path] = _etree().SubElement(_parent(parents, head), tag)
    return parents[path]


def _field_content(field: Field, values: Mapping[str, Any]) -> str | list | None:
    if field.kind == "constant":
        if field.key in values and values[field.key] != CONSTANTS[field.key]:
            raise ReceiptXmlError(f"{field.key} must be {CONSTANTS[field.key]}")
        return CONSTANTS[field.key]
    if field.kind == "words":
        return amount_in_words(values["amount_vnd"]) if isinstance(values.get("amount_vnd"), int) else None
    if field.key not in values or values[field.key] == "":
        if field.required:
            raise ReceiptXmlError(f"{field.key} is required")
        return None
    value = values[field.key]
    if field.kind == "related":
        return _group(RELATED_FIELDS, value, field.key)
    if field.kind == "items":
        return _items(value)
    return field.kind.write(value, field.key)


def _group(fields: tuple[Field, ...], value: Any, where: str) -> list:
    if not isinstance(value, Mapping):
        raise ReceiptXmlError(f"{where} must be a mapping")
    etree = _etree()
    elements = []
    for field in fields:
        if value.get(field.key) in (None, ""):
            if field.required:
                raise ReceiptXmlError(f"{where}.{field.key} is required")
            continue
        element = etree.Element(field.path)
        element.text = field.kind.write(value[field.key], f"{where}.{field.key}")
        elements.append(element)
    return elements


def _items(value: Any) -> list:
    if not isinstance(value, (list, tuple)) or not value:
        raise ReceiptXmlError("items must be a non-empty list")
    etree = _etree()
    elements = []
    for number, item in enumerate(value, start=1):
        element = etree.Element("Khoan")
        position = etree.SubElement(element, "STT")
        position.text = str(number)
        element.extend(_group(ITEM_FIELDS, item, f"items[{number - 1}]"))
        elements.append(element)
    return elements


def _check_consistency(values: Mapping[str, Any]) -> None:
    """Figures that disagree must never be signed: items add up to the total, words match the figure, the series
    year is the year of issue."""
    if sum(item["amount_vnd"] for item in values["items"]) != values["amount_vnd"]:
        raise ReceiptXmlError("items do not add up to amount_vnd")
    given_words = values.get("amount_in_words")
    if given_words is not None and _text(given_words, "amount_in_words") != amount_in_words(values["amount_vnd"]):
        raise ReceiptXmlError("amount_in_words does not match amount_vnd")
    issued_year = _time(values["issued_at"], "issued_at")[2:4]
    if _SERIES.fullmatch(values["series"]).group(1) != issued_year:
        raise ReceiptXmlError("series year is not the year of issue")


# --- parsing ----------------------------------------------------------------------------------


def parse_receipt_xml(document: bytes) -> dict[str, Any]:
    """Read an e-receipt (a whole BLai document, or its DLBLai element alone) back into a receipt dict.

    Every key of ``FIELDS`` is present (None when the optional element is absent); times come back as RFC 3339
    text in GMT+7. Raises ReceiptXmlError unless the data is exactly what ``build_receipt_xml`` writes for it.
    """
    root = parse_document(document)
    data = root if root.tag == "DLBLai" else _only_child(root, "DLBLai", "BLai")
    if root.tag not in ("BLai", "DLBLai") or data.get("Id") != DATA_ID:
        raise ReceiptXmlError("not an e-receipt document")
    receipt = {field.key: _read_field(data, field) for field in FIELDS}
    try:
        rebuilt = build_data_element(receipt)
    except (ReceiptXmlError, InvalidValueError, KeyError, TypeError):
        raise ReceiptXmlError("the receipt data are not valid") from None
    if canonical_bytes(rebuilt) != canonical_bytes(data):
        raise ReceiptXmlError("the receipt data are not in canonical form")
    return receipt


def parse_document(document: bytes) -> Any:
    """Parse untrusted XML: no DTD, no entities, no network, bounded size."""
    etree = _etree()
    if not isinstance(document, bytes) or len(document) > MAX_DOCUMENT_BYTES:
        raise ReceiptXmlError("the document is not bytes of an acceptable size")
    try:
        root = etree.fromstring(document, _parser())
    except etree.XMLSyntaxError:
        raise ReceiptXmlError("the document is not well-formed XML") from None
    if root.getroottree().docinfo.doctype:
        raise ReceiptXmlError("a document type declaration is not allowed")
    return root


def canonical_bytes(element: Any) -> bytes:
    """Exclusive C14N of ``element``: how two receipts' data are compared (and what the signature digests)."""
    return _etree().tostring(element, method="c14n", exclusive=True, with_comments=False)


def _read_field(data: Any, field: Field) -> Any:
    found = data.findall(field.path)
    if len(found) > 1:
        raise ReceiptXmlError(f"{field.path} appears more than once")
    if not found:
        return None
    element = found[0]
    if field.kind == "related":
        return _read_group(element, RELATED_FIELDS)
    if field.kind == "items":
        return [_read_group(item, ITEM_FIELDS) for item in element.findall("Khoan")]
    text = element.text or ""
    if isinstance(field.kind, Kind):
        try:
            return field.kind.read(text)
        except (ValueError, KeyError):
            raise ReceiptXmlError(f"{field.path} cannot be read") from None
    return text


def _read_group(element: Any, fields: tuple[Field, ...]) -> dict[str, Any]:
    return {field.key: _read_field(element, field) for field in fields}


def _only_child(root: Any, tag: str, parent: str) -> Any:
    found = root.findall(tag)
    if root.tag != parent or len(found) != 1:
        raise ReceiptXmlError("not an e-receipt document")
    return found[0]


@cache
def _etree() -> Any:
    from lxml import etree

    return etree


def _parser() -> Any:
    etree = _etree()
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_blank_text=False)
