"""The e-receipt XML document: legal content (Decree 254/2026 art. 23.2), canonical bytes, strict parsing."""
from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET

import pytest

from chalicelib.receipts.xml import FIELDS, ReceiptXmlError, build_receipt_xml, parse_receipt_xml
from tests.unit.receipt_fixtures import sample_receipt


def _tree(document: bytes) -> ET.Element:
    return ET.fromstring(document)  # the stdlib parser, independent of lxml


def _text(document: bytes, path: str) -> str | None:
    element = _tree(document).find(path)
    return None if element is None else element.text


def test_document_carries_the_legal_content_in_the_documented_elements():
    doc = build_receipt_xml(sample_receipt())
    assert doc.startswith(b'<?xml version="1.0" encoding="UTF-8"?><BLai><DLBLai Id="data"><TTChung><PBan>')
    d = "DLBLai/"
    assert _text(doc, d + "TTChung/TBLai") == "Biên lai thu thuế, phí, lệ phí"
    assert _text(doc, d + "TTChung/KHMSBLai") == "EBL01"
    assert _text(doc, d + "TTChung/KHBLai") == "26TAA"
    assert _text(doc, d + "TTChung/SBLai") == "0000123"
    assert _text(doc, d + "TTChung/NLap") == "2026-11-30T10:01:00"  # GMT+7, no offset
    assert _text(doc, d + "TTChung/DVTTe") == "VND"
    assert _text(doc, d + "NDBLai/TCThu/Ten") == "Thuế tỉnh Quảng Ninh"
    assert _text(doc, d + "NDBLai/TCThu/MST") == "5701234566"
    assert _text(doc, d + "NDBLai/NNop/Ten") == "Nguyễn Thị Trang"
    assert _text(doc, d + "NDBLai/NNop/MST") == "0100109106"
    assert _text(doc, d + "NDBLai/TTTToan/MHSo") == "H35.22-260315-0001"
    assert _text(doc, d + "NDBLai/TTTToan/STBao") == "TB-2026-000456"
    assert _text(doc, d + "NDBLai/TTTToan/STChieu") == "PAY01JQ8Z3K5W7X9Y2B4C6D8E0F1G"
    assert _text(doc, d + "NDBLai/TTTToan/MDDanh") == "3120260000456"
    assert _text(doc, d + "NDBLai/TTTToan/TNHang") == "Ngân hàng TMCP Ngoại thương Việt Nam"
    assert _text(doc, d + "NDBLai/TTTToan/MGDich") == "FT26074123456789"
    assert _text(doc, d + "NDBLai/TTTToan/TGTToan") == "2026-11-30T10:00:30"
    items = _tree(doc).findall(d + "NDBLai/DSKhoan/Khoan")
    assert [(i.findtext("STT"), i.findtext("MTMuc"), i.findtext("STien")) for i in items] == [
        ("1", "2801", "1000000"), ("2", "1006", "378500")]
    assert items[1].findtext("ND") == "Thuế thu nhập từ chuyển nhượng bất động sản"
    assert _text(doc, d + "NDBLai/TToan/TgTTBSo") == "1378500"
    assert _text(doc, d + "NDBLai/TToan/TgTTBChu") == "Một triệu ba trăm bảy mươi tám nghìn năm trăm đồng"
    assert _tree(doc).find("DSCKS/TCThu") is not None and len(_tree(doc).find("DSCKS/TCThu")) == 0


def test_same_receipt_same_bytes_whatever_the_key_order():
    receipt = sample_receipt()
    shuffled = dict(reversed(list(receipt.items())))
    assert build_receipt_xml(receipt) == build_receipt_xml(shuffled) == build_receipt_xml(sample_receipt())


def test_amount_in_words_is_computed_in_the_tax_authority_style():
    receipt = sample_receipt(items=[{"sub_item_code": "2801", "description": "Lệ phí", "amount_vnd": 1_001}],
                             amount_vnd=1_001)
    del receipt["amount_in_words"]
    assert _text(build_receipt_xml(receipt), "DLBLai/NDBLai/TToan/TgTTBChu") == "Một nghìn không trăm linh một đồng"


def test_round_trip_gives_back_every_field():
    receipt = sample_receipt()
    parsed = parse_receipt_xml(build_receipt_xml(receipt))
    assert set(parsed) == {f.key for f in FIELDS}
    assert parsed["issued_at"] == "2026-11-30T10:01:00+07:00"
    assert parsed["paid_at"] == receipt["paid_at"]
    assert parsed["items"] == receipt["items"]
    for key in ("receipt_number", "series", "payer_name", "payer_tax_code", "amount_vnd", "amount_in_words",
                "reference_number", "tax_payment_id", "bank_txn_ref", "collecting_unit_tax_code"):
        assert parsed[key] == receipt[key]
    assert parsed["payer_address"] is None and parsed["related_receipt"] is None
    assert build_receipt_xml(parsed) == build_receipt_xml(receipt)


