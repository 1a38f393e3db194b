"""`hopnhat keys create|list|revoke`: API keys for the profile API, the console, `hopnhat remote` and
`hopnhat export`.

Runs against HOPNHAT_DATABASE_URL directly (holding the database URL already means full access), so
it needs no key itself. Roles and permissions: docs/SECURITY.md.
"""

from __future__ import annotations

import json

import click

from hopnhat.access import ROLE_PERMISSIONS, Role
from hopnhat.settings import load_settings
from schema.errors import ConfigError


def _database_url() -> str:
    settings = load_settings()
    if not settings.database_url:
        raise ConfigError("HOPNHAT_DATABASE_URL is not set (looked in the environment and the config file); "
                          "`hopnhat up` prints the URL of its embedded PostgreSQL")
    return settings.database_url


def _roles_help() -> str:
    return "; ".join(f"{r.value}: {', '.join(sorted(p.value for p in ROLE_PERMISSIONS[r]))}" for r in Role)


@click.group("keys")
def keys() -> None:
    """Create, list and revoke API keys. Only a hash of each key is stored.

    \b
    hopnhat keys create --role analyst --name "BI dashboard"    prints the key once
    hopnhat keys list
    hopnhat keys revoke 3fq7k2xa                                 by the id `list` shows
    """


@keys.command("create")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True, help=_roles_help())
@click.option("--name", required=True, help="Who or what holds the key (shown in lists and the audit log).")
@click.option("--json", "as_json", is_flag=True, help="Print {key, key_id, name, role} as one JSON line.")
def create(role: str, name: str, as_json: bool) -> None:
    """Mint a key. It is printed once and cannot be shown again: store it in your secret manager."""
    from hopnhat.access import create_key

    new = create_key(database_url=_database_url(), role=role, name=name)
    if as_json:
        click.echo(json.dumps({"key": new.key, "key_id": new.key_id, "name": new.name, "role": new.role.value},
                              ensure_ascii=False))
    else:
        click.echo(f"{new.key}\n(id {new.key_id}, role {new.role.value}; shown once: store it now)")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def list_cmd(as_json: bool) -> None:
    """Every key ever created, revoked ones included (their ids stay in the audit log)."""
    from hopnhat.access import list_keys

    rows = list_keys(database_url=_database_url())
    if as_json:
        click.echo(json.dumps([{"key_id": k.key_id, "name": k.name, "role": k.role.value,
                                "created_at": k.created_at.isoformat(),
                                "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None} for k in rows],
                              ensure_ascii=False))
        return
    if not rows:
        click.echo("no keys yet: `hopnhat keys create --role admin --name you`")
        return
    click.echo(f"{'id':<10} {'role':<9} {'created':<17} {'state':<8} name")
    for k in rows:
        state = "revoked" if k.revoked_at else "live"
        click.echo(f"{k.key_id:<10} {k.role.value:<9} {k.created_at:%Y-%m-%d %H:%M} {state:<8} {k.name}")


@keys.command("revoke")
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Revoke a key by id; running servers refuse it within 10 seconds."""
    from hopnhat.access import revoke_key

    if not revoke_key(database_url=_database_url(), key_id=key_id):
        raise click.ClickException(f"no live key with id {key_id!r} (`hopnhat keys list`)")
    click.echo(f"revoked {key_id}")
