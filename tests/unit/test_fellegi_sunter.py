"""Fellegi–Sunter parameter estimation (resolver/fellegi_sunter.py) on small named cases."""

from __future__ import annotations

import numpy as np

from resolver.comparisons import RecordColumns
from resolver.fellegi_sunter import estimate_u
from tests.unit.test_engine import record


def test_u_leaves_out_random_pairs_stitching_already_knows_are_one_person() -> None:
    # 40 people, each with 5 records sharing a birth date (say, one phone stitched them): a random
    # pair agrees on the birth date mostly because it is two records of one person.
    people = [f"19{60 + p % 40}-0{1 + p % 9}-1{p % 10}" for p in range(40)]
    recs = [record(f"pos|{p}-{k}", birth_date=people[p]) for p in range(40) for k in range(5)]
    cols = RecordColumns(recs)
    person = np.repeat(np.arange(40), 5)
    exact = -1  # the top level
    naive = estimate_u(cols, 20_000, np.random.default_rng(1))["birth_date"][exact]
    fair = estimate_u(cols, 20_000, np.random.default_rng(1), known_same=person)["birth_date"][exact]
    assert naive > 0.015  # about 4/199 of random pairs are one person's
    assert fair < 0.001  # the 40 birth dates are all different: among different people, none agree
