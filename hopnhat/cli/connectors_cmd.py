"""`hopnhat connectors list [--json]`: every channel, what is configured for it, and where it listens."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import click

from connectors import REGISTRY, load_connector
from connectors.tabular import FileConnector
from hopnhat.settings import Settings, load_settings


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    channel: str
    topic: str
    kinds: list[str]  # webhook, file
    auth: str  # how a delivery proves its source
    sources: list[str]  # source ids with a secret configured
    endpoints: list[str]  # webhook URLs of the configured sources
    malformed: str  # what a malformed delivery is answered


def channel_info(settings: Settings, channel: str) -> ChannelInfo:
    connector = load_connector(channel)
    by_source = settings.secrets.get(channel, {})
    sources = sorted({key.split(":", 1)[0] for key in by_source})  # Zalo keys OAs as <app>:<oa>
    base = f"http://{settings.http_host}:{settings.http_port}"
    auth = f"{connector.signature_header} header"
    if connector.url_token_param:
        auth = f"?{connector.url_token_param}= token in the URL, or the {connector.signature_header} header"
    return ChannelInfo(
        channel=channel, topic=settings.topic(connector.topic()),
        kinds=["webhook", "file"] if isinstance(connector, FileConnector) else ["webhook"], auth=auth,
        sources=sources, endpoints=[f"{base}/webhooks/{channel}/{source}" for source in sources],
        malformed="200 + dlq.ingest" if connector.dead_letter_malformed else "400 naming the field")


@click.group("connectors")
def connectors() -> None:
    """Inspect the channels hopnhat can take in."""


@connectors.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
def list_cmd(as_json: bool) -> None:
    """Every channel: its topic, webhook and/or file import, how deliveries are authenticated, the
    sources configured (a secret in HOPNHAT_SECRETS or the config file) and their webhook URLs.

    \b
    Configure a source: HOPNHAT_SECRETS='{"webform": {"lien-he": "<secret>"}}' (or `secrets:` in
    hopnhat.yaml); file channels are imported with `hopnhat import <channel> FILE`.
    """
    settings = load_settings()
    infos = [channel_info(settings, channel) for channel in sorted(REGISTRY)]
    if as_json:
        click.echo(json.dumps([asdict(i) for i in infos], ensure_ascii=False))
        return
    for info in infos:
        how = " + ".join(info.kinds)
        click.echo(f"{info.channel:<14} {how:<15} -> {info.topic}   auth: {info.auth}; malformed: {info.malformed}")
        if not info.endpoints:
            click.echo("    no source configured" + ("" if "file" not in info.kinds
                                                     else f" (files: hopnhat import {info.channel} FILE)"))
        for endpoint in info.endpoints:
            click.echo(f"    POST {endpoint}")
