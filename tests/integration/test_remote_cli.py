"""`hopnhat remote ...` against a real `hopnhat serve` process and real PostgreSQL.

The CLI runs as a subprocess with HOPNHAT_API_URL and HOPNHAT_API_KEY only, never the database URL,
as an analyst or a CSKH agent would on a laptop: what it prints and the audit rows the server writes
are what is asserted.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from hopnhat.access import create_key, revoke_key
from hopnhat.embedded import free_port
from schema.contact import RawContact
from streams.postgres_sink import PostgresSink

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
# Nguyễn Thị Lan wrote in from the web form, then bought at the Quận 1 store with her number written
# another way, then mailed: one customer. Trần Văn Bình is someone else.
CONTACTS = [
    ("w1", 1, "webform", "Nguyễn Thị Lan", ["0912.345.678"], [], "12 Lê Lợi, Phường Bến Nghé, TP. Hồ Chí Minh",
     "Chị Lan hỏi giá máy lọc nước, gọi lại 0912.345.678", None),
    ("p1", 30, "pos", "NGUYEN THI LAN", ["+84 912 345 678"], ["Lan.Nguyen@Gmail.com"], None,
     "Mua máy lọc nước Karofi tại CH Quận 1", 7_490_000),
    ("e1", 60, "email", "Nguyễn Thị Lan", [], ["lan.nguyen@gmail.com"], None, "Hỏi bảo hành", None),
    ("w2", 5, "webform", "Trần Văn Bình", ["0903 217 654"], [], "5 Trần Phú, Hà Đông, Hà Nội", "Đăng ký tư vấn",
     None),
]
LAN_PHONE, LAN_MASKED = "+84912345678", "+84 91* *** 678"


def _events() -> list:
    from resolver.normalise import canonical_event

    return [canonical_event(RawContact(
        channel=channel, source=f"{channel}:cua-hang", source_record_id=rid, occurred_at=T0 + timedelta(minutes=m),
        received_at=T0, interaction_kind="order" if amount else "form_submission", name=name, phones=phones,
        emails=emails, address=address, summary=summary, amount_vnd=amount), f"ev-{rid}")
        for rid, m, channel, name, phones, emails, address, summary, amount in CONTACTS]


@pytest.fixture
def server(services, database_factory, tmp_path) -> Iterator[tuple[str, str]]:
    """(API URL, database URL) of a `hopnhat serve` process over a store holding CONTACTS."""
    url = database_factory()

    async def load() -> None:
        sink = await PostgresSink.connect(url)
        for event in _events():  # one at a time, in order: the later records link to the first
            await sink.apply([event])
        await sink.close()

    asyncio.run(load())
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO),
           "HOPNHAT_DATABASE_URL": url, "HOPNHAT_KAFKA_BOOTSTRAP": services.kafka_bootstrap or "",
           "HOPNHAT_HTTP_PORT": str(port), "HOPNHAT_TOPIC_PREFIX": f"remote{port}."}
    proc = subprocess.Popen([sys.executable, "-m", "hopnhat.cli.main", "serve"], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    api = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{api}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"hopnhat serve did not start: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.2)
        yield api, url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def remote(server, tmp_path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `hopnhat remote ARGS` as a laptop would: API URL and key, no database URL, no config file."""
    api, _ = server

    def run(*args: str, key: str | None, api_url: str | None = api) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), "COLUMNS": "120"}
        if api_url:
            env["HOPNHAT_API_URL"] = api_url
        if key:
            env["HOPNHAT_API_KEY"] = key
        return subprocess.run([sys.executable, "-m", "hopnhat.cli.main", "remote", *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)

    return run


def _audit(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT key_id, role, action, customer_id::text, query, fields FROM audit_log ORDER BY id"
                            ).fetchall()


def test_analyst_sees_masked_phones_pages_the_timeline_and_leaves_no_pii_read(server, remote) -> None:
    _, url = server
    key = create_key(database_url=url, role="analyst", name="Phòng BI").key
    shown = remote("lookup", "0912.345.678", key=key)
    assert shown.returncode == 0, shown.stderr
    assert LAN_MASKED in shown.stdout and "Nguyễn Thị Lan" in shown.stdout and "l***@gmail.com" in shown.stdout
    assert "912345678" not in shown.stdout and "912.345.678" not in shown.stdout and key not in shown.stdout

    found = json.loads(remote("lookup", "email:LAN.NGUYEN@gmail.com", "--json", key=key).stdout)
    assert [p["value"] for p in found["profile"]["phones"]] == [LAN_MASKED]
    assert found["profile"]["addresses"][0]["value"].startswith("***, ")
    cid = found["customer_id"]

    hits = json.loads(remote("search", "nguyen thi lan", "--province", "Sài Gòn", "--json", key=key).stdout)
    assert [(h["customer_id"], h["phones"]) for h in hits["hits"]] == [(cid, [LAN_MASKED])]
    assert hits["province_code"] == "79"

    first = json.loads(remote("timeline", cid, "--limit", "2", "--json", key=key).stdout)
    assert [i["channel"] for i in first["items"]] == ["email", "pos"]
    rest = json.loads(remote("timeline", cid, "--limit", "2", "--cursor", first["next_cursor"], "--json", key=key
                             ).stdout)
    assert [i["channel"] for i in rest["items"]] == ["webform"] and rest["next_cursor"] is None
    assert rest["items"][0]["summary"] == "Chị Lan hỏi giá máy lọc nước, gọi lại 091* *** 678"

    table = remote("timeline", cid, "--limit", "2", key=key)
    assert table.returncode == 0 and "7,490,000" in table.stdout
    assert f"--cursor {first['next_cursor']}" in table.stdout  # the command for the next page, ready to paste
    assert _audit(url) == []  # masked reads are not PII reads


def test_admin_sees_the_number_and_every_unmasked_read_is_audited(server, remote) -> None:
    _, url = server
    admin = create_key(database_url=url, role="admin", name="Trưởng nhóm CSKH")
    shown = remote("lookup", "+84 912 345 678", key=admin.key)
    assert shown.returncode == 0, shown.stderr
    assert LAN_PHONE in shown.stdout and "lan.nguyen@gmail.com" in shown.stdout
    shown_by_id = remote("profile", "--json", _lookup_id(remote, admin.key), key=admin.key)
    cid = json.loads(shown_by_id.stdout)["customer_id"]
    why = json.loads(remote("explain", cid, "--json", key=admin.key).stdout)
    assert {r["source_record_id"] for r in why["records"]} == {"w1", "p1", "e1"}
    rows = _audit(url)
    assert [(r[0], r[1], r[2], r[4]["route"]) for r in rows] == [
        (admin.key_id, "admin", "read_pii", "lookup"), (admin.key_id, "admin", "read_pii", "lookup"),
        (admin.key_id, "admin", "read_pii", "profile"), (admin.key_id, "admin", "read_pii", "explain")]
    assert {r[3] for r in rows} == {cid}
    assert rows[0][4]["identifier"] == f"phone:{LAN_MASKED}"  # the audit log holds no raw number
    health = remote("status", "--json", key=admin.key)
    assert health.returncode == (0 if json.loads(health.stdout)["healthy"] else 1)
    assert json.loads(health.stdout)["database"]["customers"] == 2

    nowhere = remote("export", "profiles", "--masked", "--out", "/khong-co-thu-muc-nay/kh.csv", key=admin.key)
    assert nowhere.returncode == 2 and "cannot write /khong-co-thu-muc-nay/kh.csv" in nowhere.stderr
    assert "export" not in {r[2] for r in _audit(url)}  # refused before asking the server


def _lookup_id(remote, key: str) -> str:
    return json.loads(remote("lookup", "0912345678", "--json", key=key).stdout)["customer_id"]


def test_export_over_http_writes_a_readable_csv_and_an_audit_row(server, remote, tmp_path) -> None:
    _, url = server
    analyst = create_key(database_url=url, role="analyst", name="Phòng BI")
    out = tmp_path / "khach-hang.csv"
    refused = remote("export", "profiles", "--out", str(out), key=analyst.key)
    assert refused.returncode == 6
    assert "role analyst may only export masked data" in refused.stderr and "hint: add --masked" in refused.stderr
    assert not out.exists()

    done = remote("export", "profiles", "--out", str(out), "--masked", "--json", key=analyst.key)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"file": str(out), "bytes": out.stat().st_size, "format": "csv",
                                       "masked": True}
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel shows the diacritics
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = {r["full_name"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"Nguyễn Thị Lan", "Trần Văn Bình"}
    assert rows["Nguyễn Thị Lan"]["phones"] == LAN_MASKED and rows["Trần Văn Bình"]["phones"] == "+84 90* *** 654"
    assert "912345678" not in out.read_text(encoding="utf-8-sig")
    assert not list(tmp_path.glob("*.partial"))
    [(key_id, role, action, _, query, fields)] = _audit(url)
    assert (key_id, role, action) == (analyst.key_id, "analyst", "export")
    assert query["via"] == "http" and query["masked"] is True and query["rows"] == 2 and query["format"] == "csv"
    assert "phones" not in fields  # the columns written unmasked


def test_agent_cannot_export_or_see_stream_health(server, remote, tmp_path) -> None:
    _, url = server
    agent = create_key(database_url=url, role="agent", name="Tổng đài viên 07").key
    out = tmp_path / "khach-hang.csv"
    refused = remote("export", "profiles", "--out", str(out), "--masked", key=agent)
    assert refused.returncode == 6
    assert "error: role agent lacks the export permission (GET /v1/exports/profiles)" in refused.stderr
    assert "docs/SECURITY.md" in refused.stderr and not out.exists()
    health = remote("status", key=agent)
    assert health.returncode == 6 and "role agent lacks the ops permission" in health.stderr
    assert remote("lookup", "0912.345.678", key=agent).returncode == 0  # looking a caller up is its job
    assert [r[2] for r in _audit(url)] == ["read_pii"]


def test_wrong_key_unreachable_api_and_missing_url_say_what_to_do(server, remote) -> None:
    api, url = server
    unknown = "hn_" + "a" * 52
    bad = remote("lookup", "0912.345.678", key=unknown)
    assert bad.returncode == 6
    assert f"the API key was rejected (unknown API key) by {api}" in bad.stderr
    assert "hopnhat keys create --role analyst" in bad.stderr and unknown not in bad.stderr + bad.stdout

    revoked = create_key(database_url=url, role="analyst", name="nhân viên đã nghỉ")
    revoke_key(database_url=url, key_id=revoked.key_id)
    gone = remote("search", "lan", key=revoked.key)
    assert gone.returncode == 6 and f"API key {revoked.key_id} was revoked" in gone.stderr

    none = remote("search", "lan", key=None)
    assert none.returncode == 6 and "no API key was sent" in none.stderr and "HOPNHAT_API_KEY" in none.stderr

    closed = f"http://127.0.0.1:{free_port()}"
    down = remote("lookup", "0912.345.678", key=revoked.key, api_url=closed)
    assert down.returncode == 7
    assert f"could not reach the hopnhat API at {closed}" in down.stderr and "connection refused" in down.stderr
    assert "HOPNHAT_API_URL" in down.stderr

    unset = remote("lookup", "0912.345.678", key=revoked.key, api_url=None)
    assert unset.returncode == 2 and "HOPNHAT_API_URL" in unset.stderr

    missing = remote("lookup", "0987 000 111", key=create_key(database_url=url, role="agent", name="x").key)
    assert missing.returncode == 1 and "no customer with phone +84987000111" in missing.stderr


def test_admin_erases_through_the_api(server, remote) -> None:
    _, url = server
    admin = create_key(database_url=url, role="admin", name="DPO").key
    analyst = create_key(database_url=url, role="analyst", name="Phòng BI").key
    assert remote("erase", "--identifier", "phone:0903217654", "--yes", key=analyst).returncode == 6
    done = remote("erase", "--identifier", "phone:0903217654", "--yes", "--json", key=admin)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["identifiers"] == 1
    assert remote("lookup", "0903 217 654", key=admin).returncode == 1
    assert "erase" in [r[2] for r in _audit(url)]
