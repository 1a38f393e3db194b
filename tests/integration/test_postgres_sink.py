"""The sink against real PostgreSQL: merges, idempotent redelivery, and concurrent workers."""

import asyncio
import random

import psycopg
import pytest

from streams.postgres_sink import PostgresSink
from tests.unit.test_resolution_plan import PHONES, EMAILS, event, oracle_clusters

pytestmark = pytest.mark.integration


def clusters(url: str) -> set[frozenset[str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """SELECT coalesce(c.merged_into, c.id), i.event_id
                 FROM interactions i JOIN customers c ON c.id = i.customer_id""").fetchall()
    groups: dict[str, set[str]] = {}
    for root, eid in rows:
        groups.setdefault(str(root), set()).add(eid)
    return {frozenset(g) for g in groups.values()}


async def _apply(url: str, *batches):
    sink = await PostgresSink.connect(url)
    try:
        return [await sink.apply(b) for b in batches]
    finally:
        await sink.close()


def test_bridging_event_merges_and_redelivery_is_a_no_op(database_factory) -> None:
    url = database_factory()
    a = event("a", phone="+84912345678")
    b = event("b", email="lan.pham@gmail.com")
    c = event("c", phone="+84912345678", email="lan.pham@gmail.com")
    first, second, third = asyncio.run(_apply(url, [a], [b], [c]))
    assert first.new_customers == 1 and second.new_customers == 1
    assert len(third.merges) == 1 and third.tombstones == [third.merges[0].absorbed]
    survivor = third.merges[0].survivor
    assert third.profiles[survivor]["interactions"] == 3
    again = asyncio.run(_apply(url, [a, b, c]))[0]
    assert again.stored == 0 and again.skipped == 3 and again.merges == []
    assert survivor in again.profiles  # re-published so a crash between commit and publish heals
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM interactions").fetchone() == (3,)
        assert conn.execute("SELECT count(*) FROM customers WHERE merged_into IS NULL").fetchone() == (1,)
        ev = conn.execute("SELECT e.rule, e.details FROM merges m JOIN match_evidence e ON e.id = m.evidence_id"
                          ).fetchone()
        assert ev[0] == "shared_identifier" and ev[1]["event_id"] == "c"
        assert conn.execute("SELECT count(DISTINCT customer_id) FROM identifiers").fetchone() == (1,)
    assert clusters(url) == {frozenset({"a", "b", "c"})}


def test_concurrent_sinks_racing_on_shared_identifiers_match_the_oracle(database_factory) -> None:
    url = database_factory()
    rng = random.Random(7)
    events = [event(f"e{i}", phone=rng.choice([None, *PHONES]), email=rng.choice([None, *EMAILS]), minute=i)
              for i in range(400)]
    events = [e for e in events if e.identifiers]
    rng.shuffle(events)
    halves = [events[0::2], events[1::2]]

    async def worker(part):
        sink = await PostgresSink.connect(url)
        try:
            for i in range(0, len(part), 10):
                await sink.apply(part[i:i + 10])
        finally:
            await sink.close()

    async def race():
        await asyncio.gather(worker(halves[0]), worker(halves[1]))

    asyncio.run(race())
    assert clusters(url) == oracle_clusters(events)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM interactions").fetchone() == (len(events),)
        # Merge chains stay one hop deep.
        assert conn.execute("""SELECT count(*) FROM customers a JOIN customers b ON a.merged_into = b.id
                               WHERE b.merged_into IS NOT NULL""").fetchone() == (0,)


def test_a_shared_email_between_near_namesakes_clusters_the_same_in_any_order(database_factory) -> None:
    """Two women write one family iCloud address: Nguyễn Thanh Thảo once, Nguyễn Thu Thảo four times (twice
    with her phone). Whatever the order, Thu Thảo's four records are one customer: when Thanh Thảo writes
    first she owns the email, and Thu Thảo's customer becomes its second holder (identifier_holders), so her
    email-only records link to her, not to nobody (bench/order.py found such cases split)."""
    email, phone = "thao.nguyen5331@icloud.com", "+84912525562"
    thanh = event("thanh", email=email, name="Nguyễn Thanh Thảo")
    thu = [event("thu-1", phone=phone, email=email, name="Nguyen Thu Thao", minute=1),
           event("thu-2", email=email, name="Nguyễn Thu Thảo", minute=2),
           event("thu-3", email=email, name="Nguyễn Thu Thảo", minute=3),
           event("thu-4", phone=phone, email=email, name="Nguyễn Thu Thảo", minute=4)]
    thu_first, thanh_first = database_factory(), database_factory()
    asyncio.run(_apply(thu_first, *([e] for e in [thu[0], thanh, *thu[1:]])))
    asyncio.run(_apply(thanh_first, *([e] for e in [thanh, *thu])))
    assert frozenset(e.event_id for e in thu) in clusters(thu_first)
    assert clusters(thanh_first) == clusters(thu_first)


def test_erasing_the_second_holder_of_a_shared_email_leaves_the_owner_linking_through_it(database_factory) -> None:
    from hopnhat.access import Caller, Role
    from hopnhat.erasure import SharedIdentifier, erase
    from hopnhat.settings import Settings

    url = database_factory()
    email = "giadinh.thao@icloud.com"
    asyncio.run(_apply(url, [event("thanh", email=email, name="Nguyễn Thanh Thảo")],
                       [event("thu", phone="+84912525562", email=email, name="Nguyễn Thu Thảo", minute=1)]))
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT type, value FROM identifier_holders").fetchall() == [("email", email)]
    with pytest.raises(SharedIdentifier, match="2 different people"):  # whose would it be? nothing erased
        erase(settings=Settings(database_url=url), identifier=f"email:{email}", caller=Caller(None, Role.admin))
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM suppressions").fetchone()[0] == 0
    erase(settings=Settings(database_url=url), identifier="phone:+84912525562", caller=Caller(None, Role.admin))
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM identifier_holders").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM identifiers WHERE value = %s", (email,)).fetchone()[0] == 1
    asyncio.run(_apply(url, [event("thanh-2", email=email, name="Nguyen Thanh Thao", minute=2)]))
    assert frozenset({"thanh", "thanh-2"}) in clusters(url)
