"""Log lines are JSON objects with PII masked, whatever logger wrote them."""

import io
import json
import logging

import click
import pytest
from click.testing import CliRunner

from hopnhat.logs import setup_logging


@pytest.fixture
def root_handlers():
    """setup_logging replaces the root handlers (pytest's too): put them back afterwards."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in saved:
        root.addHandler(h)
    root.setLevel(level)


def _emit(fmt: str, redact: bool = True) -> str:
    out = io.StringIO()
    setup_logging(level=logging.INFO, fmt=fmt, redact=redact, stream=out)
    log = logging.getLogger("streams.normalise")
    log.warning("rejected %s from %s", "+84912345678", "lan.nguyen@gmail.com",
                extra={"channel": "webform", "topic": "raw.webform", "partition": 1, "offset": 4711,
                       "phone": "0912.345.678", "record": {"email": "Lan.Nguyen@Gmail.com", "ho_ten": "Nguyễn Thị Lan"}})
    return out.getvalue()


def test_json_line_masks_message_and_extra_fields(root_handlers) -> None:
    line = json.loads(_emit("json"))
    assert line["level"] == "warning" and line["logger"] == "streams.normalise" and line["ts"].endswith("+00:00")
    assert line["msg"] == "rejected +84 91* *** 678 from l***@gmail.com"
    assert (line["channel"], line["topic"], line["partition"], line["offset"]) == ("webform", "raw.webform", 1, 4711)
    assert line["phone"] == "091* *** 678"
    assert line["record"] == {"email": "L***@Gmail.com", "ho_ten": "Nguyễn Thị Lan"}


def test_text_format_is_masked_too_and_redaction_can_be_turned_off(root_handlers) -> None:
    text = _emit("text")
    assert "WARNING streams.normalise: rejected +84 91* *** 678 from l***@gmail.com" in text
    assert "912345678" not in text
    raw = json.loads(_emit("json", redact=False))
    assert raw["msg"] == "rejected +84912345678 from lan.nguyen@gmail.com" and raw["phone"] == "0912.345.678"


def test_tracebacks_are_masked(root_handlers) -> None:
    out = io.StringIO()
    setup_logging(level=logging.INFO, fmt="json", stream=out)
    try:
        raise ValueError("bad phone 0987654321 for thao@gmail.com")
    except ValueError:
        logging.getLogger("resolver").exception("resolve failed")
    line = json.loads(out.getvalue())
    assert "ValueError: bad phone 098* *** 321 for t***@gmail.com" in line["exc"]
    assert "0987654321" not in out.getvalue()


def test_the_cli_installs_json_logging_with_redaction(root_handlers, monkeypatch) -> None:
    from hopnhat.cli.main import cli

    @click.command("log-probe")
    def probe() -> None:
        logging.getLogger("hopnhat.probe").warning("khách 0912345678 gọi lại")

    monkeypatch.delenv("HOPNHAT_LOG_FORMAT", raising=False)
    cli.add_command(probe)
    try:
        result = CliRunner().invoke(cli, ["log-probe"])
        text = CliRunner().invoke(cli, ["--log-format", "text", "log-probe"])
    finally:
        cli.commands.pop("log-probe")
    assert json.loads(result.output.strip().splitlines()[-1])["msg"] == "khách 091* *** 678 gọi lại"
    assert text.output.strip().endswith("WARNING hopnhat.probe: khách 091* *** 678 gọi lại")
