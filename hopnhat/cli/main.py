"""`hopnhat` command line: one group, one thin module per verb, errors mapped to exit codes here.

Exit codes: 0 ok, 1 failure, 2 bad configuration, 3 broker unavailable, 4 database unavailable,
5 an embedded service failed to start, 6 access denied (API key missing, revoked or
its role lacks the permission), 7 the API did not answer or is not ready (`hopnhat remote`),
130 interrupted. Tracebacks only with --debug.
"""

from __future__ import annotations

import logging
import sys

import click

from hopnhat.cli import (
    backup,
    connectors_cmd,
    demo,
    dlq,
    erase,
    explain,
    export,
    imap_poll,
    import_cmd,
    keys,
    migrate,
    normalise,
    quality,
    remote,
    replay,
    resolve,
    review,
    run,
    show_config,
    status,
    tail_cdr,
    unmerge,
    unsubscribe_headers,
)
from hopnhat.logs import setup_logging
from hopnhat.settings import load_settings
from schema.errors import HopnhatError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("--log-format", type=click.Choice(["json", "text"]), default=None,
              help="Log lines as JSON objects (default, HOPNHAT_LOG_FORMAT) or text; PII is masked in both.")
@click.version_option(package_name="hopnhat")
@click.pass_context
def cli(ctx: click.Context, debug: bool, log_format: str | None) -> None:
    """hopnhat - unify customer touchpoints from every channel into one golden record.

    \b
    Quick start:
      hopnhat demo               run the whole pipeline on a Vietnamese sample, print what it resolved
      hopnhat up                 embedded broker + PostgreSQL + API + worker, until Ctrl-C
    Production pieces (set HOPNHAT_KAFKA_BOOTSTRAP and HOPNHAT_DATABASE_URL):
      hopnhat migrate            create or upgrade the PostgreSQL schema
      hopnhat serve              webhook HTTP server
      hopnhat worker             stream worker (normalise + resolve)
      hopnhat imap-poll          new mail of one IMAP mailbox to raw.email (checkpointed)
      hopnhat tail-cdr /var/log/asterisk/cdr-csv/Master.csv --source pbx-hcm    new calls, live (checkpointed)
      hopnhat connectors list    every channel, its sources configured and the webhook URL of each
    Inspect one value:
      hopnhat normalise phone "0168.234.5678"    normalised form, match key, every flag and why
      hopnhat quality            data-quality scores per source and field
      hopnhat replay             rebuild a store from the raw topics (--from-beginning)
    Operate:
      hopnhat status             lag, events/s, DLQ depth, database, last events, quality; exit 1 if unhealthy
      hopnhat dlq list           dead letters and why (--topic --reason --since); `dlq show`, `dlq replay`
    Files:
      hopnhat import bulk leads.xlsx --mapping leads.yaml     contact lists, resumable, bad rows to dlq.ingest
    Identity resolution:
      hopnhat resolve            bulk resolution of every stored record (fuzzy matching, protection)
      hopnhat review list        pairs the engine would not decide alone; accept / reject
      hopnhat explain ID         why these records are one customer
      hopnhat unmerge ID --merge M    split a wrong merge; only that customer's records re-resolve
      hopnhat export clusters --out clusters.csv    source, source_record_id, customer_id
    Access:
      hopnhat keys create --role analyst --name BI     API keys with roles (docs/SECURITY.md)
    With an API key instead of database credentials (HOPNHAT_API_URL, HOPNHAT_API_KEY):
      hopnhat remote lookup 0912.345.678    also: search, profile, timeline, explain, status, erase
      hopnhat remote export profiles --out khach-hang.csv --masked    your role, masked and audited
    Operations:
      hopnhat backup --out DIR   the store and the worker group's offsets; `hopnhat restore DIR`
      hopnhat erase --identifier phone:0912345678    a person's PII out, their events kept out
      hopnhat unsubscribe-headers --email A --base-url https://...   List-Unsubscribe for one mail

    Settings come from HOPNHAT_* environment variables and the YAML file in HOPNHAT_CONFIG
    (default ./hopnhat.yaml); `hopnhat config show` prints what is in force.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    fmt, redact = log_format or "json", True
    try:
        settings = load_settings()
        fmt, redact = log_format or settings.log_format, settings.log_redact
    except HopnhatError:
        pass  # the command itself reports invalid settings; logging falls back to redacted JSON
    setup_logging(level=logging.DEBUG if debug else logging.WARNING, fmt=fmt, redact=redact)
    if not debug:
        logging.getLogger("kafka").setLevel(logging.ERROR)  # kafka-python is chatty about admin clients


cli.add_command(demo.demo)
cli.add_command(migrate.migrate_cmd)
cli.add_command(normalise.normalise)
cli.add_command(run.serve)
cli.add_command(run.worker)
cli.add_command(run.up)
cli.add_command(show_config.config)
cli.add_command(connectors_cmd.connectors)
cli.add_command(quality.quality)
cli.add_command(replay.replay)
cli.add_command(imap_poll.imap_poll)
cli.add_command(tail_cdr.tail_cdr)
cli.add_command(import_cmd.import_cmd)
cli.add_command(resolve.resolve)
cli.add_command(review.review)
cli.add_command(explain.explain)
cli.add_command(export.export)
cli.add_command(unmerge.unmerge)
cli.add_command(keys.keys)
cli.add_command(status.status)
cli.add_command(dlq.dlq)
cli.add_command(backup.backup_cmd)
cli.add_command(backup.restore_cmd)
cli.add_command(erase.erase)
cli.add_command(unsubscribe_headers.unsubscribe_headers_cmd)
cli.add_command(remote.remote)


def main(argv: list[str] | None = None) -> None:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="hopnhat", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except HopnhatError as exc:
        if debug:
            raise
        hint = f"\nhint: {exc.hint}" if exc.hint else ""
        click.echo(f"error: {exc}{hint}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
