"""The fault row "database down, profile API" of docs/RELIABILITY.md: with PostgreSQL unreachable the
API answers 503 DatabaseUnavailable with Retry-After (hopnhat/http/app.py), never a 500, and webhooks,
which need only the broker, are not affected by it."""

from __future__ import annotations

import socket

from fastapi.testclient import TestClient

from hopnhat.http.app import create_app
from hopnhat.settings import Settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again on exit: nothing listens there


def test_profile_api_answers_503_with_retry_after_while_postgresql_is_down() -> None:
    settings = Settings(database_url=f"postgresql://hopnhat@127.0.0.1:{_closed_port()}/hopnhat",
                        kafka_bootstrap="127.0.0.1:9", secrets={"webform": {"lien-he": "s"}})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        answer = client.get("/v1/customers/lookup", params={"type": "phone", "value": "0912345678"},
                            headers={"Authorization": "Bearer hn_" + "a" * 52})
        assert (answer.status_code, answer.json()["error"]) == (503, "DatabaseUnavailable")
        assert answer.headers["retry-after"] == "5"
        unsigned = client.post("/webhooks/webform/lien-he", content=b"{}", headers={"content-type": "application/json"})
        assert unsigned.status_code == 401  # the webhook path never waits on the database
