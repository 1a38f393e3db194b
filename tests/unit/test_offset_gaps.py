"""The offset tracker behind the agents' repair of skipped records (streams/gaps.py)."""

from __future__ import annotations

from streams.gaps import Hole, OffsetTracker


def test_dense_offsets_have_no_holes_across_batches_and_partitions() -> None:
    tracker = OffsetTracker()
    assert tracker.holes([("events.canonical", 0, 0), ("events.canonical", 1, 7), ("events.canonical", 0, 1)]) == []
    assert tracker.holes([("events.canonical", 0, 2), ("events.canonical", 1, 8)]) == []


def test_a_skipped_batch_is_one_hole_naming_the_missing_offsets() -> None:
    tracker = OffsetTracker()
    tracker.holes([("events.canonical", 0, o) for o in range(30950, 30958)])
    holes = tracker.holes([("events.canonical", 0, 30964), ("events.canonical", 0, 30965)])
    assert holes == [Hole("events.canonical", 0, 30958, 30964)] and holes[0].size == 6


def test_the_first_record_of_a_partition_and_redelivery_are_not_holes() -> None:
    tracker = OffsetTracker()
    assert tracker.holes([("raw.webform", 2, 500)]) == []  # nothing seen before: no baseline
    assert tracker.holes([("raw.webform", 2, 480), ("raw.webform", 2, 481)]) == []  # redelivered from a commit
    assert tracker.holes([("raw.webform", 2, 483)]) == [Hole("raw.webform", 2, 482, 483)]


def test_revoked_partitions_are_forgotten() -> None:
    tracker = OffsetTracker()
    tracker.holes([("raw.zalo", 0, 10), ("raw.zalo", 1, 10)])
    tracker.forget([("raw.zalo", 0)])
    assert tracker.holes([("raw.zalo", 0, 900), ("raw.zalo", 1, 12)]) == [Hole("raw.zalo", 1, 11, 12)]
