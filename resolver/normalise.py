"""RawContact (any channel) -> CanonicalEvent, or a `Rejected` value for the DLQ branch.

A record is rejected only when nothing usable is left: no valid identifier and no name. Values that
fail normalisation beside good ones are kept in `attributes` as `invalid.<field>` with the reason,
so the raw input is never silently dropped. Every identifier carries its raw value and the codes of
the normaliser's flags, and a phone field holding several numbers gives one identifier per number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from resolver.address import normalise_address
from resolver.email import normalise_email
from resolver.flags import flag_codes
from resolver.name import parse_name
from resolver.phone import normalise_phone_field
from schema.contact import RawContact
from schema.events import (
    CanonicalEvent,
    Identifier,
    IdentifierType,
    Interaction,
    NormalisedAddress,
    NormalisedText,
    RawRef,
)

# Service numbers (1800/1900) are the shop's or operator's, never the customer's: kept, never matched.
MATCHABLE_PHONE_KINDS = {"mobile", "landline", "foreign"}
_M = TypeVar("_M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record the stage could not turn into a canonical event; routed to dlq.<stage>."""

    stage: str
    field: str
    reason: str


def canonical_event(contact: RawContact, event_id: str, raw_ref: RawRef | None = None) -> CanonicalEvent | Rejected:
    # Identifiers as (type, value, raw, flags): made into models or dicts at the end (see _trusted).
    identifiers: list[tuple[IdentifierType, str, str, list[str]]] = []
    attributes = dict(contact.attributes)
    problems: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()

    for i, raw in enumerate(contact.phones):
        for j, phone in enumerate(normalise_phone_field(raw)):
            if phone.e164 and phone.kind in MATCHABLE_PHONE_KINDS:
                _add(identifiers, seen, _PHONE, phone.e164, raw, flag_codes(phone.flags) if phone.flags else [])
                if phone.extension:
                    attributes[f"phone_extension.{phone.e164}"] = phone.extension
            elif phone.e164 or phone.kind == "service":
                attributes[f"service_phone.{_suffix(i, j)}"] = phone.e164 or phone.raw
            else:
                attributes[f"invalid.phone.{_suffix(i, j)}"] = f"{phone.raw} ({phone.reason})"
                problems.append(("phone", phone.reason or "invalid"))
    for i, raw in enumerate(contact.emails):
        email = normalise_email(raw)
        if email.value:
            # The stored address is the identifier; linking on the Gmail match key (dots, +tags)
            # belongs to the matcher, which can weigh it (EmailResult.match_key).
            _add(identifiers, seen, _EMAIL, email.value, raw, flag_codes(email.flags) if email.flags else [])
        else:
            attributes[f"invalid.email.{i}"] = f"{raw} ({email.reason})"
            problems.append(("email", email.reason or "invalid"))
    for kind, value in contact.channel_ids:
        if value.strip():
            # IdentifierType(kind) still rejects an unknown kind with ValueError, as before.
            _add(identifiers, seen, IdentifierType(kind), value.strip(), value, [])

    parsed = parse_name(contact.name) if contact.name else None
    name = parsed.display if parsed else None
    if parsed and parsed.flags:
        attributes["name.flags"] = ",".join(parsed.flag_codes)
    address = _address(contact.address) if contact.address and contact.address.strip() else None
    if not identifiers and not name:
        field, reason = problems[0] if problems else ("identifiers", "no name, phone, email or channel id")
        return Rejected("normalise", field, reason)

    if _trusted(contact, event_id, raw_ref):
        return _built_event(contact, event_id, raw_ref, identifiers, name, address, attributes)
    # Anything else goes through the model's own validator, which coerces or refuses it exactly as it
    # always has (called directly: model_validate adds a Python frame and keyword handling).
    return _VALIDATE_EVENT({
        "event_id": event_id,
        "channel": contact.channel,
        "source": contact.source,
        "source_record_id": contact.source_record_id,
        "occurred_at": contact.occurred_at,
        "received_at": contact.received_at,
        # The nested models go in as dicts: validated in the same pydantic-core call.
        "identifiers": [{"type": kind.value, "value": value, "raw": raw, "flags": flags}
                        for kind, value, raw, flags in identifiers],
        "name": {"raw": contact.name, "value": name} if contact.name and name else None,
        "address": address,
        "attributes": attributes,
        "interaction": {"kind": contact.interaction_kind, "summary": contact.summary,
                        "amount_vnd": contact.amount_vnd, "payload": contact.payload},
        "raw_ref": raw_ref,
    })


# The enum members, read once: attribute access on a 3.11 enum class costs ~0.3 us each time.
_PHONE, _EMAIL = IdentifierType.phone, IdentifierType.email
_VALIDATE_EVENT: Callable[[dict[str, object]], CanonicalEvent] = CanonicalEvent.__pydantic_validator__.validate_python
_STR_OR_NONE = (str, type(None))
_INT_OR_NONE = (int, type(None))


