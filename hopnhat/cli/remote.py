"""`hopnhat remote ...`: the profile API from a laptop, with your own API key and no database URL.

Every other command talks to PostgreSQL with HOPNHAT_DATABASE_URL, which is full access. These talk
to a running `hopnhat serve` (HOPNHAT_API_URL) with a key (HOPNHAT_API_KEY), so the key's role
decides: an analyst sees `+84 91* *** 678`, an agent sees the number and an audit row records it,
an agent's export is refused. The HTTP calls and their errors live in hopnhat/api_client.py; this
module parses arguments and renders (rich tables, or one JSON object per command with --json).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import click

from hopnhat.api_client import API_URL_HINT, ApiClient, RequestRefused
from hopnhat.settings import load_settings
from schema.errors import ConfigError
from schema.events import IdentifierType

JSON_HELP = "Print the API's answer as one JSON object (for scripts)."
_PHONE_LIKE = re.compile(r"^\+?[\d\s.()\-]{8,}$")


def parse_lookup(text: str) -> tuple[str, str]:
    """`phone:0912.345.678` -> ("phone", "0912.345.678"); a bare phone or email is recognised as such.

    Only the type is decided here; the server normalises the value (any local phone format, any
    email case), so the CLI and the API never disagree on what a number is."""
    kind, sep, value = text.partition(":")
    if sep and kind.strip() in IdentifierType.__members__:
        if not value.strip():
            raise RequestRefused(f"{kind}: nothing after the colon")
        return kind.strip(), value.strip()
    if "@" in text and not sep:
        return IdentifierType.email.value, text.strip()
    if _PHONE_LIKE.match(text.strip()):
        return IdentifierType.phone.value, text.strip()
    types = ", ".join(IdentifierType.__members__)
    raise RequestRefused(f"{text!r}: write it as type:value (types: {types}), e.g. zalo:4318...; "
                         "a bare phone number or email needs no type; to find someone by name: "
                         "hopnhat remote search NAME")


def client_from(ctx: click.Context) -> ApiClient:
    """The client for the group's --api-url/--api-key, else HOPNHAT_API_URL/KEY or the settings file."""
    opts: dict[str, Any] = ctx.find_root().obj.get("remote", {})
    settings = load_settings()
    url = opts.get("api_url") or settings.api_url
    if not url:
        raise ConfigError(f"no API URL: looked in --api-url, HOPNHAT_API_URL and api_url in the settings file; "
                          f"{API_URL_HINT}")
    key = opts.get("api_key") or settings.api_key_value()
    return ApiClient(url, key)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


@click.group("remote")
@click.option("--api-url", default=None, metavar="URL",
              help="The hopnhat API, e.g. http://crm.noi-bo:8080 (or HOPNHAT_API_URL, or api_url in the "
                   "settings file).")
@click.option("--api-key", default=None, metavar="KEY",
              help="Your key hn_... (better: HOPNHAT_API_KEY or api_key in the settings file, which stay out of "
                   "shell history). Never printed.")
@click.pass_context
def remote(ctx: click.Context, api_url: str | None, api_key: str | None) -> None:
    """Look customers up, export and erase through the HTTP API, with your own key's role.

    \b
    For people who have an API key but no database credentials (analysts, CSKH agents):
      export HOPNHAT_API_URL=http://crm.noi-bo:8080 HOPNHAT_API_KEY=hn_...
      hopnhat remote lookup 0912.345.678          any phone format, an email, or type:value (zalo:...)
      hopnhat remote search "nguyen thi lan" --province HCM
      hopnhat remote profile ID | timeline ID | explain ID
      hopnhat remote export profiles --format xlsx --out khach-hang.xlsx --masked
      hopnhat remote status                       needs the ops permission
      hopnhat remote erase --identifier phone:0912345678     admin only
    The server masks what your role may not see and writes the audit rows (docs/SECURITY.md).
    Exit codes: 0 ok, 1 not found or failed, 2 bad setting or value, 6 key rejected (401) or role
    lacks the permission (403), 7 API unreachable or not ready (503).
    """
    root = ctx.find_root()
    root.ensure_object(dict)
    root.obj["remote"] = {"api_url": api_url, "api_key": api_key}


@remote.command("lookup")
@click.argument("identifier", metavar="IDENTIFIER")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def lookup(ctx: click.Context, identifier: str, as_json: bool) -> None:
    """The customer holding IDENTIFIER: `0912.345.678`, `+84 912 345 678`, `lan@gmail.com`, `zalo:...`."""
    kind, value = parse_lookup(identifier)
    with client_from(ctx) as api:
        out = api.lookup(type=kind, value=value)
    _echo_json(out) if as_json else _print_profile(out)


