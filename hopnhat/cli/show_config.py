"""`hopnhat config show`: the settings in force, secrets masked."""

from __future__ import annotations

import json

import click

from hopnhat.settings import config_file_path, load_settings


@click.group("config")
def config() -> None:
    """Inspect configuration."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def show(as_json: bool) -> None:
    """Print every setting in force (env vars > config file > defaults), secrets masked."""
    data = load_settings().masked()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    path = config_file_path()
    click.echo(f"# config file: {path if path else '(none)'}")
    for key, value in data.items():
        click.echo(f"{key}: {value}")
