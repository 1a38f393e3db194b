"""`hopnhat export profiles` on real PostgreSQL: every format read back, role checks, masking, audit."""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from hopnhat.access import create_key, revoke_key
from schema.events import CanonicalEvent, Identifier, IdentifierType, Interaction, NormalisedText
from streams.postgres_sink import PostgresSink

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
PEOPLE = [("Nguyễn Thị Lan", "+84912345671", "lan.nguyen@gmail.com"),
          ("Trần Văn Bình", "+84903217654", None),
          ("Lê Thị Thu Hà", None, "thuha.le@yahoo.com.vn")]


@pytest.fixture
def store(services, database_factory):
    url = database_factory()
    events = []
    for i, (name, phone, email) in enumerate(PEOPLE):
        idents = [Identifier(type=t, value=v, raw=v) for t, v in
                  ((IdentifierType.phone, phone), (IdentifierType.email, email)) if v]
        for visit in range(2):  # each person twice: one customer each, two interactions
            consent = {"consent_marketing": "true" if visit == 0 else "false"} if i == 0 else {}
            events.append(CanonicalEvent(attributes=consent,
                event_id=f"p{i}v{visit}", channel="webform", source="webform:lien-he", source_record_id=f"p{i}v{visit}",
                occurred_at=T0 + timedelta(minutes=i * 10 + visit), received_at=T0, identifiers=idents,
                name=NormalisedText(raw=name, value=name), interaction=Interaction(kind="form_submission")))

    async def load() -> None:
        sink = await PostgresSink.connect(url)
        await sink.apply(events)
        await sink.close()

    asyncio.run(load())
    return url


def hopnhat(url: str, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"HOPNHAT_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}
    if key:
        env["HOPNHAT_API_KEY"] = key
    return subprocess.run([sys.executable, "-m", "hopnhat.cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def read_back(path: Path, fmt: str) -> list[dict[str, object]]:
    if fmt == "csv":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
        with path.open(encoding="utf-8-sig", newline="") as f:
            return [dict(r) for r in csv.DictReader(f)]
    if fmt == "xlsx":
        from openpyxl import load_workbook

        rows = list(load_workbook(path, read_only=True)["profiles"].iter_rows(values_only=True))
        return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def _audit(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT key_id, role, action, query, fields FROM audit_log ORDER BY id").fetchall()


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_engineer_exports_every_live_customer_unmasked_and_it_is_audited(store, tmp_path, fmt) -> None:
    key = create_key(database_url=store, role="engineer", name="migration")
    out = tmp_path / f"profiles.{fmt}"
    r = hopnhat(store, "export", "profiles", "--format", fmt, "--out", str(out), "--json", key=key.key)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"file": str(out), "rows": 3, "format": fmt, "masked": False}
    rows = read_back(out, fmt)
    with psycopg.connect(store) as conn:
        live = {str(cid): p for cid, p in conn.execute("SELECT id, profile FROM customers WHERE merged_into IS NULL")}
    assert {r["customer_id"] for r in rows} == set(live)
    by_name = {r["full_name"]: r for r in rows}
    assert by_name["Nguyễn Thị Lan"]["phones"] == "+84912345671"
    assert by_name["Nguyễn Thị Lan"]["emails"] == "lan.nguyen@gmail.com"
    assert by_name["Nguyễn Thị Lan"]["identifiers"] == "email:lan.nguyen@gmail.com; phone:+84912345671"
    assert int(by_name["Trần Văn Bình"]["interactions"]) == 2  # type: ignore[arg-type]
    assert by_name["Nguyễn Thị Lan"]["consents"] == "webform/marketing=no"  # the later statement
    assert by_name["Trần Văn Bình"]["consents"] in ("", None)
    [(key_id, role, action, query, fields)] = _audit(store)
    assert (key_id, role, action) == (key.key_id, "engineer", "export")
    assert query == {"what": "profiles", "format": fmt, "masked": False, "rows": 3, "file": out.name, "via": "cli"}
    assert "phones" in fields and "emails" in fields


def test_analyst_exports_masked_only_and_roles_without_export_are_refused(store, tmp_path) -> None:
    analyst = create_key(database_url=store, role="analyst", name="BI")
    out = tmp_path / "p.csv"
    refused = hopnhat(store, "export", "profiles", "--out", str(out), key=analyst.key)
    assert refused.returncode == 6 and "may only export masked" in refused.stderr and "--masked" in refused.stderr
    assert not out.exists()
    masked = hopnhat(store, "export", "profiles", "--out", str(out), "--masked", key=analyst.key)
    assert masked.returncode == 0, masked.stderr
    text = out.read_text(encoding="utf-8-sig")
    assert "+84 91* *** 671" in text and "l***@gmail.com" in text and "Nguyễn Thị Lan" in text
    for raw in ("+84912345671", "912345671", "lan.nguyen@", "thuha.le@"):
        assert raw not in text
    agent = create_key(database_url=store, role="agent", name="CSKH")
    no_export = hopnhat(store, "export", "profiles", "--out", str(tmp_path / "a.csv"), "--masked", key=agent.key)
    assert no_export.returncode == 6 and "lacks the export permission" in no_export.stderr
    assert hopnhat(store, "export", "profiles", "--out", str(tmp_path / "b.csv")).returncode == 6  # no key
    revoke_key(database_url=store, key_id=analyst.key_id)
    assert hopnhat(store, "export", "profiles", "--out", str(tmp_path / "c.csv"), "--masked",
                   key=analyst.key).returncode == 6
    audit = _audit(store)
    assert [(a[1], a[2], a[3]["masked"]) for a in audit] == [("analyst", "export", True)]
    assert "phones" not in audit[0][4]  # nothing was exported unmasked