@remote.command("profile")
@click.argument("customer_id")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def profile(ctx: click.Context, customer_id: str, as_json: bool) -> None:
    """The golden record of CUSTOMER_ID (a merged-away id shows the customer it became)."""
    with client_from(ctx) as api:
        out = api.profile(customer_id)
    _echo_json(out) if as_json else _print_profile(out)


@remote.command("timeline")
@click.argument("customer_id")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True, help="Interactions per page.")
@click.option("--cursor", default=None, help="The next_cursor of the previous page (older interactions).")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def timeline(ctx: click.Context, customer_id: str, limit: int, cursor: str | None, as_json: bool) -> None:
    """Interactions of CUSTOMER_ID across channels, newest first, one page at a time."""
    with client_from(ctx) as api:
        page = api.timeline(customer_id, limit=limit, cursor=cursor)
    if as_json:
        _echo_json(page)
        return
    from rich.table import Table

    table = Table(title=f"timeline of {page['customer_id']}", title_justify="left")
    for col in ("when (UTC)", "channel", "kind", "summary", "VND"):
        table.add_column(col, justify="right" if col == "VND" else "left", overflow="fold")
    for item in page["items"]:
        amount = item.get("amount_vnd")
        table.add_row(item["occurred_at"][:19].replace("T", " "), item["channel"], item["kind"],
                      item.get("summary") or "", f"{amount:,}" if amount is not None else "")
    _console().print(table)
    if page.get("next_cursor"):
        click.echo(f"older: hopnhat remote timeline {page['customer_id']} --limit {limit} "
                   f"--cursor {page['next_cursor']}")


@remote.command("search")
@click.argument("name")
@click.option("--province", default=None, help="Any spelling: HCM, Hà Nội, ha noi, Đà Nẵng ...")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def search(ctx: click.Context, name: str, province: str | None, limit: int, as_json: bool) -> None:
    """Customers whose name has every word of NAME (diacritics and case ignored), most recent first."""
    with client_from(ctx) as api:
        out = api.search(name=name, province=province, limit=limit)
    if as_json:
        _echo_json(out)
        return
    if not out["hits"]:
        click.echo(f"nobody named {name!r}" + (f" in {out['province_code']}" if out.get("province_code") else ""))
        return
    from rich.table import Table

    table = Table(title_justify="left")
    table.add_column("customer_id", no_wrap=True)  # copied into `remote profile ID`: never split
    for col in ("name", "province", "phones", "emails", "last seen (UTC)"):
        table.add_column(col, overflow="fold")
    for h in out["hits"]:
        table.add_row(h["customer_id"], h.get("full_name") or "", h.get("province_code") or "",
                      ", ".join(h["phones"]), ", ".join(h["emails"]), h["last_seen"][:16].replace("T", " "))
    _console().print(table)


@remote.command("explain")
@click.argument("customer_id")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def explain(ctx: click.Context, customer_id: str, as_json: bool) -> None:
    """Why these records are one customer: the rule that linked each record, every merge's evidence."""
    with client_from(ctx) as api:
        out = api.explain(customer_id)
    if as_json:
        _echo_json(out)
        return
    click.echo(f"customer {out['customer_id']}: {len(out['records'])} source records")
    for r in out["records"]:
        via = f" ({r['identifier']})" if r.get("identifier") else ""
        record = f"{r['source']}|{r['source_record_id']}"
        click.echo(f"  {record:<40} {r['channel']:<10} {r['rule']}{via}")
    for m in out["merges"]:
        click.echo(f"  merge: absorbed {m['absorbed']} by {m['reason']} at {m['at'][:19]}")
        fields = (m.get("evidence") or {}).get("fields") or {}
        for fname, f in fields.items():
            click.echo(f"    {fname:<11} {f.get('meaning', ''):<38} {f.get('weight', 0):+.2f}")


@remote.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print GET /v1/status as it came.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """The server's `hopnhat status` report (needs the ops permission); exit 1 when unhealthy."""
    from hopnhat.cli.status import render
    from hopnhat.status import report_from_dict

    with client_from(ctx) as api:
        out = api.status()
    if as_json:
        _echo_json(out)
    else:
        _console().print(render(report_from_dict(out)))
    if not out.get("healthy", False):
        raise SystemExit(1)


