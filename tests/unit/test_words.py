"""Amount in words, tax-authority style: every expected string below was written by hand."""
from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.core.validation import InvalidValueError
from chalicelib.core.words import amount_in_words

CASES = [
    (0, "Không đồng"),
    (1, "Một đồng"),
    (4, "Bốn đồng"),
    (5, "Năm đồng"),
    (10, "Mười đồng"),
    (11, "Mười một đồng"),
    (14, "Mười bốn đồng"),
    (15, "Mười lăm đồng"),
    (20, "Hai mươi đồng"),
    (21, "Hai mươi mốt đồng"),
    (24, "Hai mươi tư đồng"),
    (25, "Hai mươi lăm đồng"),
    (55, "Năm mươi lăm đồng"),
    (91, "Chín mươi mốt đồng"),
    (100, "Một trăm đồng"),
    (101, "Một trăm linh một đồng"),
    (104, "Một trăm linh bốn đồng"),
    (105, "Một trăm linh năm đồng"),
    (110, "Một trăm mười đồng"),
    (111, "Một trăm mười một đồng"),
    (115, "Một trăm mười lăm đồng"),
    (121, "Một trăm hai mươi mốt đồng"),
    (1000, "Một nghìn đồng"),
    (1001, "Một nghìn không trăm linh một đồng"),
    (1010, "Một nghìn không trăm mười đồng"),
    (1015, "Một nghìn không trăm mười lăm đồng"),
    (1024, "Một nghìn không trăm hai mươi tư đồng"),
    (1100, "Một nghìn một trăm đồng"),
    (2005, "Hai nghìn không trăm linh năm đồng"),
    (10001, "Mười nghìn không trăm linh một đồng"),
    (15000, "Mười lăm nghìn đồng"),
    (21000, "Hai mươi mốt nghìn đồng"),
    (100000, "Một trăm nghìn đồng"),
    (100001, "Một trăm nghìn không trăm linh một đồng"),
    (105000, "Một trăm linh năm nghìn đồng"),
    (1000000, "Một triệu đồng"),
    (1000001, "Một triệu không trăm linh một đồng"),
    (1000100, "Một triệu một trăm đồng"),
    (1001000, "Một triệu không trăm linh một nghìn đồng"),
    (1010010, "Một triệu không trăm mười nghìn không trăm mười đồng"),
    (1378500, "Một triệu ba trăm bảy mươi tám nghìn năm trăm đồng"),
    (25000000, "Hai mươi lăm triệu đồng"),
    (1000000000, "Một tỷ đồng"),
    (1000000001, "Một tỷ không trăm linh một đồng"),
    (1000001000, "Một tỷ không trăm linh một nghìn đồng"),
    (1001000000, "Một tỷ không trăm linh một triệu đồng"),
    (2000500005, "Hai tỷ năm trăm nghìn không trăm linh năm đồng"),
    (16000000000, "Mười sáu tỷ đồng"),
    (1000000000000, "Một nghìn tỷ đồng"),
    (1005000000000, "Một nghìn không trăm linh năm tỷ đồng"),
    (1000000000005, "Một nghìn tỷ không trăm linh năm đồng"),
    (
        999_999_999_999_999,
        "Chín trăm chín mươi chín nghìn chín trăm chín mươi chín tỷ chín trăm chín mươi chín triệu"
        " chín trăm chín mươi chín nghìn chín trăm chín mươi chín đồng",
    ),
]


@pytest.mark.parametrize(("amount", "expected"), CASES)
def test_amount_in_words(amount: int, expected: str) -> None:
    assert amount_in_words(amount) == expected


def test_never_says_le_and_always_ends_with_dong() -> None:
    for amount in [101, 1001, 1000001, 1000000001, 2000500005, 10_000_000_001]:
        words = amount_in_words(amount)
        assert " lẻ " not in words
        assert words.endswith(" đồng")
        assert words[0].isupper()


@pytest.mark.parametrize("amount", [-1, 10**15, 10**18])
def test_out_of_range_is_refused(amount: int) -> None:
    with pytest.raises(InvalidValueError) as err:
        amount_in_words(amount)
    assert err.value.code == "AMOUNT_OUT_OF_RANGE"


@pytest.mark.parametrize("amount", [True, False, 1.0, "1000", Decimal("1000"), None])
def test_non_integer_is_refused(amount: object) -> None:
    with pytest.raises(InvalidValueError) as err:
        amount_in_words(amount)  # type: ignore[arg-type]
    assert err.value.code == "AMOUNT_INVALID"
