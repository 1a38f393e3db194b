"""bench/chaos.py at a small scale, as a test: workers killed with -9, PostgreSQL crashed, the broker
frozen while webhooks and an import are under way — and still no event lost, none doubled, the same
customers as an undisturbed run, nothing dead-lettered. On the real broker and PostgreSQL."""

from __future__ import annotations

import pytest

from bench.chaos import run

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_faults_lose_nothing_double_nothing_and_leave_the_same_customers() -> None:
    result = run(events=4000, kills=2, workers=2, pause_s=6.0, seed=2026, rate=300.0)
    assert (result["kills"], result["postgres_restarts"], result["broker_pauses"]) == (2, 1, 1), result["faults"]
    assert result["webhook_503"] > 0  # the frozen broker was met by webhooks, which answered 503 ...
    assert result["webhook_gave_up"] == 0  # ... and were retried by the sender until stored
    assert result["import_resumes"] >= 1 and result["import_rows"] == 600  # the import waited and resumed
    assert (result["lost"], result["doubled"], result["dlq"]) == (0, 0, 0), result
    assert result["reference_lost"] == 0
    assert result["clustering_equal"] and result["customers"] == result["reference_customers"]
