"""`hopnhat resolve`, `review`, `explain` and `export clusters` against a real PostgreSQL store.

The store is filled the way the stream fills it (PostgresSink, deterministic stitching only); the
bulk path must then find what stitching cannot: one woman who bought at the till with her phone and
filled a web form with her email, same name, birth date and street, no identifier in common.
"""

from __future__ import annotations

import asyncio
import csv
import json
import random
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from click.testing import CliRunner

from hopnhat.cli.main import cli
from resolver.normalise import canonical_event
from schema.contact import RawContact
from schema.events import CanonicalEvent
from streams.postgres_sink import PostgresSink

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
FAMILIES = ["Nguyễn"] * 8 + ["Trần", "Trần", "Lê", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
MIDDLES = ["Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Đức"]
GIVENS = ["Anh", "Hoa", "Lan", "Nam", "Hùng", "Dũng", "Trang", "Linh", "Tuấn", "Hương", "Thảo", "Phương", "Long"]
CITIES = ["Hà Nội", "TP.HCM", "Đà Nẵng", "Hải Phòng", "Cần Thơ"]


def contact(source: str, rid: str, minute: int, name: str | None = None, phone: str | None = None,
            email: str | None = None, birth: str | None = None, address: str | None = None) -> CanonicalEvent:
    raw = RawContact(channel=source.split(":")[0], source=source, source_record_id=rid,
                     occurred_at=T0 + timedelta(minutes=minute), received_at=T0 + timedelta(minutes=minute),
                     interaction_kind="order" if source.startswith("kiotviet") else "form_submission", name=name,
                     phones=[phone] if phone else [], emails=[email] if email else [], address=address,
                     attributes={"birth_date": birth} if birth else {})
    event = canonical_event(raw, f"{source}:{rid}")
    assert isinstance(event, CanonicalEvent)
    return event


def population(n: int = 160, seed: int = 11) -> list[CanonicalEvent]:
    rng = random.Random(seed)
    return [contact("kiotviet:shop1", f"bg{i}", i, f"{rng.choice(FAMILIES)} {rng.choice(MIDDLES)} {rng.choice(GIVENS)}",
                    phone=f"09{rng.randrange(10**7, 10**8)}",
                    birth=f"{rng.randrange(1960, 2004)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                    address=f"{rng.randrange(1, 200)} Đường số {rng.randrange(1, 30)}, {rng.choice(CITIES)}")
            for i in range(n)]


QUYNH_POS = contact("kiotviet:shop1", "KH000777", 500, "Đặng Thị Quỳnh", phone="0905 111 222", birth="1988-09-05",
                    address="12 Lê Lợi, Phường Bến Nghé, TP.HCM")
QUYNH_FORM = contact("webform:lien-he", "sub-9001", 900, "dang thi quynh", email="quynh.dang88@gmail.com",
                     birth="1988-09-05", address="12 Le Loi, P. Ben Nghe, Ho Chi Minh")
ANH_1 = contact("webform:lien-he", "sub-1", 910, "Nguyễn Văn Anh", address="TP.HCM")
ANH_2 = contact("webform:lien-he", "sub-2", 920, "Nguyễn Văn Anh", address="TP.HCM")
TRIET_1 = contact("webform:lien-he", "sub-3", 930, "Khổng Minh Triết")
TRIET_2 = contact("zalo:oa1", "z-88", 940, "Khong Minh Triet")


def fill(url: str, events: list[CanonicalEvent]) -> None:
    async def run() -> None:
        sink = await PostgresSink.connect(url)
        try:
            await sink.apply(events)
        finally:
            await sink.close()
    asyncio.run(run())


def customer_of(url: str, record: str) -> str:
    source, rid = record.split("|", 1)
    with psycopg.connect(url) as conn:
        row = conn.execute("""SELECT coalesce(c.merged_into, c.id) FROM source_records s
                                JOIN customers c ON c.id = s.customer_id
                               WHERE s.source = %s AND s.source_record_id = %s""", (source, rid)).fetchone()
    assert row is not None
    return str(row[0])


def invoke(args: list[str], url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("HOPNHAT_DATABASE_URL", url)
    monkeypatch.delenv("HOPNHAT_KAFKA_BOOTSTRAP", raising=False)
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_bulk_resolution_merges_what_stitching_cannot_and_explains_it(database_factory, monkeypatch, tmp_path) -> None:
    url = database_factory()
    fill(url, population() + [QUYNH_POS, QUYNH_FORM, ANH_1, ANH_2, TRIET_1, TRIET_2])
    quynh_pos, quynh_form = "kiotviet:shop1|KH000777", "webform:lien-he|sub-9001"
    assert customer_of(url, quynh_pos) != customer_of(url, quynh_form)  # the stream alone keeps them apart

    dry = json.loads(invoke(["resolve", "--dry-run", "--json"], url, monkeypatch))
    assert dry["merges"] == 0 and dry["customers_after"] < dry["customers_before"]
    assert customer_of(url, quynh_pos) != customer_of(url, quynh_form)  # dry run wrote nothing

    report = json.loads(invoke(["resolve", "--json"], url, monkeypatch))
    assert report["records"] == 166 and report["merges"] >= 1
    survivor = customer_of(url, quynh_pos)
    assert customer_of(url, quynh_form) == survivor
    # A common name alone never merges; a rare one alone goes to review, not into one customer.
    assert customer_of(url, "webform:lien-he|sub-1") != customer_of(url, "webform:lien-he|sub-2")
    assert customer_of(url, "webform:lien-he|sub-3") != customer_of(url, "zalo:oa1|z-88")

    explained = json.loads(invoke(["explain", survivor, "--json"], url, monkeypatch))
    merge = next(m for m in explained["merges"] if m["evidence"]["rule"] == "probabilistic")
    assert merge["evidence"]["probability"] >= 0.99
    assert merge["evidence"]["fields"]["birth_date"]["meaning"] == "exact"
    assert {r["record"] for r in explained["records"]} >= {quynh_pos, quynh_form}
    with psycopg.connect(url) as conn:
        profile = conn.execute("SELECT profile FROM customers WHERE id = %s", (survivor,)).fetchone()[0]
        assert {p["value"] for p in profile["phones"]} == {"+84905111222"}
        assert {e["value"] for e in profile["emails"]} == {"quynh.dang88@gmail.com"}
        assert conn.execute("SELECT count(*) FROM match_parameters").fetchone() == (1,)

    again = json.loads(invoke(["resolve", "--json"], url, monkeypatch))
    assert again["merges"] == 0  # a second run over the same store changes nothing

    out = tmp_path / "clusters.csv"
    invoke(["export", "clusters", "--out", str(out)], url, monkeypatch)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 166 and set(rows[0]) == {"source", "source_record_id", "customer_id"}
    by_record = {f"{r['source']}|{r['source_record_id']}": r["customer_id"] for r in rows}
    assert by_record[quynh_pos] == by_record[quynh_form] == survivor


def test_review_decisions_are_remembered_by_later_runs(database_factory, monkeypatch) -> None:
    url = database_factory()
    fill(url, population() + [TRIET_1, TRIET_2])
    invoke(["resolve", "--json"], url, monkeypatch)
    items = [json.loads(line) for line in invoke(["review", "list", "--json"], url, monkeypatch).splitlines()]
    triet = next(i for i in items if {i["left"], i["right"]} == {"webform:lien-he|sub-3", "zalo:oa1|z-88"})
    assert triet["reason"] == "name_only" and triet["evidence"]["fields"]["given"]["weight"] > 0

    invoke(["review", "accept", str(triet["id"]), "--by", "lan.support"], url, monkeypatch)
    assert customer_of(url, "webform:lien-he|sub-3") == customer_of(url, "zalo:oa1|z-88")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT same_person, decided_by FROM review_decisions").fetchall() == [
            (True, "lan.support")]
        assert conn.execute("SELECT status FROM review_queue WHERE id = %s", (triet["id"],)).fetchone() == (
            "accepted",)
    listed = invoke(["review", "list"], url, monkeypatch)
    assert "sub-3" not in listed  # decided items leave the open list


def test_a_rejected_pair_is_never_merged_by_a_later_run(database_factory, monkeypatch) -> None:
    url = database_factory()
    # Same name, birth date and street, no identifier in common: the engine would merge them...
    twin_a = contact("webform:lien-he", "sub-50", 950, "Lý Thu Hà", email="thuha.ly@gmail.com", birth="1990-01-01",
                     address="5 Hàng Bài, Hoàn Kiếm, Hà Nội")
    twin_b = contact("kiotviet:shop1", "KH000900", 960, "Ly Thu Ha", phone="0912 000 900", birth="1990-01-01",
                     address="5 Hang Bai, Hoan Kiem, Ha Noi")
    fill(url, population() + [twin_a, twin_b])
    before = json.loads(invoke(["resolve", "--dry-run", "--json"], url, monkeypatch))
    assert before["customers_after"] == before["customers_before"] - 1
    with psycopg.connect(url) as conn:  # ...but an operator knows they are twins who share an address
        conn.execute("INSERT INTO review_queue (left_record, right_record, reason, evidence) VALUES (%s, %s, %s, '{}')",
                     ("kiotviet:shop1|KH000900", "webform:lien-he|sub-50", "uncertain"))
        item = conn.execute("SELECT id FROM review_queue").fetchone()[0]
    invoke(["review", "reject", str(item)], url, monkeypatch)
    after = json.loads(invoke(["resolve", "--json"], url, monkeypatch))
    assert after["merges"] == 0
    assert customer_of(url, "webform:lien-he|sub-50") != customer_of(url, "kiotviet:shop1|KH000900")
