"""`hopnhat normalise phone|email|name|address VALUE`: what the pipeline would store for one value.

Shows the raw value, the normalised form, the match key and every flag with its reason, so a data
engineer can see why a record linked (or did not) without running the pipeline. `--json` prints one
object with at least raw, normalised, match_key and flags (each {code, reason}).
"""

from __future__ import annotations

import json
from typing import Any

import click

from resolver.email import normalise_email
from resolver.flags import Flag
from resolver.name import parse_name
from resolver.phone import normalise_phone_field

FIELDS = ("phone", "email", "name", "address")
ADDRESS_UNAVAILABLE = "address normalisation is not available yet"


def normalise_value(*, field: str, value: str) -> dict[str, Any]:
    """The normaliser's answer for one value as a plain dict (what --json prints)."""
    if field == "phone":
        return _phone(value)
    if field == "email":
        result = normalise_email(value)
        return {"field": "email", "raw": result.raw, "normalised": result.value, "match_key": result.match_key,
                "reason": result.reason, "suggested_domain": result.suggested_domain, "flags": _flags(result.flags)}
    if field == "name":
        name = parse_name(value)
        return {"field": "name", "raw": name.raw, "normalised": name.display, "match_key": name.fold_key,
                "reason": name.reason, "family": name.family, "middle": name.middle, "given": name.given,
                "extra": list(name.extra), "flags": _flags(name.flags)}
    if field == "address":
        return _address(value)
    raise click.BadParameter(f"unknown field {field!r}; expected one of {', '.join(FIELDS)}")


def _phone(value: str) -> dict[str, Any]:
    parts = normalise_phone_field(value)
    first = parts[0]
    out: dict[str, Any] = {
        "field": "phone", "raw": value, "normalised": first.e164, "match_key": first.match_key,
        "kind": first.kind, "reason": first.reason, "legacy_alias": first.legacy_alias,
        "extension": first.extension, "flags": _flags(first.flags),
    }
    if len(parts) > 1:
        out["flags"].insert(0, {"code": "multiple_numbers", "reason": f"the field holds {len(parts)} numbers"})
        out["parts"] = [{"raw": p.raw, "normalised": p.e164, "match_key": p.match_key, "kind": p.kind,
                         "reason": p.reason, "legacy_alias": p.legacy_alias, "extension": p.extension,
                         "flags": _flags(p.flags)} for p in parts]
    return out


def _address(value: str) -> dict[str, Any]:
    try:
        from resolver.address import normalise_address  # written in parallel; may not exist yet
    except ImportError as exc:
        raise click.ClickException(ADDRESS_UNAVAILABLE) from exc
    result = normalise_address(value)
    out = {"field": "address", "raw": result.raw, "normalised": result.normalised, "match_key": result.match_key,
           "province_code": result.province_code, "province_name": result.province_name,
           "flags": _flags(result.flags)}
    for key in ("province_code_2025_before", "province_name_before", "district", "ward", "street"):
        out[key] = getattr(result, key, None)
    return out


def _flags(flags: Any) -> list[dict[str, str]]:
    """Flags as {code, reason}; accepts Flag, (code, reason) pairs and bare codes."""
    out = []
    for flag in flags or ():
        if isinstance(flag, Flag):
            out.append(flag.as_dict())
        elif isinstance(flag, tuple | list) and flag:
            out.append({"code": str(flag[0]), "reason": str(flag[1]) if len(flag) > 1 else ""})
        else:
            out.append({"code": str(flag), "reason": ""})
    return out


def render(data: dict[str, Any]) -> str:
    lines = [f"raw:         {data['raw']}",
             f"normalised:  {data['normalised'] if data['normalised'] is not None else '(none)'}",
             f"match key:   {data['match_key'] if data['match_key'] is not None else '(none)'}"]
    for key in ("kind", "reason", "legacy_alias", "extension", "suggested_domain", "family", "middle", "given",
                "street", "ward", "district", "province_code", "province_name", "province_code_2025_before",
                "province_name_before"):
        if data.get(key):
            lines.append(f"{key.replace('_', ' ') + ':':<12} {data[key]}")
    if data.get("extra"):
        lines.append(f"{'kept apart:':<12} {', '.join(data['extra'])}")
    for i, part in enumerate(data.get("parts", []), 1):
        lines.append(f"number {i}:    {part['raw']} -> {part['normalised'] or '(none)'}"
                     f" ({part['kind']}{', ' + part['reason'] if part['reason'] else ''})")
    lines.append("flags:" if data["flags"] else "flags:       (none)")
    lines.extend(f"  {f['code']}: {f['reason']}" for f in data["flags"])
    return "\n".join(lines)


@click.command("normalise")
@click.argument("field", type=click.Choice(FIELDS))
@click.argument("value")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def normalise(field: str, value: str, as_json: bool) -> None:
    """Show how one FIELD value (phone, email, name or address) is normalised, with every flag and why.

    \b
    Examples:
      hopnhat normalise phone "0168.234.5678"
      hopnhat normalise email "Lan.Nguyen+shop@gmial.com" --json
      hopnhat normalise name "chị LAN NGUYỄN THỊ"
    """
    data = normalise_value(field=field, value=value)
    click.echo(json.dumps(data, ensure_ascii=False) if as_json else render(data))
