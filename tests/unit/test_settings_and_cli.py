import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hopnhat.cli.main import cli, main
from hopnhat.settings import load_settings


def test_env_overrides_yaml_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "hopnhat.yaml"
    config.write_text("partitions: 8\nhttp_port: 9000\nsecrets:\n  webform:\n    lien-he: tu-file\n")
    monkeypatch.setenv("HOPNHAT_CONFIG", str(config))
    monkeypatch.setenv("HOPNHAT_HTTP_PORT", "9100")
    settings = load_settings()
    assert settings.partitions == 8 and settings.http_port == 9100
    assert settings.secret("webform", "lien-he").get_secret_value() == "tu-file"


def test_config_show_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOPNHAT_SECRETS", '{"webform": {"lien-he": "bi-mat"}}')
    result = CliRunner().invoke(cli, ["config", "show", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["secrets"] == {"webform": {"lien-he": "**********"}}
    assert "bi-mat" not in result.output


def test_invalid_setting_is_a_config_error_with_exit_code_2(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HOPNHAT_PARTITIONS", "not-a-number")
    with pytest.raises(SystemExit) as exit_info:
        main(["config", "show"])
    assert exit_info.value.code == 2
    assert "HOPNHAT_" in capsys.readouterr().err


def test_migrate_without_database_url_explains(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("HOPNHAT_DATABASE_URL", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["migrate"])
    assert exit_info.value.code == 2
    assert "HOPNHAT_DATABASE_URL" in capsys.readouterr().err


@pytest.mark.parametrize("verb", ["demo", "up", "serve", "worker", "migrate"])
def test_every_verb_has_help(verb: str) -> None:
    result = CliRunner().invoke(cli, [verb, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_email_webhooks_get_room_for_attachments_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.max_body_bytes == 256 * 1024
    assert settings.channel_max_body_bytes["email"] >= 30 * 1024 * 1024  # SendGrid's documented maximum
    monkeypatch.setenv("HOPNHAT_CHANNEL_MAX_BODY_BYTES", '{"email": 1048576}')
    assert load_settings().channel_max_body_bytes == {"email": 1048576}
