"""resolver/edits.py must answer exactly what rapidfuzz's Damerau-Levenshtein distance <= 1 answers."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import DamerauLevenshtein

from resolver.edits import MAX_WIDTH, CodePoints, within_one_edit

ALPHABET = "ab1\u0111\U0001f600"  # ASCII, a Vietnamese letter and a character outside the BMP


def _points(values: list[str]) -> tuple[CodePoints, dict[str, int]]:
    distinct = sorted(set(values))
    arr = np.empty(len(distinct) + 1, dtype=object)
    arr[:-1] = distinct
    arr[-1] = ""
    return CodePoints.of(arr), {v: i for i, v in enumerate(distinct)}


def _check(pairs: list[tuple[str, str]]) -> None:
    points, code = _points([v for pair in pairs for v in pair])
    a = np.array([code[x] for x, _ in pairs], dtype=np.int64)
    b = np.array([code[y] for _, y in pairs], dtype=np.int64)
    fits = points.fits[a] & points.fits[b]
    got = within_one_edit(points, a[fits], b[fits])
    want = np.array([DamerauLevenshtein.distance(x, y, score_cutoff=1) <= 1
                     for (x, y), ok in zip(pairs, fits.tolist(), strict=True) if ok], dtype=bool)
    assert got.tolist() == want.tolist()


def _edit(rng: random.Random, s: str, alphabet: str) -> str:
    i = rng.randrange(len(s) + 1)
    kind = rng.randrange(4)
    if kind == 0:
        return s[:i] + rng.choice(alphabet) + s[i:]
    if not s:
        return s
    i = min(i, len(s) - 1)
    if kind == 1:
        return s[:i] + s[i + 1:]
    if kind == 2:
        return s[:i] + rng.choice(alphabet) + s[i + 1:]
    i = min(i, len(s) - 2)
    return s[:i] + s[i + 1] + s[i] + s[i + 2:] if i >= 0 else s


@pytest.mark.parametrize("alphabet", [ALPHABET, "0123+", "ađ1"])  # uint32, uint8 and uint16 matrices
@pytest.mark.parametrize("seed", [1, 2])
def test_agrees_with_rapidfuzz_on_strings_one_to_three_edits_apart(seed: int, alphabet: str) -> None:
    rng = random.Random(seed)
    pairs = []
    for _ in range(20_000):
        x = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 9)))
        y = x
        for _ in range(rng.choice([1, 1, 2, 3])):
            y = _edit(rng, y, alphabet)
        if y and y != x:
            pairs.append((x, y))
    _check(pairs)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(ALPHABET + "\x00", min_size=1, max_size=8),
                          st.text(ALPHABET + "\x00", min_size=1, max_size=8)), min_size=1, max_size=30))
def test_agrees_with_rapidfuzz_on_any_pairs(pairs: list[tuple[str, str]]) -> None:
    _check([(x, y) for x, y in pairs if x != y] or [("a", "b")])


def test_values_too_long_or_holding_nul_are_left_to_the_caller() -> None:
    points, code = _points(["a" * (MAX_WIDTH + 1), "a\x00b", "ab"])
    assert not points.fits[code["a" * (MAX_WIDTH + 1)]]
    assert not points.fits[code["a\x00b"]]
    assert points.fits[code["ab"]]
