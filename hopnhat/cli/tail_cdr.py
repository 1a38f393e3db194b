"""`hopnhat tail-cdr PATH`: follow Asterisk's Master.csv and publish each new CDR (hopnhat/cdr_tailer.py)."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from pathlib import Path
from typing import Any

import click

from hopnhat.cli.import_cmd import load_mapping
from hopnhat.settings import load_settings
from schema.errors import ConfigError, HopnhatError


@click.command("tail-cdr")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", "source_id", default=None,
              help="The PBX's name in event ids and the checkpoint; default: the mapping's `source`, else "
                   "'default'. Use the same as for `hopnhat import asterisk_cdr`.")
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML options (timezone, usegmtime, trunk_prefixes ...; docs/connectors/asterisk_cdr.md).")
@click.option("--poll-s", "poll_s", type=click.FloatRange(0.05), default=1.0, show_default=True,
              help="Seconds between looks at the file.")
@click.option("--once", is_flag=True, help="Read to the current end of the file, then exit (cron, tests).")
@click.option("--wait-broker", "wait_broker_s", type=click.FloatRange(0), default=None,
              help="Seconds to wait out a broker or PostgreSQL outage before giving up (exit 3 or 4); "
                   "default: for ever when following, 120 with --once.")
@click.option("--ack-timeout", "ack_timeout_s", type=click.FloatRange(0.5), default=10.0, show_default=True,
              help="Seconds to wait for the broker to acknowledge a batch before treating it as down.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per pass that read something, and at exit.")
def tail_cdr(path: Path, source_id: str | None, mapping_path: Path | None, poll_s: float, once: bool,
             wait_broker_s: float | None, ack_timeout_s: float, as_json: bool) -> None:
    """Follow Asterisk's Master.csv at PATH and publish each new CDR line to raw.asterisk_cdr.

    \b
    Event ids are those of `hopnhat import asterisk_cdr` (a later import is a no-op when the file has
    a uniqueid column). The checkpoint {inode, offset} is saved in PostgreSQL only after the broker
    acknowledged; a restart resumes from it. A line still being written waits for its newline;
    rotation (a new inode) finishes the old file and starts the new one, truncation starts again
    from the top. Bad lines go to dlq.ingest with file and line. Ctrl-C or SIGTERM stops after the
    batch in flight.
    """
    from hopnhat.cdr_tailer import TailResult, tail_cdr as run_tail

    settings = load_settings()
    if not settings.kafka_bootstrap or not settings.database_url:
        raise ConfigError("HOPNHAT_KAFKA_BOOTSTRAP and HOPNHAT_DATABASE_URL must be set "
                          "(looked in the environment and the config file)")
    options = load_mapping(mapping_path)
    source = source_id or str(options.get("source") or "default")
    stop = threading.Event()

    def on_pass(result: TailResult) -> None:
        if not (result.lines or result.rotations or result.truncations):
            return
        if as_json:
            click.echo(json.dumps({"pass": True, **result.as_dict()}, ensure_ascii=False))
            return
        for problem in result.problems[:200]:
            click.echo(f"rejected {problem}", err=True)
        click.echo(_summary(result))

    def on_wait(exc: HopnhatError, delay: float) -> None:
        click.echo(f"{exc}\n  waiting {delay:.0f}s, then resuming from the checkpoint", err=True)

    async def run() -> Any:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run_tail(settings=settings, path=path, source_id=source, options=options, once=once,
                              poll_s=poll_s, stop=stop, ack_timeout_s=ack_timeout_s, on_pass=on_pass,
                              on_wait=on_wait,
                              wait_broker_s=wait_broker_s if wait_broker_s is not None or not once else 120.0)

    total = asyncio.run(run())
    if as_json:
        click.echo(json.dumps({"pass": False, **total.as_dict()}, ensure_ascii=False))
    else:
        click.echo(("stopped: " if stop.is_set() else "done: ") + _summary(total))


def _summary(result: Any) -> str:
    extra = "".join([f", {result.rotations} rotation(s)" if result.rotations else "",
                     f", {result.truncations} truncation(s)" if result.truncations else "",
                     f", resumed {result.resumes}x after outages" if result.resumes else ""])
    return (f"{result.lines} lines: {result.published} published, {result.rejected} rejected (dlq.ingest), "
            f"{result.ignored} skipped as not about a customer; at byte {result.offset} of inode "
            f"{result.inode}{extra}")
