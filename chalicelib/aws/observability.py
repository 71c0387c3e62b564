"""Structured JSON logs (Powertools Logger) with personal data masked, and Powertools Metrics.

Both are created on first use, not at import, to keep the cold start lean. Every record passes through
`MaskingFormatter`, which masks PII-named fields (IDs, phones, names, secrets) and scrubs ID-number/phone-shaped
digit runs from the text. Every entry point calls `install_logging()` before anything can log.
"""
from __future__ import annotations

import logging
import os
from functools import cache
from typing import Any

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "land-payments")


@cache
def _powertools_logger():
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    from chalicelib.core.masking import mask_pii, scrub_text

    class MaskingFormatter(LambdaPowertoolsFormatter):
        def serialize(self, log: dict[str, Any]) -> str:
            return scrub_text(super().serialize(mask_pii(log)))

    return Logger(service=SERVICE, logger_formatter=MaskingFormatter())


def install_logging():
    """Route every log line of our code through the masking JSON handler; call it first in every entry point.

    Our modules log with ``logging.getLogger(__name__)``: until the "chalicelib" tree has the masking handler, their
    records propagate to the runtime's own root handler and go out unmasked (as they did in the SQS consumer, which
    never called ``logger()``). Idempotent and cheap: it checks the loggers' state, not a flag, so it also repairs a
    tree someone reconfigured (handlers added on purpose, such as a test's, are kept). Returns the Powertools logger.
    """
    pt = _powertools_logger()
    handler = pt.registered_handler
    package = logging.getLogger("chalicelib")
    if handler not in package.handlers or package.propagate:
        package.handlers = [handler, *(h for h in package.handlers if h is not handler)]
        package.setLevel(pt.log_level)
        package.propagate = False
    # Powertools keeps its own records off the root handlers that existed when it was built (a filter); a root
    # handler added later would print them again, unmasked.
    logging.getLogger(SERVICE).propagate = False
    return pt


def logger():
    """The service's Powertools logger, with masking installed (see ``install_logging``)."""
    return install_logging()


class _Metrics:
    """Services call `add(name, value)`; Powertools emits them as CloudWatch EMF at the end of each invocation."""

    def __init__(self) -> None:
        from aws_lambda_powertools import Metrics

        self._metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "LandPayments"),
                                service=SERVICE)
        self._dirty = False
        # Locally metrics are off; Powertools then never empties its buffer, so do not fill it.
        self._disabled = os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() == "true"

    def add(self, name: str, value: int = 1) -> None:
        if self._disabled:
            return
        from aws_lambda_powertools.metrics import MetricUnit

        self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        self._dirty = True

    def flush(self) -> None:
        if self._dirty:
            self._dirty = False
            self._metrics.flush_metrics()


@cache
def metrics() -> _Metrics:
    return _Metrics()
