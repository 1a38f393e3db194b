"""`hopnhat unsubscribe-headers --email ADDRESS --base-url URL`: List-Unsubscribe headers for one mail."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import click

from hopnhat.settings import Settings, load_settings
from schema.errors import ConfigError


def unsubscribe_headers(*, settings: Settings, address: str, base_url: str,
                        sent_on: date | None = None) -> dict[str, str]:
    """The header values (connectors/email_unsubscribe.py); ConfigError without the key or https."""
    from connectors.email_unsubscribe import list_unsubscribe_headers

    if settings.email_unsubscribe_key is None:
        raise ConfigError("HOPNHAT_EMAIL_UNSUBSCRIBE_KEY is not set (looked in the environment and the "
                          "config file); set a long random value, the same for `hopnhat serve`")
    if not base_url.startswith("https://"):
        raise ConfigError(f"--base-url must be https:// (RFC 8058), got {base_url!r}")
    mailto = settings.email_unsubscribe_addresses[0] if settings.email_unsubscribe_addresses else None
    try:
        return list_unsubscribe_headers(settings.email_unsubscribe_key.get_secret_value().encode(), address,
                                        sent_on or datetime.now(UTC).date(), base_url, mailto)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--email") from exc


@click.command("unsubscribe-headers")
@click.option("--email", "address", required=True, help="The recipient's address.")
@click.option("--base-url", required=True, metavar="URL",
              help="Where `hopnhat serve` is reachable from the internet, e.g. https://crm.shop.vn")
@click.option("--sent-on", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Day the mail goes out (default today, UTC): each day's mailing has its own token.")
@click.option("--json", "as_json", is_flag=True, help="Print the headers as one JSON object.")
def unsubscribe_headers_cmd(address: str, base_url: str, sent_on: datetime | None, as_json: bool) -> None:
    """List-Unsubscribe and List-Unsubscribe-Post (RFC 2369, RFC 8058) for a marketing mail to one address.

    \b
    The https: URI is answered by `hopnhat serve` (POST /unsubscribe/email/<token>); the mailto: is the
    first of HOPNHAT_EMAIL_UNSUBSCRIBE_ADDRESSES, read by the email connector. Either way the address
    gets email/marketing=no on its profile.
    """
    headers = unsubscribe_headers(settings=load_settings(), address=address, base_url=base_url,
                                  sent_on=sent_on.date() if sent_on else None)
    if as_json:
        click.echo(json.dumps(headers, ensure_ascii=False))
    else:
        for name, value in headers.items():
            click.echo(f"{name}: {value}")
