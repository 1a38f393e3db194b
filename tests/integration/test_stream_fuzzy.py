"""Fuzzy matching inside the stream, once `hopnhat resolve` has trained parameters (real PostgreSQL)."""

from __future__ import annotations

import psycopg
import pytest

from tests.integration.test_bulk_resolve import ANH_1, ANH_2, QUYNH_FORM, QUYNH_POS, customer_of, fill, invoke, \
    population

pytestmark = pytest.mark.integration


def test_a_new_record_joins_its_customer_by_name_birth_date_and_street_after_training(
        database_factory, monkeypatch) -> None:
    url = database_factory()
    fill(url, population() + [QUYNH_POS, ANH_1])
    invoke(["resolve", "--json"], url, monkeypatch)  # trains match_parameters on the store
    fill(url, [QUYNH_FORM, ANH_2])  # a later batch: an email-only form, and a namesake
    assert customer_of(url, "webform:lien-he|sub-9001") == customer_of(url, "kiotviet:shop1|KH000777")
    assert customer_of(url, "webform:lien-he|sub-2") != customer_of(url, "webform:lien-he|sub-1")
    with psycopg.connect(url) as conn:
        rule, linked_by = conn.execute(
            "SELECT link_rule, link_identifier FROM source_records WHERE source_record_id = 'sub-9001'").fetchone()
        assert rule == "probabilistic" and linked_by == "_matched:kiotviet:shop1|KH000777"
        (details,) = conn.execute("SELECT details FROM match_evidence WHERE rule = 'probabilistic' AND event_id = %s",
                                  (QUYNH_FORM.event_id,)).fetchone()
        assert details["probability"] >= 0.99 and details["fields"]["birth_date"]["meaning"] == "exact"
        # Keys are hashes: no phone digits or birth dates in clear.
        assert conn.execute("SELECT count(*) FROM match_keys").fetchone()[0] > 0
        assert conn.execute("SELECT pg_typeof(key)::text FROM match_keys LIMIT 1").fetchone() == ("bigint",)


def test_without_trained_parameters_the_stream_does_not_guess(database_factory) -> None:
    url = database_factory()
    fill(url, population() + [QUYNH_POS])
    fill(url, [QUYNH_FORM])
    assert customer_of(url, "webform:lien-he|sub-9001") != customer_of(url, "kiotviet:shop1|KH000777")
