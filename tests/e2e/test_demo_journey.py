"""`make demo` as a test: the whole journey over HTTP, and what the logs of that journey may not contain."""
from __future__ import annotations

import io
import unicodedata

from pypdf import PdfReader


def test_demo_journey_and_logs_hold_no_personal_data_or_secrets(stack, tmp_path):
    from chalicelib.aws.observability import logger
    from chalicelib.local import devkeys
    from chalicelib.local.demo import DEMO_ID_NUMBER, run_demo

    handler = logger().registered_handler
    captured = io.StringIO()
    original, handler.stream = handler.stream, captured
    lines: list[str] = []
    try:
        _journeys(stack, tmp_path, lines, run_demo)
    finally:
        handler.stream = original
    assert len(lines) == 26  # 13 printed lines per journey (the last two: the receipt arriving at the province)

    logs = captured.getvalue()
    assert '"level"' in logs and "sms sent" in logs, "the journey should have produced structured logs"
    forbidden = [DEMO_ID_NUMBER, "0912345678", "+84912345678", "912345678", devkeys.LOCAL_TAX_AUTHORITY_SECRET,
                 devkeys.LOCAL_VNPAY_HASH_SECRET, devkeys.LOCAL_ID_HASH_KEY, *devkeys.LOCAL_BANK_SECRETS.values(),
                 devkeys.LOCAL_PROVINCE_PASSWORD]
    for value in forbidden:
        assert value not in logs, f"found a secret or personal value in the logs: {value[:4]}..."


def _journeys(stack, tmp_path, lines, run_demo):
    for bank in ("BIDV", "MB"):
        result = run_demo(stack.api_url, stack.bank_url, tmp_path, say=lines.append, bank_code=bank,
                          province=stack.province_url)
        assert result["payment"]["state"] == "PAID"
        assert len(result["province_received"]) == 2
        receipt = result["receipt"]
        assert receipt["payer_name"] == "Nguyễn Thị Trang"
        assert receipt["amount_in_words"] == "Ba triệu tám trăm hai mươi tám nghìn năm trăm đồng"
        pdf = open(result["pdf_path"], "rb").read()
        text = unicodedata.normalize("NFC", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
        assert "Nguyễn Thị Trang" in text and receipt["receipt_number"] in text
