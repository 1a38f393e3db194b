import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from hopnhat.migrate import current_revision, head_revision, migrate
from hopnhat.settings import sqlalchemy_url
from schema.tables import Base

pytestmark = pytest.mark.integration


def test_migrations_create_exactly_the_models(database_factory) -> None:
    url = database_factory(migrate_schema=False)
    assert current_revision(database_url=url) is None
    assert migrate(database_url=url) == head_revision()
    assert migrate(database_url=url) == head_revision()  # idempotent
    engine = create_engine(sqlalchemy_url(url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations drifted: {diff}"


def test_checkpoints_round_trip(database_factory) -> None:
    from hopnhat.checkpoints import load_checkpoint, save_checkpoint

    url = database_factory()
    assert load_checkpoint(url, "imap:cskh@shop.vn") is None
    save_checkpoint(url, "imap:cskh@shop.vn", {"uidvalidity": 7, "last_uid": 120})
    save_checkpoint(url, "imap:cskh@shop.vn", {"uidvalidity": 7, "last_uid": 180})
    assert load_checkpoint(url, "imap:cskh@shop.vn") == {"uidvalidity": 7, "last_uid": 180}
