"""The log formatter masks personal data whatever a careless log call passes it."""
from __future__ import annotations

import io
import json
import logging
import re
import unicodedata

import pytest


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


# --- every entry point masks from its first log line ---------------------------------------------------------------

PII = ("035095001234", "0912345678", "Nguyễn Văn An")


class _RuntimeHandler(logging.Handler):
    """Like the Lambda runtime's own (JSON) root handler: prints every record as it is, extra fields included."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.dumps({**vars(record), "message": record.getMessage()}, default=str,
                                     ensure_ascii=False))


@pytest.fixture
def fresh_container():
    """The logging state of a Lambda container in which nothing has called ``logger()`` yet: the ``chalicelib``
    loggers propagate to the runtime's root handler. Yields (runtime handler, the masking handler's stream)."""
    from chalicelib.aws.observability import logger

    masking_handler = logger().registered_handler
    package = logging.getLogger("chalicelib")
    saved = (list(package.handlers), package.propagate, package.level)
    package.handlers, package.propagate = [], True
    package.setLevel(logging.NOTSET)
    runtime = _RuntimeHandler()
    logging.root.addHandler(runtime)
    root_level = logging.root.level
    logging.root.setLevel(logging.INFO)  # the runtime's level (AWS_LAMBDA_LOG_LEVEL) in JSON log format
    original, captured = masking_handler.stream, io.StringIO()
    masking_handler.stream = captured
    try:
        yield runtime, captured
    finally:
        masking_handler.stream = original
        logging.root.removeHandler(runtime)
        logging.root.setLevel(root_level)
        package.handlers, package.propagate = saved[0], saved[1]
        package.setLevel(saved[2])


def _assert_masked(runtime: _RuntimeHandler, captured: io.StringIO, message: str) -> list[dict]:
    raw = "\n".join(runtime.lines) + captured.getvalue()
    squeezed = re.sub(r"[\s.()\-]", "", unicodedata.normalize("NFKC", raw))  # grouped and full-width forms too
    for value in PII:
        assert value not in raw and value.replace(" ", "") not in squeezed
    lines = [json.loads(x) for x in captured.getvalue().splitlines()]
    assert any(line["message"] == message for line in lines), lines
    return lines


class _EchoingProvince:
    """A province whose error answer echoes the payer's data (the detail ends up in the use case's log line)."""

    def post_json(self, url, payload, headers, connect_timeout_s, read_timeout_s, body_cap=1 << 20):
        from chalicelib.provinces.ports import ProvinceCallError

        raise ProvinceCallError("HTTP_400", "CCCD 035.095.001.234, SĐT (091) 234 5678 không khớp")


def _sqs_event(body: str) -> dict:
    return {"Records": [{
        "messageId": "m-1", "receiptHandle": "h-1", "body": body, "md5OfBody": "", "messageAttributes": {},
        "attributes": {"ApproximateReceiveCount": "1", "ApproximateFirstReceiveTimestamp": "1779240000000",
                       "SentTimestamp": "1779240000000", "SenderId": "x"},
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:ap-southeast-1:000000000000:lfo-test-forwarding",
        "awsRegion": "ap-southeast-1"}]}


def test_the_sqs_consumer_masks_a_use_case_log_line_although_nothing_called_logger(fresh_container):
    from chalicelib.jobs.forwarding import handle_batch
    from chalicelib.provinces.domain.delivery import receipt_delivery
    from tests.fakes_provinces import make_province_services, sample_receipt

    runtime, captured = fresh_container
    psvc = make_province_services(http=_EchoingProvince())
    psvc.queue.postpone = lambda receipt_handle, seconds: None
    delivery = receipt_delivery(sample_receipt(1))
    psvc.deliveries.add_pending(delivery, "2026-05-20T10:00:00+07:00")
    result = handle_batch(_sqs_event(json.dumps(delivery.to_message(), ensure_ascii=False)), None, psvc)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    lines = _assert_masked(runtime, captured, "province delivery failed")
    failed = next(line for line in lines if line["message"] == "province delivery failed")
    assert "234" in failed["error"] and "678" in failed["error"]  # masked, last digits kept


def test_the_sweeper_and_the_redrive_cli_install_masking_before_the_use_case_logs(fresh_container, monkeypatch):
    from chalicelib import bootstrap
    from chalicelib.jobs import redrive, sweeper
    from chalicelib.provinces.services import recovery
    from tests.fakes_provinces import PROVINCE, make_province_services

    runtime, captured = fresh_container
    use_case_log = logging.getLogger("chalicelib.provinces.services.recovery")

    def careless(*args, **kwargs):
        use_case_log.warning("careless use case", extra={"payer": {"payer_name": "Nguyễn Văn An",
                                                                   "note": "CCCD 035 095 001 234, 091.234.5678"}})
        return {}

    monkeypatch.setattr(bootstrap, "context", lambda: make_province_services())
    monkeypatch.setattr(recovery, "sweep", careless)
    monkeypatch.setattr(recovery, "redrive", careless)
    sweeper.run_sweep()
    _assert_masked(runtime, captured, "careless use case")

    logging.getLogger("chalicelib").handlers = []  # a fresh process for the CLI
    logging.getLogger("chalicelib").propagate = True
    captured.seek(0)
    captured.truncate(0)
    assert redrive.main([PROVINCE, "--by", "nguyen.van.a@vpcp"]) == 0
    _assert_masked(runtime, captured, "careless use case")


def test_the_http_shell_installs_masking_before_the_handler_logs(fresh_container):
    from types import SimpleNamespace

    from chalice import Response

    from chalicelib.api.http import serve

    runtime, captured = fresh_container

    def handler():
        logging.getLogger("chalicelib.payments.services.example").info("handler ran", extra={
            "full_name": "Nguyễn Văn An", "raw": "0912345678".encode(), "id": "０３５０９５００１２３４"})
        return Response(body="ok", status_code=200)

    request = SimpleNamespace(headers={}, context={"requestId": "r-1"}, method="GET", path="/x")
    assert serve(request, handler).status_code == 200
    line = next(x for x in _assert_masked(runtime, captured, "handler ran") if x["message"] == "handler ran")
    assert line["full_name"] == "N*** V*** A***"


def test_install_logging_is_idempotent():
    from chalicelib.aws.observability import install_logging

    first = install_logging()
    assert install_logging() is first
    assert logging.getLogger("chalicelib").handlers == [first.registered_handler]
    assert logging.getLogger("chalicelib").propagate is False


def test_the_outbox_stream_consumer_and_sweep_install_masking_before_the_use_case_logs(fresh_container, monkeypatch):
    from types import SimpleNamespace

    from chalicelib.jobs import outbox as outbox_job
    from chalicelib.outbox import services as outbox_services

    runtime, captured = fresh_container
    use_case_log = logging.getLogger("chalicelib.outbox.services")

    def careless(*args, **kwargs):
        use_case_log.warning("careless use case", extra={"sms": {"phone": "0912345678", "ho_ten": "Nguyễn Văn An",
                                                                 "text": "CCCD 035095001234"}})
        return {}

    monkeypatch.setattr(outbox_services, "send", careless)
    monkeypatch.setattr(outbox_services, "sweep", careless)
    ctx = SimpleNamespace(outbox=SimpleNamespace(from_image=lambda image: {"intent": 1}), metrics=None)
    event = {"Records": [{"eventName": "INSERT", "dynamodb": {"NewImage": {}, "SequenceNumber": "7"}}]}
    assert outbox_job.handle_stream(event, None, ctx) == {"batchItemFailures": []}
    _assert_masked(runtime, captured, "careless use case")

    logging.getLogger("chalicelib").handlers = []
    logging.getLogger("chalicelib").propagate = True
    captured.seek(0)
    captured.truncate(0)
    outbox_job.run_sweep(ctx)
    _assert_masked(runtime, captured, "careless use case")