def test_vietnamese_text_is_stored_nfc_and_comes_back_nfc():
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Trang")
    assert decomposed != "Nguyễn Thị Trang"
    doc = build_receipt_xml(sample_receipt(payer_name=decomposed, payer_address="Số 5, phố Tràng Tiền, Hà Nội"))
    assert "Nguyễn Thị Trang".encode() in doc  # UTF-8 characters, not character references
    assert b"&#" not in doc
    parsed = parse_receipt_xml(doc)
    assert parsed["payer_name"] == "Nguyễn Thị Trang" and unicodedata.is_normalized("NFC", parsed["payer_name"])
    assert parsed["payer_address"] == "Số 5, phố Tràng Tiền, Hà Nội"


def test_invisible_and_control_characters_are_removed_not_signed():
    doc = build_receipt_xml(sample_receipt(payer_name="Nguyễn\u200b Thị\u202e\tTrang\n"))
    assert _text(doc, "DLBLai/NDBLai/NNop/Ten") == "Nguyễn Thị Trang"


def test_replacement_receipt_references_the_earlier_one():
    earlier = {"relation": "replacement", "template_symbol": "EBL01", "series": "26TAA", "receipt_number": "0000100",
               "issued_at": "2026-11-29T09:00:00+07:00", "note": "Thay thế biên lai sai tên người nộp"}
    doc = build_receipt_xml(sample_receipt(related_receipt=earlier))
    related = _tree(doc).find("DLBLai/TTChung/TTBLLQuan")
    assert [(c.tag, c.text) for c in related] == [
        ("TCBLai", "1"), ("KHMSBLCLQuan", "EBL01"), ("KHBLCLQuan", "26TAA"), ("SBLCLQuan", "0000100"),
        ("NLBLCLQuan", "2026-11-29T09:00:00"), ("GChu", "Thay thế biên lai sai tên người nộp")]
    assert parse_receipt_xml(doc)["related_receipt"] == earlier
    adjusting = {**earlier, "relation": "adjustment", "note": None}
    adjustment = parse_receipt_xml(build_receipt_xml(sample_receipt(related_receipt=adjusting)))
    assert adjustment["related_receipt"]["relation"] == "adjustment"


@pytest.mark.parametrize("changes, field", [
    ({"amount_vnd": 1_378_501}, "add up"),  # items disagree with the total
    ({"amount_in_words": "Một triệu đồng"}, "amount_in_words"),
    ({"series": "25TAA"}, "series year"),  # series of another year than the issue date
    ({"series": "26TAF"}, "series"),  # F is not in the 20-letter alphabet
    ({"series": "BI-26T"}, "series"),  # the replaced rules' format
    ({"template_symbol": "01BLP0-001"}, "template_symbol"),
    ({"receipt_number": "123456789"}, "receipt_number"),  # more than 8 digits
    ({"receipt_number": "00000000"}, "receipt_number"),
    ({"collecting_unit_tax_code": "5701234567"}, "collecting_unit_tax_code"),  # wrong check digit
    ({"collecting_unit_tax_code": None}, "collecting_unit_tax_code"),  # the organisation's tax code is required
    ({"payer_name": " \u200b "}, "payer_name"),
    ({"issued_at": "2026-11-30T10:01:00"}, "issued_at"),  # no offset: ambiguous
    ({"currency": "USD"}, "currency"),
    ({"items": []}, "items"),
    ({"items": [{"sub_item_code": "2801", "description": "x", "amount_vnd": True}], "amount_vnd": 1}, "amount_vnd"),
    ({"related_receipt": {"relation": "cancel"}}, "relation"),
])
def test_inconsistent_or_malformed_receipts_are_refused(changes, field):
    with pytest.raises(ReceiptXmlError, match=field):
        build_receipt_xml(sample_receipt(**changes))


def test_errors_name_the_field_never_the_personal_value():
    with pytest.raises(ReceiptXmlError) as caught:
        build_receipt_xml(sample_receipt(payer_tax_code="001099012344"[:11]))
    assert "00109901234" not in str(caught.value) and "payer_tax_code" in str(caught.value)


@pytest.mark.parametrize("edit", [
    lambda d: d.replace(b"<SBLai>0000123</SBLai>", b"<SBLai> 0000123</SBLai>"),  # not canonical
    lambda d: d.replace(b"<STT>2</STT>", b"<STT>3</STT>"),  # wrong position number
    lambda d: d.replace(b"</NDBLai>", b"<Extra>1</Extra></NDBLai>"),  # unknown element
    lambda d: d.replace(b"<TgTTBSo>1378500</TgTTBSo>", b"<TgTTBSo>1378501</TgTTBSo>"),  # figures disagree
    lambda d: d.replace(b"<PBan>1.0.0</PBan>", b"<PBan>2.0.0</PBan>"),
    lambda d: d.replace(b'Id="data"', b'Id="other"'),
    lambda d: b'<?xml version="1.0"?><!DOCTYPE BLai [<!ENTITY x "y">]>' + d[d.index(b"<BLai>"):],
    lambda d: d[:-20],
])
def test_parser_refuses_anything_the_builder_would_not_write(edit):
    with pytest.raises(ReceiptXmlError):
        parse_receipt_xml(edit(build_receipt_xml(sample_receipt())))


def test_parser_accepts_the_data_element_alone():
    doc = build_receipt_xml(sample_receipt())
    data = doc[doc.index(b"<DLBLai"):doc.index(b"<DSCKS>")]
    assert parse_receipt_xml(data) == parse_receipt_xml(doc)
