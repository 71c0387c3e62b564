"""SQS consumer of the forwarding queue: Powertools batch processing with partial batch failures.

Thin: each record becomes a call to ``services.forwarding.handle_message``; a failed delivery raises so Powertools
reports its id in ``batchItemFailures`` (the service has already postponed it by the backoff schedule).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any


class DeliveryFailedError(Exception):
    """This record was not delivered (it stays on the queue, hidden for its backoff delay)."""


def handle_batch(event: dict[str, Any], context: Any = None, psvc=None) -> dict:
    from chalicelib.aws.observability import install_logging

    install_logging()  # before anything logs: this Lambda never goes through the HTTP shell
    from aws_lambda_powertools.utilities.batch import (
        BatchProcessor,
        EventType,
        process_partial_response,
    )

    from chalicelib.core.clock import VN_TZ
    from chalicelib.provinces.services.forwarding import Attempt, BatchState, handle_message

    if psvc is None:
        from chalicelib.bootstrap import context

        psvc = context()
    batch = BatchState()

    def record_handler(record) -> None:
        attrs = record.attributes
        first_ms = int(attrs.approximate_first_receive_timestamp or 0) or int(datetime.now(VN_TZ).timestamp() * 1000)
        attempt = Attempt(number=int(attrs.approximate_receive_count or 1),
                          first_attempt_at=datetime.fromtimestamp(first_ms / 1000, VN_TZ),
                          receipt_handle=record.receipt_handle)
        if not handle_message(psvc, record.body, attempt, batch):
            raise DeliveryFailedError(record.message_id)

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    try:
        return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)
    finally:
        if psvc.metrics is not None:
            psvc.metrics.flush()
