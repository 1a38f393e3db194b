"""Choosing dead letters: --since durations and times, --topic as DLQ or original topic, --reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hopnhat.dlq import DeadLetterEntry, DlqFilter, parse_since
from hopnhat.settings import Settings
from schema.errors import ConfigError
from schema.events import DeadLetter

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("30m", NOW - timedelta(minutes=30)),
    ("2h", NOW - timedelta(hours=2)),
    ("1d", NOW - timedelta(days=1)),
    ("45s", NOW - timedelta(seconds=45)),
    ("2026-11-22T08:00:00+07:00", datetime(2026, 11, 22, 1, 0, tzinfo=UTC)),
    ("2026-11-22T08:00:00", datetime(2026, 11, 22, 8, 0, tzinfo=UTC)),
], ids=["minutes", "hours", "days", "seconds", "iso-ict", "iso-naive-is-utc"])
def test_parse_since(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW) == expected


def test_parse_since_explains_what_it_accepts() -> None:
    with pytest.raises(ConfigError, match="30m, 2h, 1d"):
        parse_since("hôm qua", NOW)


def entry(dlq_topic: str, topic: str, reason: str, at: datetime) -> DeadLetterEntry:
    letter = DeadLetter(stage=dlq_topic.rsplit(".", 1)[-1], reason=reason, error=reason, topic=topic, partition=0,
                        offset=7, key="84912345678", value='{"id": "evt-1"}', at=at)
    return DeadLetterEntry(dlq_topic, 0, 3, letter)


@pytest.mark.parametrize(("where", "matches"), [
    (DlqFilter(), True),
    (DlqFilter(topic="normalise"), True),
    (DlqFilter(topic="dlq.normalise"), True),
    (DlqFilter(topic="raw.zalo"), True),
    (DlqFilter(topic="resolve"), False),
    (DlqFilter(topic="raw.webform"), False),
    (DlqFilter(reason="invalid-envelope"), True),
    (DlqFilter(reason="store-rejected"), False),
    (DlqFilter(since=NOW - timedelta(hours=1)), True),
    (DlqFilter(since=NOW + timedelta(minutes=1)), False),
], ids=["all", "stage-name", "dlq-topic", "original-topic", "other-stage", "other-original", "reason",
        "other-reason", "since-before", "since-after"])
def test_filter_with_a_topic_prefix(where: DlqFilter, matches: bool) -> None:
    settings = Settings(topic_prefix="shop1.")
    e = entry("shop1.dlq.normalise", "shop1.raw.zalo", "invalid-envelope", NOW - timedelta(minutes=5))
    assert where.matches(e, settings) is matches
