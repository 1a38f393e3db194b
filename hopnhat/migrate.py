"""`hopnhat migrate`: bring a database to the newest schema with Alembic (schema/migrations/)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

import schema
from hopnhat.settings import sqlalchemy_url

MIGRATIONS_DIR = Path(schema.__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return cfg


def migrate(*, database_url: str, revision: str = "head") -> str:
    """Upgrade to `revision`; return the revision now current."""
    cfg = alembic_config(database_url)
    command.upgrade(cfg, revision)
    return current_revision(database_url=database_url) or ""


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("postgresql://x/y")).get_current_head()
    assert head is not None
    return head


def current_revision(*, database_url: str) -> str | None:
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
