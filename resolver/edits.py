""""At most one edit apart" for many string pairs at once, in NumPy.

Phones, emails, postcodes and document numbers agree at level 2 when they are one Damerau edit
apart (one character inserted, deleted, replaced, or two neighbours exchanged). rapidfuzz's
Damerau–Levenshtein fills a full distance matrix per pair (about 1 µs for two phone numbers);
for the question "distance <= 1" the answer only needs where the two strings first differ:

* same length: one mismatching position (a replacement), or exactly two, neighbours, holding each
  other's character (an exchange);
* one character longer: after the first difference, the longer string shifted by one equals the
  shorter (a deletion).

Distance <= 1 is the same under every Damerau variant, so this agrees exactly with
`DamerauLevenshtein.distance(a, b) <= 1` (tests/unit/test_edits.py checks it against rapidfuzz).
The distinct values of a column are laid out once as a matrix of code points; each pair reads two
rows of it. Values too long for the matrix, or holding a NUL character (the padding), are left to
the caller (`fits`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_WIDTH = 40  # longer values are compared by rapidfuzz (a wider matrix would cost memory for all)
CHUNK = 250_000  # pairs per NumPy pass: bounds the temporary matrices (a few tens of MB)


@dataclass(frozen=True, slots=True)
class CodePoints:
    """Distinct values as rows of zero-padded code points (one spare zero column at the end)."""

    matrix: np.ndarray  # uint8/16/32 (the narrowest that holds them), (values, width + 1)
    lengths: np.ndarray  # int64 per value
    fits: np.ndarray  # bool per value: in the matrix (short enough, no NUL)

    @classmethod
    def of(cls, values: np.ndarray) -> CodePoints:
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        fits = lengths <= MAX_WIDTH
        width = int(lengths[fits].max(initial=0))
        text = np.array([v if ok else "" for v, ok in zip(values.tolist(), fits.tolist(), strict=True)],
                        dtype=f"<U{max(width, 1)}")
        matrix = np.zeros((len(values), width + 1), dtype=np.uint32)
        if width:
            matrix[:, :width] = text.view(np.uint32).reshape(len(values), -1)[:, :width]
        fits &= (matrix != 0).sum(axis=1) == lengths  # a NUL inside a value would read as padding
        top = int(matrix.max(initial=0))
        if top < 2**16:  # phones, postcodes, emails: ASCII; a narrower matrix is less to read per pair
            matrix = matrix.astype(np.uint8 if top < 2**8 else np.uint16)
        return cls(matrix, lengths, fits)


def within_one_edit(points: CodePoints, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For value codes a[k] != b[k] (both fitting): whether the two values are at most one edit apart."""
    out = np.empty(len(a), dtype=bool)
    for start in range(0, len(a), CHUNK):
        stop = start + CHUNK
        out[start:stop] = _one_edit(points, a[start:stop], b[start:stop])
    return out


def _one_edit(points: CodePoints, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    left, right = points.matrix[a], points.matrix[b]
    la, lb = points.lengths[a], points.lengths[b]
    rows = np.arange(len(a))
    mismatch = left != right
    first = mismatch.argmax(axis=1)  # the values differ, so some position mismatches
    count = mismatch.sum(axis=1)
    same_length = la == lb
    replaced = same_length & (count == 1)
    nxt = np.minimum(first + 1, left.shape[1] - 1)
    exchanged = (same_length & (count == 2) & (left[rows, first] == right[rows, nxt])
                 & (left[rows, nxt] == right[rows, first]))
    return replaced | exchanged | _deleted(left, right, la == lb + 1, first) | _deleted(right, left, lb == la + 1, first)


def _deleted(longer: np.ndarray, shorter: np.ndarray, one_longer: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Whether dropping the character at the first difference from `longer` gives `shorter`: from
    there on, longer shifted by one must equal shorter (the zero padding included)."""
    out = np.zeros(len(first), dtype=bool)
    k = np.flatnonzero(one_longer)
    if not len(k):
        return out
    shifted_mismatch = longer[k, 1:] != shorter[k, :-1]
    # any mismatch at or after each position: an OR accumulated from the right
    later = np.logical_or.accumulate(shifted_mismatch[:, ::-1], axis=1)[:, ::-1]
    out[k] = ~later[np.arange(len(k)), first[k]]
    return out
