"""`hopnhat imap-poll`: publish new messages of one IMAP mailbox to raw.email (hopnhat/imap_poller.py)."""

from __future__ import annotations

import asyncio
import json

import click

from hopnhat.settings import load_settings
from schema.errors import ConfigError


@click.command("imap-poll")
@click.option("--once", is_flag=True, help="One pass, then exit (cron, tests).")
@click.option("--interval", "interval_s", type=float, default=None,
              help="Seconds between passes (HOPNHAT_IMAP_POLL_INTERVAL_S, default 60).")
@click.option("--json", "as_json", is_flag=True, help="Print each pass as a JSON line.")
def imap_poll(once: bool, interval_s: float | None, as_json: bool) -> None:
    """Poll HOPNHAT_IMAP_MAILBOX on HOPNHAT_IMAP_HOST (read-only) and publish new mail to raw.email.

    The checkpoint {uidvalidity, last_uid} is saved in PostgreSQL only after the broker acknowledged;
    a changed UIDVALIDITY reads the mailbox again (event ids make that a no-op downstream).
    """
    from hopnhat.imap_poller import poll

    settings = load_settings()
    if not settings.kafka_bootstrap or not settings.database_url:
        raise ConfigError("HOPNHAT_KAFKA_BOOTSTRAP and HOPNHAT_DATABASE_URL must be set "
                          "(looked in the environment and the config file)")
    for result in asyncio.run(poll(settings, once=once, interval_s=interval_s)):
        if as_json:
            click.echo(json.dumps({"uidvalidity": result.uidvalidity, "last_uid": result.last_uid,
                                   "published": result.published, "rejected": result.rejected,
                                   "restarted": result.restarted}))
        else:
            click.echo(f"published {result.published}, dead-lettered {result.rejected}, "
                       f"last uid {result.last_uid} (uidvalidity {result.uidvalidity})")
