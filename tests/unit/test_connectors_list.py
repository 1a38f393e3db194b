"""`hopnhat connectors list`: every channel, the sources configured and where each listens."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from connectors import REGISTRY
from hopnhat.cli.main import cli


def test_json_lists_every_channel_with_its_configured_sources_and_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOPNHAT_SECRETS", json.dumps({"webform": {"lien-he": "bí-mật"},
                                                      "zalo": {"app-84:oa-1": "k1", "app-84:oa-2": "k2"}}))
    monkeypatch.setenv("HOPNHAT_HTTP_PORT", "8088")
    monkeypatch.setenv("HOPNHAT_TOPIC_PREFIX", "shop1.")
    result = CliRunner().invoke(cli, ["connectors", "list", "--json"])
    assert result.exit_code == 0, result.output
    by_channel = {c["channel"]: c for c in json.loads(result.output)}
    assert set(by_channel) == set(REGISTRY)
    assert by_channel["webform"]["endpoints"] == ["http://127.0.0.1:8088/webhooks/webform/lien-he"]
    assert by_channel["webform"]["topic"] == "shop1.raw.webform"
    assert by_channel["zalo"]["sources"] == ["app-84"]  # one app, its OAs' keys under it
    assert by_channel["kiotviet"]["malformed"] == "200 + dlq.ingest" and by_channel["kiotviet"]["endpoints"] == []
    assert by_channel["bulk"]["kinds"] == ["webhook", "file"] and by_channel["sapo"]["kinds"] == ["webhook"]
    assert "bí-mật" not in result.output and "k1" not in result.output  # secrets never printed


def test_human_output_says_how_to_configure_an_unconfigured_file_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOPNHAT_SECRETS", raising=False)
    result = CliRunner().invoke(cli, ["connectors", "list"])
    assert result.exit_code == 0, result.output
    assert "no source configured (files: hopnhat import asterisk_cdr FILE)" in result.output
