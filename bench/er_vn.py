"""Benchmark: entity resolution on Vietnamese multichannel data with ground truth, and its hard cases.

    python bench/er_vn.py [--people 3000] [--per-kind 10] [--seed 2026] [--examples 3]

Runs in the main venv (no peers needed). bench/vn_people.py makes a population of customers who
come back through web forms, Zalo, POS, bulk lists and the call centre with realistic noise, plus
`--per-kind` instances of each hard case:

  household_phone         three family members give one phone             -> must stay apart
  namesakes_one_province  same full name, same province, other phones     -> must stay apart
  reassigned_phone        a number passes to a stranger years later       -> must stay apart
  till_placeholders       walk-ins typed with 0000000000, khachle@..., the shop's own number -> apart
  changed_number          one customer, old number then new one           -> must join
  zalo_bridge             Zalo-only records + phone/email records, bridged by one Zalo
                          submit-info event with the Zalo id and the phone -> must join

Every record goes RawContact -> resolver.normalise.canonical_event -> resolver.engine.resolve_records
(`wall_s` times the resolve only; normalising is reported apart). A record the normaliser rejects
stays a singleton in the scoring. Scores: pairwise and B-cubed precision/recall/F1 over all records,
and per hard case how many instances were correct, over-merged (records of different people in one
cluster, including with anyone outside the case) or split. The last stdout line is one JSON object
with `pairwise`, `bcubed`, `hard_cases`, `wall_s`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.er_metrics import bcubed, case_outcome, pair_counts  # noqa: E402
from bench.vn_people import HARD_CASE_KINDS, PeopleGenerator, Record, hard_cases  # noqa: E402
from resolver.email import email_match_key  # noqa: E402
from resolver.name import name_fold_key  # noqa: E402
from resolver.normalise import Rejected, canonical_event  # noqa: E402
from schema.events import CanonicalEvent  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def describe(record: Record, event: CanonicalEvent | None, cluster: str) -> str:
    c = record.contact
    ids = [f"{i.type.value}:{i.value}" for i in event.identifiers] if event else ["(rejected)"]
    return (f"{record.pid:>7} {cluster[:8]} {c.occurred_at.date()} {c.channel:8} {c.name or '-':28} "
            f"{' '.join(ids)} {c.attributes.get('birth_date', '')} {c.address or ''}")


def _links(event: CanonicalEvent) -> set[tuple[str, str]]:
    return {(i.type.value, email_match_key(i.value) if i.type.value == "email" else i.value) for i in event.identifiers}


def identifier_linkable(records: list[Record], events: dict[str, CanonicalEvent]) -> dict[str, str]:
    """The clustering a perfect deterministic linker would reach: records of one person joined when
    they share a normalised identifier, transitively. Its recall says how much is left to fuzzy matching."""
    parent = {r.key: r.key for r in records}

    def find(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    holder: dict[tuple[str, tuple[str, str]], str] = {}
    for r in records:
        event = events.get(r.key)
        for ident in _links(event) if event else ():
            other = holder.setdefault((r.pid, ident), r.key)
            parent[find(r.key)] = find(other)
    return {r.key: find(r.key) for r in records}


def _brief(e: CanonicalEvent) -> str:
    ids = " ".join(f"{i.type.value}:{i.value}" for i in e.identifiers)
    return f"[{e.occurred_at.date()} {e.channel} {e.name.value if e.name else '-'} {ids} {e.attributes.get('birth_date', '')}]"


def missed_profile(clusters: dict[str, str], truth: dict[str, str], events: dict[str, CanonicalEvent],
                   examples: int = 0) -> dict[str, int]:
    """For true pairs left apart: do they share an identifier, the folded name, the birth date, the province?"""
    by_person: dict[str, list[str]] = {}
    for key, pid in truth.items():
        by_person.setdefault(pid, []).append(key)
    counts: Counter[str] = Counter()
    shown = 0
    for keys in by_person.values():
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                if clusters[a] == clusters[b]:
                    continue
                ea, eb = events.get(a), events.get(b)
                if ea is None or eb is None:
                    counts["a record was rejected"] += 1
                    continue
                parts = ["shared identifier" if _links(ea) & _links(eb) else "no shared identifier"]
                fa, fb = (name_fold_key(e.name.value) if e.name else "" for e in (ea, eb))
                parts.append("same folded name" if fa and fa == fb else "name differs or missing")
                da, db = ea.attributes.get("birth_date"), eb.attributes.get("birth_date")
                parts.append("birth date both" if da and db else "birth date not both")
                pa, pb = (e.address.province_code if e.address else None for e in (ea, eb))
                parts.append("same province" if pa and pa == pb else "province not both")
                counts[", ".join(parts)] += 1
                if parts[0] == "shared identifier" and shown < examples:
                    shown += 1
                    log(f"  missed despite a shared identifier: {_brief(ea)}  <->  {_brief(eb)}")
    return dict(counts.most_common())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="The last stdout line is one JSON object; progress goes to stderr.")
    parser.add_argument("--people", type=int, default=3000, help="background customers (each 1-5 records)")
    parser.add_argument("--per-kind", type=int, default=10, help="instances of each hard case")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--examples", type=int, default=3, help="failed hard-case instances printed per kind")
    parser.add_argument("--json", action="store_true", help="print only the JSON line on stdout (default anyway)")
    args = parser.parse_args(argv)

    from resolver.engine import resolve_records

    gen = PeopleGenerator(args.seed)
    records = list(gen.population(args.people))
    cases = hard_cases(gen, args.per_kind)
    records += [r for case in cases for r in case.records]
    truth = {r.key: r.pid for r in records}
    log(f"{len(records)} records of {len(set(truth.values()))} people ({len(cases)} hard-case instances)")

    started = time.perf_counter()
    events: dict[str, CanonicalEvent] = {}
    rejected = Counter()
    for r in records:
        event = canonical_event(r.contact, f"{r.contact.source}:{r.contact.source_record_id}")
        if isinstance(event, Rejected):
            rejected[event.field] += 1
        else:
            events[r.key] = event
    normalised = time.perf_counter()
    result = resolve_records(list(events.values()))
    done = time.perf_counter()
    clusters = {key: result.cluster_of.get(key, f"unresolved:{key}") for key in truth}
    log(f"normalise {normalised - started:.2f} s ({sum(rejected.values())} rejected: {dict(rejected)}), "
        f"resolve {done - normalised:.2f} s; engine stats {json.dumps(result.stats, default=str)[:400]}")

    counts = pair_counts(clusters, truth)
    pair_scores = counts.scores()
    b3 = bcubed(clusters, truth)
    log(f"pairwise {pair_scores.as_dict()} (tp {counts.true_positive}, fp {counts.false_positive}, "
        f"fn {counts.false_negative}); B-cubed {b3.as_dict()}")

    linkable = identifier_linkable(records, events)
    linkable_recall = pair_counts(linkable, truth).scores().recall
    log(f"recall reachable by shared identifiers alone (same person, transitively): {linkable_recall:.4f}")
    log(f"missed true pairs by what the two records share: {json.dumps(missed_profile(clusters, truth, events, args.examples))}")

    members: dict[str, set[str]] = {}
    for key, cluster in clusters.items():
        members.setdefault(cluster, set()).add(truth[key])
    by_key = {r.key: r for r in records}
    summary: dict[str, Any] = {}
    for kind in HARD_CASE_KINDS:
        tally = Counter()
        shown = 0
        for case in (c for c in cases if c.kind == kind):
            outcome = case_outcome(case.keys, clusters, truth)
            pids = {r.pid for r in case.records}
            outside = any(members[clusters[k]] - pids for k in case.keys)
            over = outcome.over_merged or outside
            failed = over if case.expect == "apart" else (outcome.split or over)
            tally["instances"] += 1
            tally["over_merged"] += over
            tally["merged_with_outsiders"] += outside
            tally["split"] += outcome.split
            tally["correct"] += not (over or outcome.split)
            tally["failed"] += failed
            if failed and shown < args.examples:
                shown += 1
                log(f"  {kind} ({case.expect}) {outcome.verdict}{' + merged with outsiders' if outside else ''}:")
                for k in case.keys:
                    log("    " + describe(by_key[k], events.get(k), clusters[k]))
                case_clusters = {clusters[k] for k in case.keys}
                for k in [k for k, c in clusters.items() if c in case_clusters and truth[k] not in pids][:4]:
                    log("    outsider " + describe(by_key[k], events.get(k), clusters[k]))
        summary[kind] = {"expect": next(c.expect for c in cases if c.kind == kind), **dict(tally)}
        log(f"{kind:24} {summary[kind]}")

    report = {
        "records": len(records), "people": len(set(truth.values())), "rejected": sum(rejected.values()),
        "pairwise": pair_scores.as_dict(), "bcubed": b3.as_dict(),
        "pairs": {"true_positive": counts.true_positive, "false_positive": counts.false_positive,
                  "false_negative": counts.false_negative},
        "identifier_linkable_recall": round(linkable_recall, 4),
        "hard_cases": summary,
        "no_hard_case_over_merged": all(v["over_merged"] == 0 for k, v in summary.items() if v["expect"] == "apart"),
        "normalise_s": round(normalised - started, 3), "wall_s": round(done - normalised, 3),
        "records_per_s": round(len(events) / (done - normalised)) if done > normalised else None,
    }
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
