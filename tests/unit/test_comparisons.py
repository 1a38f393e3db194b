"""Field comparison levels (resolver/comparisons.py) on named cases."""

from __future__ import annotations

import numpy as np
import pytest

from resolver.comparisons import FIELDS, LEVELS, RecordColumns, compare, house_number
from tests.unit.test_engine import record


@pytest.mark.parametrize(("street", "number"), [
    ("159 cach mang thang tam", "159"),
    ("so 12 ngo 34 lang ha", "12"),  # "số 12": the word for number first
    ("45/3 le loi", "45/3"),  # house 3 in alley 45
    ("12a tran phu", "12a"),
    ("le loi", ""),
    ("", ""),
], ids=["plain", "so-prefix", "alley", "letter-suffix", "no-number", "empty"])
def test_house_number(street: str, number: str) -> None:
    assert house_number(street) == number


@pytest.mark.parametrize(("a", "b", "level"), [
    ("159 cach mang thang tam", "159 cach mang thang tam", "jaro-winkler >= 0.92, same house number"),
    ("159 cach mang thang tam", "299 cach mang thang tam", "jaro-winkler >= 0.80, or another house number"),
    ("45/3 le loi", "45/7 le loi", "jaro-winkler >= 0.80, or another house number"),
], ids=["same-address", "other-house-same-street", "other-house-same-alley"])
def test_two_houses_on_one_street_are_not_one_address(a: str, b: str, level: str) -> None:
    cols = RecordColumns([record("pos|1", street=a), record("pos|2", street=b)])
    got = compare(cols, np.array([0]), np.array([1]))[0, FIELDS.index("street")]
    assert LEVELS["street"][got - 2] == level
