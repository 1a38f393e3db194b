"""`hopnhat serve`, `hopnhat worker` and `hopnhat up`: the long-running processes."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click

from hopnhat.settings import load_settings
from schema.errors import ConfigError


def _require(value: str | None, var: str) -> str:
    if not value:
        raise ConfigError(f"{var} is not set (looked in the environment and the config file); "
                          "`hopnhat up` starts embedded services instead")
    return value


@click.command()
@click.option("--host", default=None, help="Listen address (HOPNHAT_HTTP_HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Listen port (HOPNHAT_HTTP_PORT, default 8080).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the webhook endpoints (POST /webhooks/{channel}/{source_id}), the profile API, /healthz,
    /readyz, /metrics (Prometheus) and /v1/status.

    The profile API needs an API key (`hopnhat keys create`) unless HOPNHAT_API_AUTH=off.
    """
    import uvicorn

    from hopnhat.http.app import create_app

    settings = load_settings()
    _require(settings.kafka_bootstrap, "HOPNHAT_KAFKA_BOOTSTRAP")
    # log_config=None: uvicorn's records go through the root handler (JSON, PII redacted; hopnhat/logs.py).
    uvicorn.run(create_app(settings), host=host or settings.http_host, port=port or settings.http_port,
                log_level="warning", access_log=False, log_config=None)


@click.command()
@click.option("--ready-file", type=click.Path(path_type=Path), default=None,
              help="Touch this file once partitions are assigned (for supervisors and tests).")
def worker(ready_file: Path | None) -> None:
    """Run a stream worker: normalise raw.* into events.canonical and resolve into PostgreSQL.

    Start several with the same HOPNHAT_APP_ID to share the partitions (one consumer group).
    Prometheus metrics on HOPNHAT_WORKER_METRICS_PORT (9464, or the next free port; 0 = off).
    """
    import faust

    from hopnhat.metrics import start_worker_metrics
    from hopnhat.migrate import current_revision, head_revision
    from streams.app import create_app
    from streams.topics import ensure_topics

    settings = load_settings()
    _require(settings.kafka_bootstrap, "HOPNHAT_KAFKA_BOOTSTRAP")
    database_url = _require(settings.database_url, "HOPNHAT_DATABASE_URL")
    if current_revision(database_url=database_url) != head_revision():
        raise ConfigError("the database schema is not current; run `hopnhat migrate` first")
    ensure_topics(settings)
    app = create_app(settings)
    metrics_port = start_worker_metrics(settings)
    if metrics_port is not None:
        click.echo(f"metrics    http://{settings.metrics_host}:{metrics_port}/metrics", err=True)
    if ready_file is not None:
        @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # faust's stub rejects async receivers
        async def _ready(sender: object, *args: object, signal: object = None, **kwargs: object) -> None:
            ready_file.touch()

    logging.getLogger().setLevel(settings.log_level.upper())
    logging.getLogger("faust").setLevel(logging.WARNING)
    # override_logging=False keeps the root handler `hopnhat` installed (JSON lines, PII redacted)
    # instead of mode's colour handler, which would print raw values.
    faust.Worker(app, loglevel=settings.log_level.lower(), quiet=True,
                 override_logging=False).execute_from_commandline()


@click.command()
@click.option("--workers", type=int, default=1, show_default=True, help="Stream workers to start.")
def up(workers: int) -> None:
    """Start everything (embedded broker and PostgreSQL unless configured), until Ctrl-C."""
    from hopnhat.embedded import embedded_services
    from hopnhat.migrate import migrate
    from hopnhat.processes import running_stack
    from streams.topics import ensure_topics

    with embedded_services(load_settings()) as settings:
        assert settings.database_url
        migrate(database_url=settings.database_url)
        ensure_topics(settings)
        with running_stack(settings, workers=workers) as children:
            click.echo(f"broker     {settings.kafka_bootstrap}")
            click.echo(f"postgres   {settings.database_url}")
            click.echo(f"webhooks   http://{settings.http_host}:{settings.http_port}/webhooks/{{channel}}/{{source}}")
            if settings.api_auth == "required":
                from hopnhat.access import create_key

                admin = create_key(database_url=settings.database_url, role="admin", name="hopnhat up")
                click.echo(f"api        http://{settings.http_host}:{settings.http_port}/v1/customers "
                           f"(Authorization: Bearer {admin.key})")
            click.echo(f"console    http://{settings.http_host}:{settings.http_port}/console")
            click.echo("Ctrl-C to stop")
            while all(c.alive() for c in children):
                time.sleep(0.5)
            dead = [c for c in children if not c.alive()]
            raise click.ClickException(f"{dead[0].name} exited:\n{dead[0].log_tail()}")
