"""`hopnhat erase --identifier phone:0912345678`: a data-subject erasure (hopnhat/erasure.py)."""

from __future__ import annotations

import json
import sys

import click

from hopnhat.settings import load_settings


@click.command("erase")
@click.option("--identifier", required=True, metavar="TYPE:VALUE",
              help="Any identifier of the person: phone:0912345678, email:lan@gmail.com, zalo:<app>:<user> ...")
@click.option("--api-key", envvar="HOPNHAT_API_KEY", default=None, metavar="KEY",
              help="An admin key (or HOPNHAT_API_KEY): named in the audit log.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print what was erased as one JSON line.")
def erase(identifier: str, api_key: str | None, yes: bool, as_json: bool) -> None:
    """Remove a person's PII from the store and keep their events out until they consent again.

    \b
    The whole customer is erased (every id merged into it): identifiers deleted (kept only as salted
    hashes on the suppression list), names/phones/emails/addresses removed from the profile,
    interaction payloads and match evidence emptied, a tombstone published on customers.profiles.
    Later or replayed events with those identifiers are dropped unless they carry fresh consent.
    Raw topics keep the person until HOPNHAT_RAW_RETENTION_DAYS pass; backups keep them too.
    """
    from hopnhat.access import UNAUTHENTICATED, AccessDenied, Permission, authenticate_key
    from hopnhat.erasure import erase as erase_person
    from hopnhat.pii import mask_identifier

    settings = load_settings()
    caller = (UNAUTHENTICATED if settings.api_auth == "off" or not settings.database_url
              else authenticate_key(database_url=settings.database_url, key=api_key or settings.api_key_value()))
    if not caller.can(Permission.admin):
        raise AccessDenied(f"role {caller.role.value} lacks the admin permission erasure needs")
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("erase is irreversible; pass --yes when not at a terminal")
        click.confirm(f"Erase the customer holding {mask_identifier(identifier)}? This cannot be undone", abort=True)
    report = erase_person(settings=settings, identifier=identifier, caller=caller)
    if as_json:
        click.echo(json.dumps(report.as_dict()))
        return
    click.echo(f"erased customer {report.customer_id} ({len(report.customer_ids)} ids): {report.identifiers} "
               f"identifiers now suppressed, {report.interactions} interactions and {report.source_records} source "
               f"records emptied" + ("; tombstones published" if report.tombstones_published else
                                     "; no broker configured, no tombstones published"))
