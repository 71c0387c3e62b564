"""The business metrics operations watch: payments initiated / paid / failed, callbacks refused."""
from __future__ import annotations

from collections import Counter

import pytest

from chalicelib.core.errors import AppError
from chalicelib.payments.services.bank_results import BankResult, apply_bank_result
from chalicelib.payments.services.intake import ingest_notices
from chalicelib.payments.services.payment_requests import initiate_payment
from tests.fakes import (
    AMOUNT,
    NOTICE_NUMBER,
    make_services,
    payment_body,
    sample_batch,
    sample_notice,
)


class RecordingMetrics:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, name: str, value: int = 1) -> None:
        self.counts[name] += value


def test_payment_lifecycle_is_counted():
    metrics = RecordingMetrics()
    svc = make_services(metrics=metrics)
    ingest_notices(svc, sample_batch(sample_notice(), sample_notice("TB-2021-000124", amount=AMOUNT)))
    _, first = initiate_payment(svc, payment_body(NOTICE_NUMBER, "BIDV"), None, None)
    _, second = initiate_payment(svc, payment_body("TB-2021-000124", "BIDV"), None, None)
    assert metrics.counts["PaymentsInitiated"] == 2

    ok = BankResult("BIDV", first["payment_id"], "FT1", AMOUNT, "VND", True)
    apply_bank_result(svc, ok)
    apply_bank_result(svc, ok)  # a duplicate is not a second payment
    apply_bank_result(svc, BankResult("BIDV", second["payment_id"], "FT2", AMOUNT, "VND", False))
    with pytest.raises(AppError):
        apply_bank_result(svc, BankResult("BIDV", second["payment_id"], "FT3", AMOUNT + 1, "VND", True))
    assert metrics.counts["PaymentsPaid"] == 1
    assert metrics.counts["PaymentsFailed"] == 1
    assert metrics.counts["CallbacksRefused"] == 1
