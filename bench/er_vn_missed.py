"""What the true pairs bench/er_vn.py misses have in common, and the recall each kind of evidence could reach.

    python bench/er_vn_missed.py [--people 3000] [--per-kind 10] [--seed 2026]

Same records and resolution as bench/er_vn.py. A person whose records end in several clusters
loses every pair across them; this script looks at each pair of such clusters as a whole (what
any record of one has in common with any record of the other), because one link joins them all:

* whether a side has a usable record at all (rejected, or no name),
* how the names relate (the same full name, the same family and given name, or not),
* what agrees outside the name: a shared identifier, birth date, street, province, sex;
* whether one side is a Zalo chat alone (a Zalo id and a display name, nothing else).

Then the *ceilings*: the pairwise recall reached if every cluster pair with a given kind of
evidence were joined (transitively per person, with no false merge), e.g. "any agreement outside
the name" is the most a rule that never merges on a name alone can reach. The last stdout line is
one JSON object: `missed_pairs`, `by_category` (pairs and cluster pairs), `ceilings`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Callable
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.er_metrics import pair_counts  # noqa: E402
from bench.vn_people import PeopleGenerator, Record, hard_cases  # noqa: E402
from resolver.features import MatchRecord, match_record  # noqa: E402
from resolver.normalise import Rejected, canonical_event  # noqa: E402

OUTSIDE_NAME = ("birth_date", "street", "province", "gender")
IDENTIFYING_OR_PLACE = ("shared identifier", "same birth_date", "same street", "same province")


def cluster_pair_category(a: list[Record], b: list[Record], views: dict[str, MatchRecord],
                          ) -> tuple[str, set[str]]:
    """A short category for two clusters of one person, and the evidence found between them."""
    va, vb = [views[r.key] for r in a if r.key in views], [views[r.key] for r in b if r.key in views]
    if not va or not vb:
        return "a side is only rejected records", set()
    names_a = {(m.family, m.middle, m.given) for m in va if m.given}
    names_b = {(m.family, m.middle, m.given) for m in vb if m.given}
    if not names_a or not names_b:
        return "a side has no name", set()
    evidence: set[str] = set()
    if {i for m in va for i in m.identifiers} & {i for m in vb for i in m.identifiers}:
        evidence.add("shared identifier")
    for f in OUTSIDE_NAME:
        values_a = {getattr(m, f) for m in va if getattr(m, f)}
        values_b = {getattr(m, f) for m in vb if getattr(m, f)}
        if values_a & values_b:
            evidence.add(f"same {f}")
    if {n for n in names_a if n[1]} & {n for n in names_b if n[1]}:
        name = "same full name"
    elif {(f, g) for f, _, g in names_a} & {(f, g) for f, _, g in names_b}:
        name = "same family and given name"
    else:
        name = "name differs"
    zalo_only = any({r.contact.channel for r in side} == {"zalo"} and not any(
        views[r.key].identifiers and any(t != "zalo" for t, _ in views[r.key].identifiers) for r in side
        if r.key in views) for side in (a, b))
    outside = ", ".join(sorted(evidence)) or "nothing outside the name"
    return f"{name} | {outside}{' | a side is a Zalo chat alone' if zalo_only else ''}", evidence


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--per-kind", type=int, default=10)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)

    from resolver.engine import resolve_records

    gen = PeopleGenerator(args.seed)
    records = list(gen.population(args.people))
    records += [r for case in hard_cases(gen, args.per_kind) for r in case.records]
    truth = {r.key: r.pid for r in records}
    events = {}
    for r in records:
        event = canonical_event(r.contact, f"{r.contact.source}:{r.contact.source_record_id}")
        if not isinstance(event, Rejected):
            events[r.key] = event
    result = resolve_records(list(events.values()))
    cluster = {k: result.cluster_of.get(k, f"rejected:{k}") for k in truth}
    views = {k: match_record(e) for k, e in events.items()}

    by_person: dict[str, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        by_person[r.pid][cluster[r.key]].append(r)
    pairs: Counter[str] = Counter()
    cluster_pairs: Counter[str] = Counter()
    found: dict[tuple[str, int, int], tuple[str, set[str]]] = {}
    for pid, groups in by_person.items():
        parts = list(groups.values())
        for x, y in combinations(range(len(parts)), 2):
            category, evidence = cluster_pair_category(parts[x], parts[y], views)
            found[(pid, x, y)] = (category, evidence)
            pairs[category] += len(parts[x]) * len(parts[y])
            cluster_pairs[category] += 1

    true_pairs = pair_counts(cluster, truth)
    total_true = true_pairs.true_positive + true_pairs.false_negative

    def ceiling(joinable: Callable[[str, set[str]], bool]) -> float:
        missed = 0
        for pid, groups in by_person.items():
            parts = list(groups.values())
            parent = list(range(len(parts)))

            def root(k: int) -> int:
                while parent[k] != k:
                    k = parent[k]
                return k

            for x, y in combinations(range(len(parts)), 2):
                if joinable(*found[(pid, x, y)]):
                    parent[root(x)] = root(y)
            missed += sum(len(parts[x]) * len(parts[y]) for x, y in combinations(range(len(parts)), 2)
                          if root(x) != root(y))
        return round(1 - missed / total_true, 4)

    ceilings = {
        "now": round(true_pairs.scores().recall, 4),
        "identifier, birth date, street or province agreeing": ceiling(
            lambda _, e: bool(e & set(IDENTIFYING_OR_PLACE))),
        "anything outside the name agreeing (sex included)": ceiling(lambda _, e: bool(e)),
        "a name alone as well (every pair with a name on both sides)": ceiling(
            lambda c, _: not c.startswith("a side")),
    }
    for category, n in pairs.most_common():
        print(f"{n:6} pairs {cluster_pairs[category]:5} cluster pairs  {category}", file=sys.stderr)
    for label, value in ceilings.items():
        print(f"recall ceiling, {label}: {value}", file=sys.stderr)
    by_category = {c: {"pairs": n, "cluster_pairs": cluster_pairs[c]} for c, n in pairs.most_common()}
    print(json.dumps({"missed_pairs": sum(pairs.values()), "true_pairs": total_true,
                      "by_category": by_category, "ceilings": ceilings}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
