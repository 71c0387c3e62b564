"""The log formatter masks personal data whatever a careless log call passes it."""
from __future__ import annotations

import io
import json
import logging


def test_log_lines_never_carry_id_numbers_phones_or_secrets():
    from chalicelib.aws.observability import logger

    handler = logger().registered_handler
    captured = io.StringIO()
    original, handler.stream = handler.stream, captured
    try:
        log = logging.getLogger("chalicelib.services.example")
        log.info("payer 035095001234 phone 0912345678", extra={"id_number": "035095001234",
                                                               "phone": "+84912345678", "password": "hunter2-secret"})
        logger().info({"payer_phone": "0987654321", "note": "cmnd 123456789"})
    finally:
        handler.stream = original
    lines = [json.loads(x) for x in captured.getvalue().splitlines()]
    assert len(lines) == 2 and lines[0]["level"] == "INFO"
    text = captured.getvalue()
    for value in ("035095001234", "0912345678", "912345678", "hunter2-secret", "0987654321", "123456789"):
        assert value not in text
    assert "234" in lines[0]["id_number"]  # masked, keeping the last digits for support
