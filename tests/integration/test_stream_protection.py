"""Merge protection in the stream (PostgresSink + resolver/plan.py) on a real PostgreSQL store."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from streams.postgres_sink import BatchOutcome, PostgresSink
from tests.integration.test_bulk_resolve import contact, customer_of

pytestmark = pytest.mark.integration


def apply(url: str, *batches) -> list[BatchOutcome]:  # noqa: ANN002
    async def run() -> list[BatchOutcome]:
        sink = await PostgresSink.connect(url)
        try:
            return [await sink.apply(list(b)) for b in batches]
        finally:
            await sink.close()
    return asyncio.run(run())


def test_a_household_phone_does_not_join_a_different_person(database_factory) -> None:
    url = database_factory()
    mother = contact("kiotviet:shop1", "KH1", 1, "Trần Thị Lan", phone="0903 111 222")
    son = contact("kiotviet:shop1", "KH2", 2, "Lê Văn Nam", phone="0903111222")
    mother_again = contact("webform:lien-he", "sub-4", 3, "Tran Thi Lan", phone="+84 903 111 222")
    call = contact("stringee:hotline", "call-9", 4, None, phone="0903111222")
    outcomes = apply(url, [mother], [son], [mother_again, call])
    assert outcomes[1].refused == {"shared_identifier": 1} and outcomes[1].new_customers == 1
    assert customer_of(url, "kiotviet:shop1|KH1") == customer_of(url, "webform:lien-he|sub-4")
    assert customer_of(url, "kiotviet:shop1|KH2") != customer_of(url, "kiotviet:shop1|KH1")
    assert customer_of(url, "stringee:hotline|call-9") == customer_of(url, "kiotviet:shop1|KH1")  # no name: the owner


def test_different_birth_dates_on_one_email_are_refused_and_queued_for_review(database_factory) -> None:
    url = database_factory()
    first = contact("bulk:crm", "r1", 1, "Phạm Minh Tuấn", email="tuan.pham@gmail.com", birth="1990-04-12")
    other = contact("bulk:crm", "r2", 2, "Phạm Minh Tuấn", email="tuan.pham@gmail.com", birth="1975-01-30")
    outcomes = apply(url, [first], [other])
    assert outcomes[1].refused == {"conflict:birth_date": 1} and outcomes[1].review_queued == 1
    assert customer_of(url, "bulk:crm|r1") != customer_of(url, "bulk:crm|r2")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT left_record, right_record, reason FROM review_queue").fetchall() == [
            ("bulk:crm|r2", "bulk:crm|r1", "conflict:birth_date")]
        # The email stays with the customer that had it first.
        owner = conn.execute("SELECT customer_id::text FROM identifiers WHERE type = 'email'").fetchone()[0]
        assert owner == customer_of(url, "bulk:crm|r1")


def test_an_operators_no_stops_the_stream_from_merging_again(database_factory) -> None:
    url = database_factory()
    a = contact("kiotviet:shop1", "KH7", 1, "Đỗ Thu Hà", phone="0988 000 111")
    b = contact("webform:lien-he", "sub-8", 2, "Do Thu Ha", email="thuha.do@gmail.com")
    apply(url, [a, b])
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO review_decisions (left_record, right_record, same_person) VALUES (%s, %s, false)",
                     ("kiotviet:shop1|KH7", "webform:lien-he|sub-8"))
    bridge = contact("zalo:oa1", "z-3", 3, "Đỗ Thu Hà", phone="0988000111", email="thuha.do@gmail.com")
    (outcome,) = apply(url, [bridge])
    assert outcome.merges == [] and outcome.refused == {"review_rejected": 1}
    assert customer_of(url, "kiotviet:shop1|KH7") != customer_of(url, "webform:lien-he|sub-8")
    assert customer_of(url, "zalo:oa1|z-3") == customer_of(url, "kiotviet:shop1|KH7")
