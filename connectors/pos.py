"""What the POS connectors (KiotViet, Sapo, Haravan) share: JSON bodies, VND amounts, base64 HMAC, ids.

Each POS has its own connector module (connectors/kiotviet.py, sapo.py, haravan.py) because their
envelopes, signatures and delivery rules differ (docs/connectors/<pos>.md); the pieces here are the
parts that are the same fact in every POS: money is whole dong, a body is one JSON object, a value
read from a path either is what the path says or the delivery is malformed *at that path*.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from schema.errors import InvalidSignature, MalformedPayload


def vnd(value: Any, field: str) -> int | None:
    """Whole dong from a POS amount: JSON int, integral float (`240000.0000`) or decimal string
    (`"1250000.00"`, Shopify-style). Never a float on the way: `Decimal` of the exact text.
    A fraction of a dong, a boolean or text that is not a number is malformed at `field`."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise MalformedPayload(field, "expected an amount in VND, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float | str):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise MalformedPayload(field, f"not an amount: {str(value)[:40]!r}") from None
        if not amount.is_finite() or amount != amount.to_integral_value():
            raise MalformedPayload(field, f"not a whole number of dong: {value!r}")
        return int(amount)
    raise MalformedPayload(field, f"expected an amount in VND, got {type(value).__name__}")


def obj(parent: Mapping[str, Any], key: str, path: str, required: bool = True) -> Mapping[str, Any] | None:
    value = parent.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, Mapping):
        raise MalformedPayload(f"{path}{key}", "missing" if value is None else "expected an object")
    return value


def items(parent: Mapping[str, Any], key: str, path: str) -> list[Mapping[str, Any]]:
    """An optional list of objects (line items, payments); absent or null is empty."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedPayload(f"{path}{key}", "expected a list")
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise MalformedPayload(f"{path}{key}[{i}]", "expected an object")
    return value


def source_id_text(value: Any, field: str, required: bool = True) -> str | None:
    """A source's own id (int or string) as text; floats would lose digits of 64-bit ids."""
    if value is None or value == "":
        if required:
            raise MalformedPayload(field, "missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise MalformedPayload(field, f"expected an id (integer or string), got {type(value).__name__}")
    text = str(value).strip()
    if not text or len(text) > 200:
        raise MalformedPayload(field, "empty or longer than 200 characters")
    return text


def required_id(value: Any, field: str) -> str:
    """A source's own id that the delivery cannot do without."""
    found = source_id_text(value, field)
    assert found is not None  # source_id_text raised MalformedPayload otherwise
    return found


def text(value: Any, field: str) -> str | None:
    """An optional free-text field (name, phone, email as typed by shop staff)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedPayload(field, f"expected text, got {type(value).__name__}")
    return str(value).strip() or None


def verify_base64_hmac_sha256(header_value: str | None, secret: bytes, body: bytes) -> None:
    """Sapo / Haravan / Shopify: `base64(HMAC-SHA256(secret, raw body))`, compared in constant time."""
    if not header_value:
        raise InvalidSignature("signature header missing")
    expected = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode("ascii")
    if not hmac.compare_digest(header_value.strip().encode(), expected.encode()):
        raise InvalidSignature("signature does not match the body")
