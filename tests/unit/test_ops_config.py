"""Prometheus and Grafana in docker-compose.yml: wired to every hopnhat process, dashboard well formed.

The check that every metric the dashboard queries is really exported by running processes is in
tests/integration/test_ops.py (it scrapes a real `hopnhat serve` and `hopnhat worker`); here the
dashboard is parsed and its metric names are checked against the declarations in hopnhat/metrics.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "hopnhat" / "ops"
DASHBOARD = OPS / "grafana" / "dashboards" / "hopnhat.json"
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def dashboard_exprs() -> list[str]:
    dash = json.loads(DASHBOARD.read_text())
    return [t["expr"] for panel in dash["panels"] for t in panel.get("targets", [])]


def dashboard_metric_names() -> set[str]:
    """Sample names (as they appear in /metrics output) used by every PromQL expression of the dashboard."""
    return {m for expr in dashboard_exprs() for m in re.findall(r"\bhopnhat_[a-z0-9_]+", expr)}


def family(sample: str) -> str:
    for suffix in SUFFIXES:
        if sample.endswith(suffix):
            return sample[: -len(suffix)]
    return sample


def test_every_panel_queries_hopnhat_metrics_only() -> None:
    exprs = dashboard_exprs()
    assert len(exprs) >= 10
    for expr in exprs:
        assert "hopnhat_" in expr, expr
        # anything that looks like a metric selector must be one of ours (no `up`, no node exporter)
        selectors = re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{|\[)", expr)
        assert all(s.startswith("hopnhat_") for s in selectors), (expr, selectors)


def test_dashboard_metrics_are_declared_in_hopnhat_metrics() -> None:
    from prometheus_client import REGISTRY

    import hopnhat.metrics as metrics

    declared = {f.name for f in REGISTRY.collect()} | {"hopnhat_consumer_lag", "hopnhat_dlq_depth"}
    assert metrics.LagCollector.describe  # the two gauges above come from it, measured on scrape
    missing = {family(m) for m in dashboard_metric_names()} - {family(d) for d in declared}
    assert not missing, missing


@pytest.mark.parametrize("required", ["hopnhat_webhook_responses_total", "hopnhat_events_in_total",
                                      "hopnhat_events_out_total", "hopnhat_dead_letters_total",
                                      "hopnhat_consumer_lag", "hopnhat_resolutions_total",
                                      "hopnhat_batch_size_bucket", "hopnhat_batch_duration_seconds_bucket",
                                      "hopnhat_dlq_depth"])
def test_dashboard_shows_each_figure_of_the_issue(required: str) -> None:
    assert required in dashboard_metric_names()


def test_compose_runs_prometheus_scraping_every_hopnhat_process_and_grafana_with_the_dashboard() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    prom = services["prometheus"]
    mounts = {m.split(":")[0]: m.split(":")[1] for m in prom["volumes"] if m.startswith("./")}
    config_path = ROOT / next(iter(mounts))  # the mounted prometheus.yml
    assert config_path.resolve() == (OPS / "prometheus.yml").resolve()
    assert mounts["./hopnhat/ops/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    config = yaml.safe_load(config_path.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}

    api = services["hopnhat-api"]
    api_port = api["ports"][0].split(":")[1]
    assert jobs["hopnhat-api"]["static_configs"][0]["targets"] == [f"hopnhat-api:{api_port}"]
    worker_env = services["hopnhat-worker"]["environment"]
    [sd] = jobs["hopnhat-worker"]["dns_sd_configs"]
    assert sd["names"] == ["hopnhat-worker"] and str(sd["port"]) == worker_env["HOPNHAT_WORKER_METRICS_PORT"]
    assert worker_env["HOPNHAT_METRICS_HOST"] == "0.0.0.0"
    scraped = {name for name in services if name.startswith("hopnhat") and name != "hopnhat-migrate"}
    assert scraped == set(jobs), "every long-running hopnhat service has a scrape job"

    grafana = services["grafana"]
    g_mounts = {m.split(":")[0]: m.split(":")[1] for m in grafana["volumes"]}
    for src in g_mounts:
        assert (ROOT / src).exists(), src
    provider = yaml.safe_load((OPS / "grafana/provisioning/dashboards/hopnhat.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == g_mounts["./hopnhat/ops/grafana/dashboards"]
    datasource = yaml.safe_load((OPS / "grafana/provisioning/datasources/prometheus.yml").read_text())
    [ds] = datasource["datasources"]
    assert ds["url"] == "http://prometheus:9090" and "9090:9090" in prom["ports"]
    dash = json.loads(DASHBOARD.read_text())
    uids = {t["datasource"]["uid"] for p in dash["panels"] for t in p["targets"]}
    assert uids == {ds["uid"]}
