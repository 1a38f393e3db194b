"""`hopnhat migrate`: create or upgrade the PostgreSQL schema."""

from __future__ import annotations

import json

import click

from hopnhat.settings import load_settings
from schema.errors import ConfigError


@click.command("migrate")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to upgrade to.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def migrate_cmd(revision: str, as_json: bool) -> None:
    """Upgrade the database in HOPNHAT_DATABASE_URL to the newest schema (idempotent)."""
    from hopnhat.migrate import migrate

    settings = load_settings()
    if not settings.database_url:
        raise ConfigError("HOPNHAT_DATABASE_URL is not set (looked in the environment and the config file); "
                          "`hopnhat demo` and `hopnhat up` start an embedded PostgreSQL instead")
    current = migrate(database_url=settings.database_url, revision=revision)
    if as_json:
        click.echo(json.dumps({"revision": current}))
    else:
        click.echo(f"database at revision {current}")
