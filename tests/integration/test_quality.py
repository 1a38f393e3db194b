"""Data-quality scores computed in PostgreSQL over what the pipeline stored."""

import asyncio
import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from click.testing import CliRunner

from hopnhat.cli.main import cli
from hopnhat.quality import compute_quality
from schema.events import CanonicalEvent, Identifier, IdentifierType, Interaction, NormalisedText
from streams.postgres_sink import PostgresSink

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)


def ev(eid: str, source: str, name: str | None, phone: str | None = None, email: str | None = None,
       bad_phone: str | None = None, age: timedelta = timedelta(minutes=5), record: str | None = None,
       ) -> CanonicalEvent:
    idents = []
    if phone:
        idents.append(Identifier(type=IdentifierType.phone, value=phone, raw=phone))
    if email:
        idents.append(Identifier(type=IdentifierType.email, value=email, raw=email))
    attrs = {"invalid.phone.0": f"{bad_phone} (placeholder)"} if bad_phone else {}
    return CanonicalEvent(event_id=eid, channel="webform", source=source, source_record_id=record or eid,
                          occurred_at=NOW - age, received_at=NOW, identifiers=idents, attributes=attrs,
                          name=NormalisedText(raw=name, value=name) if name else None,
                          interaction=Interaction(kind="form_submission"))


def load(url: str, events: list[CanonicalEvent]) -> None:
    async def run() -> None:
        sink = await PostgresSink.connect(url)
        await sink.apply(events)
        await sink.close()
    asyncio.run(run())


def test_scores_per_source_and_field_are_computed_and_kept(database_factory, monkeypatch) -> None:
    url = database_factory()
    load(url, [
        ev("a1", "webform:lien-he", "Nguyễn Văn An", phone="+84912345678"),
        ev("a2", "webform:lien-he", "NGUYEN VAN AN", phone="+84912345678", email="an@gmail.com"),  # same name folded
        ev("a3", "webform:lien-he", None, email="binh@gmail.com", bad_phone="0123456789"),
        ev("a4", "webform:lien-he", "Trần Thị Bình", email="binh@gmail.com", age=timedelta(days=3)),  # conflict, late
        ev("b1", "webform:dang-ky", "Lê Hoa", phone="+84987654321"),
    ])
    scores = {(s.source, s.field, s.criterion): s for s in compute_quality(database_url=url)}
    lh = "webform:lien-he"
    assert (scores[lh, "name", "completeness"].numerator, scores[lh, "name", "completeness"].denominator) == (3, 4)
    assert scores[lh, "phone", "completeness"].score == 0.75  # a1, a2, a3 (invalid still counts as present)
    assert (scores[lh, "phone", "accuracy"].numerator, scores[lh, "phone", "accuracy"].denominator) == (2, 3)
    assert scores[lh, "phone", "accuracy"].flagged
    assert scores[lh, "email", "accuracy"].score == 1.0 and not scores[lh, "email", "accuracy"].flagged
    # Two customers touched by lien-he: An (names fold to one) and Bình (a3 has no name, a4 "Trần Thị Bình").
    assert scores[lh, "name", "consistency"].score == 1.0
    assert scores[lh, "event_time", "timeliness"].score == 0.75
    assert scores["webform:dang-ky", "phone", "accuracy"].score == 1.0
    with psycopg.connect(url) as conn:
        stored = conn.execute("SELECT count(*), count(DISTINCT computed_at) FROM quality_scores").fetchone()
    assert stored == (len(scores), 1)

    monkeypatch.setenv("HOPNHAT_DATABASE_URL", url)
    result = CliRunner().invoke(cli, ["quality", "--json"])
    assert result.exit_code == 0, result.output
    assert {(q["source"], q["field"], q["criterion"]) for q in json.loads(result.output)} == set(scores)
    strict = CliRunner().invoke(cli, ["quality", "--strict"])
    assert strict.exit_code == 1 and "below 90%" in strict.output


def test_conflicting_names_lower_consistency(database_factory) -> None:
    url = database_factory()
    # One POS customer record renamed by the shop (a shared phone alone no longer merges two
    # different names: merge protection marks it shared, see test_stream_protection.py).
    load(url, [ev("c1", "pos:kiotviet", "Phạm Minh Tuấn", phone="+84909111222", record="KH001"),
               ev("c2", "pos:kiotviet", "Hoàng Thị Mai", phone="+84909111222", record="KH001")])
    scores = {(s.source, s.field, s.criterion): s for s in compute_quality(database_url=url, store=False)}
    assert scores["pos:kiotviet", "name", "consistency"].score == 0.0