def _trusted(contact: RawContact, event_id: str, raw_ref: RawRef | None) -> bool:
    """Is every input value one the model's validator would return unchanged (the very object, or for
    a dict or list an equal copy)? Exact types only: a str subclass, a bool or "12" for an int, a
    string for a datetime... are left to the validator, which coerces or refuses them. The values the
    normalisers produce (E.164, lower-cased address, display name, flag codes) are always exact str;
    the raw phone and email values are checked whether or not they became identifiers."""
    if not (type(event_id) is str and type(contact.channel) is str and type(contact.source) is str
            and type(contact.source_record_id) is str and type(contact.interaction_kind) is str
            # pydantic-core hands an exact datetime back as the same object (naive or with any tzinfo).
            and type(contact.occurred_at) is datetime and type(contact.received_at) is datetime
            and type(contact.name) in _STR_OR_NONE and type(contact.summary) in _STR_OR_NONE
            and type(contact.amount_vnd) in _INT_OR_NONE and type(contact.payload) is dict
            and type(contact.attributes) is dict and (raw_ref is None or type(raw_ref) is RawRef)):
        return False
    # Plain loops: ~3x faster than all() over a generator for the one or two values these hold.
    for raw in contact.phones:
        if type(raw) is not str:
            return False
    for raw in contact.emails:
        if type(raw) is not str:
            return False
    for _, raw in contact.channel_ids:
        if type(raw) is not str:
            return False
    for key, value in contact.attributes.items():
        if type(key) is not str or type(value) is not str:
            return False
    for key in contact.payload:  # the payload's values are Any: kept as they are
        if type(key) is not str:
            return False
    return True


# Building the models directly, for inputs `_trusted` vouches for: what the validator returns for the
# same values (same field values and order, the enum member for the identifier type, a copy of the
# payload dict, every field given so every field in fields-set, no extra, no private), without
# re-checking values that are already known to be right. Measured in instructions (callgrind), a warm
# loop over the bench's records: 124,445 -> 94,725 per event, with the trust check.
# tests/unit/test_normalise_fast_build.py compares both ways; bench/normalise_identity.py compares
# the whole output with the code before this path existed.
_new = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_EVENT_FIELDS = frozenset(CanonicalEvent.model_fields)
_IDENTIFIER_FIELDS = frozenset(Identifier.model_fields)
_TEXT_FIELDS = frozenset(NormalisedText.model_fields)
_INTERACTION_FIELDS = frozenset(Interaction.model_fields)


def _model(cls: type[_M], values: dict[str, Any], fields: frozenset[str]) -> _M:
    model = _new(cls)
    _set_dict(model, values)
    _set_fields(model, set(fields))
    _set_extra(model, None)
    _set_private(model, None)
    return model


def _built_event(contact: RawContact, event_id: str, raw_ref: RawRef | None,
                 identifiers: list[tuple[IdentifierType, str, str, list[str]]], name: str | None,
                 address: NormalisedAddress | None, attributes: dict[str, str]) -> CanonicalEvent:
    return _model(CanonicalEvent, {
        "event_id": event_id,
        "channel": contact.channel,
        "source": contact.source,
        "source_record_id": contact.source_record_id,
        "occurred_at": contact.occurred_at,
        "received_at": contact.received_at,
        "identifiers": [_model(Identifier, {"type": kind, "value": value, "raw": raw, "flags": flags},
                               _IDENTIFIER_FIELDS) for kind, value, raw, flags in identifiers],
        "name": _model(NormalisedText, {"raw": contact.name, "value": name}, _TEXT_FIELDS)
        if contact.name and name else None,
        "address": address,
        "attributes": attributes,
        "interaction": _model(Interaction, {"kind": contact.interaction_kind, "summary": contact.summary,
                                            "amount_vnd": contact.amount_vnd, "payload": dict(contact.payload)},
                              _INTERACTION_FIELDS),
        "raw_ref": raw_ref,
    }, _EVENT_FIELDS)


def _add(identifiers: list[tuple[IdentifierType, str, str, list[str]]], seen: set[tuple[str, str]],
         kind: IdentifierType, value: str, raw: str, flags: list[str]) -> None:
    """Appends the identifier unless the same (type, value) is already in the event."""
    key = (kind._value_, value)  # the plain str: an enum member hashes in Python code
    if key not in seen:
        seen.add(key)
        identifiers.append((kind, value, raw, flags))


def _suffix(field: int, number: int) -> str:
    """Attribute key suffix of the number-th number in the field-th phone field: only built when used."""
    return f"{field}" if number == 0 else f"{field}.{number}"


def _address(raw: str) -> NormalisedAddress:
    """An address is kept even when its province cannot be resolved: the flags say why."""
    result = normalise_address(raw)
    return NormalisedAddress(
        raw=raw, normalised=result.normalised, match_key=result.match_key, province_code=result.province_code,
        province_name=result.province_name, province_code_before=result.province_code_2025_before,
        province_name_before=result.province_name_before, district=result.district, ward=result.ward,
        street=result.street, flags=[code for code, _ in result.flags],
    )
