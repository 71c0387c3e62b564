"""Bench helper: parse + classify one bank's day of N settlement lines in memory; lines/s and peak memory.

Run: ``.venv/bin/python -m tests.unit.settlement_bench [lines]`` (default 200,000). The input is a canonical CSV in
a BytesIO and a portal mapping of the same N paid payments (the worst case the matcher's memory allows: one day's
payments); peak memory is tracemalloc's, inputs included. test_settlement_bench.py runs a small size in the suite.
"""
from __future__ import annotations

import io
import json
import sys
import time
import tracemalloc
from datetime import date, datetime, timedelta

from chalicelib.core.clock import VN_TZ
from chalicelib.reconciliation.adapters.settlement_formats import format_for_bank
from chalicelib.reconciliation.domain.matching import PortalPayment, Totals, classify
from chalicelib.reconciliation.domain.settlement import validate_settlement

DAY = date(2026, 11, 30)
HEADER = "settlement_date,bank_code,bank_txn_ref,payment_id,amount_vnd,currency,paid_at,status\r\n"


def build(lines: int) -> tuple[bytes, dict[str, PortalPayment]]:
    """A day of ``lines`` payments; 1 in 1,000 the file lacks, 1 in 1,000 with another amount."""
    start = datetime.combine(DAY, datetime.min.time(), VN_TZ)
    out, portal, total, written = io.StringIO(), {}, 0, 0
    out.write(HEADER)
    for i in range(lines):
        payment_id, ref = f"PAYH35{i:020d}", f"FT26334{i:08d}"
        amount, paid_at = 100_000 + i % 5_000_000, start + timedelta(seconds=i * 86_399 // max(lines, 1))
        portal[payment_id] = PortalPayment(payment_id, "PAID", amount, ref, paid_at)
        if i % 1000 == 1:
            continue
        amount += 1_000 if i % 1000 == 2 else 0
        out.write(f"2026-11-30,VCB,{ref},{payment_id},{amount},VND,{paid_at.isoformat()},SUCCESS\r\n")
        total, written = total + amount, written + 1
    out.write(f"TRAILER,{written},{total}\r\n")
    return out.getvalue().encode("utf-8"), portal


def _parse_and_classify(raw: bytes, portal: dict[str, PortalPayment]) -> Totals:
    totals = Totals()
    with validate_settlement(io.BytesIO(raw), format_for_bank("VCB"), "VCB", DAY) as file:
        for finding in classify(file.lines(), portal, lambda payment_id: None):
            totals.add(finding)
    return totals


def run(lines: int = 200_000) -> dict:
    """Time one run as is, then measure memory in a second run (tracemalloc slows Python several times)."""
    raw, portal = build(lines)
    began = time.perf_counter()
    totals = _parse_and_classify(raw, portal)
    elapsed = time.perf_counter() - began
    del raw, portal
    tracemalloc.start()
    raw, portal = build(lines)
    inputs_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    _parse_and_classify(raw, portal)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"lines": lines, "file_mb": round(len(raw) / 2**20, 1), "seconds": round(elapsed, 2),
            "lines_per_s": int(lines / elapsed), "inputs_mb": round(inputs_bytes / 2**20, 1),
            "peak_mb": round(peak / 2**20, 1), "work_mb": round((peak - inputs_bytes) / 2**20, 1),
            "counts": {c.value: n for c, n in totals.counts.items() if n}}


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000), indent=2))
