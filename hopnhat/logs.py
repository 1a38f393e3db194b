"""Logging for every hopnhat process: JSON lines by default, PII redacted before anything is written.

One handler on the root logger (stderr). Each line is one JSON object: `ts` (UTC, ISO 8601),
`level`, `logger`, `msg`, the `extra={...}` fields a call passed (channel, topic, partition, offset,
event_id ...) and `exc` for a traceback. `--log-format text` (HOPNHAT_LOG_FORMAT=text) prints the
same records for a human at a terminal.

Redaction happens in a filter on the handler, so it covers every library's records too (uvicorn,
faust, aiokafka), whatever format is chosen: phones, emails and 12-digit national ids in the message
are masked with hopnhat/pii.py, and extra fields are masked by key and content. A log line is the
one place PII would otherwise leak without any access check, into files that live for months and are
shipped to third-party log stores. HOPNHAT_LOG_REDACT=false turns it off, for a developer's own
machine only.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from hopnhat.pii import mask_payload, redact_text

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class RedactPII(logging.Filter):
    """Masks PII in a record's message, arguments, extra fields and traceback, in place, once."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_pii_redacted", False):
            return True
        record.msg = redact_text(record.getMessage())
        record.args = None
        for key, value in extra_fields(record).items():
            if isinstance(value, str | dict | list | int) and not isinstance(value, bool):
                setattr(record, key, mask_payload(value, key))
        if record.exc_info:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        record._pii_redacted = True
        return True


class JsonLines(logging.Formatter):
    """One JSON object per record: ts, level, logger, msg, the extra fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            line.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def setup_logging(*, level: int | str = logging.WARNING, fmt: str = "json", redact: bool = True,
                  stream: TextIO | None = None) -> logging.Handler:
    """Replace the root logger's handlers with one stderr handler in `fmt`, redacting unless told not to."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonLines() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    if redact:
        handler.addFilter(RedactPII())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
