"""docker-compose.yml is checked by parsing (no Docker engine runs here)."""

from pathlib import Path

import yaml

from hopnhat.settings import Settings

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def load() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_kafka_runs_in_kraft_mode_without_zookeeper() -> None:
    services = load()["services"]
    env = services["kafka"]["environment"]
    assert "controller" in env["KAFKA_PROCESS_ROLES"] and "broker" in env["KAFKA_PROCESS_ROLES"]
    assert "KAFKA_CONTROLLER_QUORUM_VOTERS" in env
    assert not any("zookeeper" in name.lower() for name in services)
    assert not any("ZOOKEEPER" in key for svc in services.values() for key in (svc.get("environment") or {}))


def test_hopnhat_services_are_wired_with_the_variables_the_code_reads() -> None:
    services = load()["services"]
    fields = {f"HOPNHAT_{name.upper()}" for name in Settings.model_fields}
    hopnhat = {name: svc for name, svc in services.items() if name.startswith("hopnhat")}
    assert {"hopnhat-api", "hopnhat-worker", "hopnhat-migrate"} <= set(hopnhat)
    for name, svc in hopnhat.items():
        env = svc["environment"]
        assert env["HOPNHAT_KAFKA_BOOTSTRAP"] == "kafka:9092", name
        assert env["HOPNHAT_DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["HOPNHAT_DATABASE_URL"]
        unknown = {k for k in env if k.startswith("HOPNHAT_")} - fields
        assert not unknown, f"{name} sets variables the code never reads: {unknown}"
        assert "kafka" in svc["depends_on"] and "postgres" in svc["depends_on"]
    assert "hopnhat serve" in " ".join(services["hopnhat-api"]["command"])
    assert "hopnhat worker" in " ".join(services["hopnhat-worker"]["command"])


def test_postgres_service_matches_the_database_url() -> None:
    services = load()["services"]
    pg = services["postgres"]["environment"]
    url = services["hopnhat-api"]["environment"]["HOPNHAT_DATABASE_URL"]
    assert url == f"postgresql://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}"
