"""The settlement bench at a size the suite can afford: counts right, memory far from the Lambda's 512 MB."""
from __future__ import annotations

from tests.unit.settlement_bench import run


def test_parse_and_classify_memory_does_not_grow_with_the_file():
    small, large = run(2_000), run(8_000)
    assert large["counts"] == {"MATCHED": 7_984, "AMOUNT_MISMATCH": 8, "PENDING_NEXT_DAY": 8}
    # What parsing and matching add on top of the inputs (the spool stays in memory up to 8 MB) barely moves
    # when the file is four times larger; the inputs themselves are the day's payments and the file.
    assert large["work_mb"] < 12 and large["work_mb"] - small["work_mb"] < 4
    assert large["peak_mb"] < 64
