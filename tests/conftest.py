"""Shared fixtures: the real broker and PostgreSQL, started once per session, and factories.

With HOPNHAT_KAFKA_BOOTSTRAP / HOPNHAT_DATABASE_URL set the suite uses those services (the database
user needs CREATEDB); otherwise it starts the embedded Tansu broker and PostgreSQL. Each test that
needs state gets its own database (named after the test) and its own topic prefix, so tests never
share state and never skip for lack of an environment variable.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from hypothesis import settings as hypothesis_settings

from hopnhat.embedded import embedded_services
from hopnhat.settings import Settings, psycopg_url

# In CI, property tests draw the same examples every run, so a landing never hinges on a lucky draw;
# locally they keep exploring (and a failure found there becomes an explicit regression case).
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def services() -> Iterator[Settings]:
    with embedded_services(Settings()) as settings:
        yield settings


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(psycopg_url(url))
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture
def database_factory(services: Settings, request: pytest.FixtureRequest) -> Iterator[Callable[..., str]]:
    """Create fresh databases named after the test; migrated unless migrate=False. Dropped afterwards."""
    from hopnhat.migrate import migrate

    assert services.database_url
    admin_url = psycopg_url(services.database_url)
    created: list[str] = []

    def make(migrate_schema: bool = True) -> str:
        stem = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40]
        name = f"t_{stem}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        url = _with_database(admin_url, name)
        if migrate_schema:
            migrate(database_url=url)
        return url

    yield make
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def topic_prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}."


@pytest.fixture
def isolated_settings(services: Settings, database_factory: Callable[..., str], topic_prefix: str) -> Settings:
    """Settings pointing at the shared services but a fresh database, topic prefix and group id."""
    from hopnhat.embedded import free_port

    return services.model_copy(update={
        "database_url": database_factory(),
        "topic_prefix": topic_prefix,
        "app_id": f"hopnhat-{topic_prefix.rstrip('.')}",
        "http_port": free_port(),
        "partitions": 2,
    })