@remote.command("erase")
@click.option("--identifier", required=True, metavar="TYPE:VALUE",
              help="Any identifier of the person: phone:0912345678, email:lan@gmail.com, zalo:<app>:<user> ...")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@click.pass_context
def erase(ctx: click.Context, identifier: str, yes: bool, as_json: bool) -> None:
    """Erase a person's PII (POST /v1/erasures; admin keys only). Irreversible: see `hopnhat erase --help`."""
    from hopnhat.pii import mask_identifier

    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("erase is irreversible; pass --yes when not at a terminal")
        click.confirm(f"Erase the customer holding {mask_identifier(identifier)}? This cannot be undone",
                      abort=True)
    with client_from(ctx) as api:
        report = api.erase(identifier=identifier)
    if as_json:
        _echo_json(report)
        return
    click.echo(f"erased customer {report['customer_id']} ({len(report['customer_ids'])} ids): "
               f"{report['identifiers']} identifiers now suppressed, {report['interactions']} interactions and "
               f"{report['source_records']} source records emptied")


@remote.group("export")
def export() -> None:
    """Download files from the API (GET /v1/exports/...)."""


@export.command("profiles")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "parquet"]), default="csv", show_default=True,
              help="csv (UTF-8 with BOM, opens in Excel), xlsx, or parquet (the server needs pyarrow).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="File to write (written as OUT.partial, renamed when complete).")
@click.option("--masked", is_flag=True, help="Mask phones, emails, addresses and identifiers (+84 91* *** 678).")
@click.option("--json", "as_json", is_flag=True, help="Print {file, bytes, format, masked} as one JSON line.")
@click.pass_context
def export_profiles(ctx: click.Context, fmt: str, out_path: Path, masked: bool, as_json: bool) -> None:
    """Every live golden record, as `hopnhat export profiles` writes it, downloaded with a progress bar.

    The key's role needs `export`, and `pii` unless --masked (an analyst exports --masked only).
    The server records the export in the audit log with your key id.
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from hopnhat.access import AccessDenied

    show_bar = not as_json and sys.stderr.isatty()
    with client_from(ctx) as api, Progress("[progress.description]{task.description}", BarColumn(),
                                           DownloadColumn(), TransferSpeedColumn(), console=_console(stderr=True),
                                           transient=True, disable=not show_bar) as bar:
        # The server writes the whole file before the first byte comes: the bar starts when it does.
        task = bar.add_task(f"exporting {fmt}", total=None)

        def advance(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        try:
            size = api.download_profiles(format=fmt, masked=masked, out=out_path, progress=advance)
        except AccessDenied as exc:
            if not masked and "masked" in str(exc):
                exc.hint = "add --masked"
            raise
    if as_json:
        _echo_json({"file": str(out_path), "bytes": size, "format": fmt, "masked": masked})
    else:
        click.echo(f"{size:,} bytes written to {out_path}" + (" (masked)" if masked else ""), err=True)


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr)


def _print_profile(out: dict[str, Any]) -> None:
    """A golden record as a two-column table: what a CSKH agent reads off while on the phone."""
    from rich.table import Table

    p = out["profile"]
    table = Table(show_header=False, title=f"customer {out['customer_id']}", title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    if out.get("requested_id") and out["requested_id"] != out["customer_id"]:
        table.add_row("merged from", out["requested_id"])
    rows = [("name", p.get("full_name") or ""),
            ("phones", ", ".join(v["value"] for v in p.get("phones", []))),
            ("emails", ", ".join(v["value"] for v in p.get("emails", []))),
            ("addresses", "; ".join(v["value"] for v in p.get("addresses", []))),
            ("province", p.get("province_code") or ""),
            ("identifiers", ", ".join(p.get("identifiers", []))),
            ("channels", ", ".join(p.get("channels", []))),
            ("consents", ", ".join(f"{c['channel']}/{c['purpose']}={'yes' if c['granted'] else 'no'}"
                                   for c in p.get("consents", []))),
            ("interactions", str(p.get("interactions", 0))),
            ("first seen", str(p.get("first_seen", ""))[:19].replace("T", " ")),
            ("last seen", str(p.get("last_seen", ""))[:19].replace("T", " ")),
            # a looked-up phone or email other people use too: the agent should ask who is calling
            ("also used by", ", ".join(out.get("shared_with", [])))]
    for label, value in rows:
        if value:
            table.add_row(label, value)
    _console().print(table)
