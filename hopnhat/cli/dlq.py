"""`hopnhat dlq list|show|replay`: why records failed, and sending them through again after a fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from hopnhat.settings import Settings, load_settings
from schema.errors import ConfigError


def _filters(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--since", default=None, metavar="WHEN",
                     help="Only letters written since WHEN: 30m, 2h, 1d or an ISO time.")(f)
    f = click.option("--reason", default=None, help="Only this reason (e.g. invalid-envelope, store-rejected).")(f)
    f = click.option("--topic", default=None,
                     help="A DLQ topic (dlq.normalise, or just normalise) or an original topic (raw.zalo).")(f)
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(f)


def _settings() -> Settings:
    settings = load_settings()
    if not settings.kafka_bootstrap:
        raise ConfigError("HOPNHAT_KAFKA_BOOTSTRAP is not set (looked in the environment and the config file)")
    return settings


def _where(topic: str | None, reason: str | None, since: str | None) -> Any:
    from hopnhat.dlq import DlqFilter, parse_since

    return DlqFilter(topic=topic, reason=reason, since=parse_since(since) if since else None)


@click.group()
def dlq() -> None:
    """Dead letters: records a stage could not process, with stage, reason and the original offset.

    \b
      hopnhat dlq list --since 2h                     what failed lately, and why
      hopnhat dlq show dlq.normalise:0:12             one letter in full, with the original value
      hopnhat dlq replay --reason store-rejected --dry-run   what a replay would send, then without --dry-run
    Replay re-publishes each original record to its original topic; event ids are idempotency keys,
    so replaying twice, or a record stored meanwhile, stores it once. Letters stay in the DLQ topic.
    """


@dlq.command("list")
@_filters
def list_cmd(as_json: bool, topic: str | None, reason: str | None, since: str | None) -> None:
    """List dead letters (oldest first per DLQ topic) with where they came from and why they failed."""
    from hopnhat.dlq import list_dead_letters

    entries = list_dead_letters(settings=_settings(), where=_where(topic, reason, since))
    if as_json:
        click.echo(json.dumps([e.summary() for e in entries], ensure_ascii=False))
        return
    if not entries:
        click.echo("no dead letters")
        return
    click.echo(f"{'letter':<26} {'written (UTC)':<19} {'stage':<9} {'reason':<20} {'original':<28} error")
    for e in entries:
        letter = e.letter
        original = f"{letter.topic}:{letter.partition}:{letter.offset}"
        error = (f"{letter.field}: " if letter.field and not letter.error.startswith(letter.field) else "") + letter.error
        click.echo(f"{e.ref:<26} {letter.at:%Y-%m-%d %H:%M:%S} {letter.stage:<9} {letter.reason:<20} "
                   f"{original:<28} {error[:80]}")
    click.echo(f"{len(entries)} dead letter(s); `hopnhat dlq show <letter>` prints one in full")


@dlq.command("show")
@click.argument("letter")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_cmd(letter: str, as_json: bool) -> None:
    """Print one dead letter in full: LETTER is <dlq topic>:<partition>:<offset> as `dlq list` prints it."""
    from hopnhat.dlq import show_dead_letter

    entry = show_dead_letter(settings=_settings(), ref=letter)
    if as_json:
        click.echo(json.dumps(entry.as_dict(), ensure_ascii=False))
        return
    for k, v in entry.summary().items():
        click.echo(f"{k:<10} {v}")
    value: Any = entry.letter.value
    try:
        value = json.dumps(json.loads(value), ensure_ascii=False, indent=2)
    except ValueError:
        pass
    click.echo("value")
    click.echo(value)


@dlq.command("replay")
@_filters
@click.option("--dry-run", is_flag=True, help="Say what would be re-published; publish nothing.")
def replay_cmd(as_json: bool, topic: str | None, reason: str | None, since: str | None, dry_run: bool) -> None:
    """Re-publish the original record of each matching letter to its original topic, after a fix.

    The record is read back from its topic/partition/offset (or taken from the letter once retention
    removed it) and goes through normalise and resolve again; event ids make this idempotent.
    Ingest-stage letters (dlq.ingest: malformed webhook bodies, bad file rows) are not records: fix
    the source or file and send or import again.
    """
    from hopnhat.dlq import replay_dead_letters

    items = replay_dead_letters(settings=_settings(), where=_where(topic, reason, since), dry_run=dry_run)
    if as_json:
        click.echo(json.dumps([i.as_dict() for i in items], ensure_ascii=False))
        return
    for i in items:
        where = f" -> {i.target_topic}" if i.target_topic else ""
        new = f" at {i.published['partition']}:{i.published['offset']}" if i.published else ""
        detail = f"  ({i.detail})" if i.detail else ""
        click.echo(f"{i.status:<16} {i.dlq:<26} {i.stage}/{i.reason}{where}{new}{detail}")
    counts: dict[str, int] = {}
    for i in items:
        counts[i.status] = counts.get(i.status, 0) + 1
    click.echo(", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no dead letters matched")
