"""The embedded broker and PostgreSQL start, answer, and leave nothing behind."""

import contextlib

import psutil
import psycopg
import pytest
from kafka.admin import KafkaAdminClient

from hopnhat.embedded import embedded_services, port_open
from hopnhat.settings import Settings

pytestmark = pytest.mark.integration


def test_embedded_services_answer_and_stop_cleanly(tmp_path) -> None:
    already = {c.pid for c in psutil.Process().children(recursive=True)}  # e.g. the session's services
    with embedded_services(Settings(data_dir=tmp_path)) as s:
        assert s.kafka_bootstrap and s.database_url
        host, port = s.kafka_bootstrap.split(":")
        admin = KafkaAdminClient(bootstrap_servers=s.kafka_bootstrap)
        admin.close()
        with psycopg.connect(s.database_url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        pg_port = int(s.database_url.rsplit(":", 1)[1].split("/")[0])
        children = [c for c in psutil.Process().children(recursive=True) if c.pid not in already]
        names = set()
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):  # short-lived postgres backends come and go
                names.add(child.name())
        assert "postgres" in names and any(n.startswith("tansu") for n in names), names
    assert not port_open(host, int(port))
    assert not port_open("127.0.0.1", pg_port)
    _, alive = psutil.wait_procs(children, timeout=5)
    assert alive == []
    assert list(tmp_path.iterdir()) == []


def test_configured_urls_start_nothing(services: Settings) -> None:
    # Direct children only: PostgreSQL forks backends and autovacuum workers under its postmaster.
    before = {c.pid for c in psutil.Process().children()}
    with embedded_services(services) as s:
        assert s.kafka_bootstrap == services.kafka_bootstrap and s.database_url == services.database_url
        after = {c.pid for c in psutil.Process().children()}
    assert after == before
