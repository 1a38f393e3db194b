"""ECDSA over NIST P-256 with SHA-256, in pure Python: the signature SendGrid puts on its webhooks.

SendGrid (Twilio) signs `timestamp + raw body` with ECDSA P-256/SHA-256 and publishes the public
key as base64 DER (SubjectPublicKeyInfo); the signature is base64 DER `SEQUENCE {r, s}`. Verifying
one signature is two scalar multiplications (~20 ms here), cheap next to a mail delivery, and
spares a compiled dependency (`cryptography` is not installed). `sign` exists for test fixtures.
Curve constants: SEC 2 v2 §2.4.2 / FIPS 186-4 D.1.2.3.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets

P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
A = P - 3
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
G = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
     0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)
# DER SubjectPublicKeyInfo prefix for an uncompressed P-256 key (id-ecPublicKey, prime256v1).
SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")

Point = tuple[int, int] | None


def _add(p: Point, q: Point) -> Point:
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0] and (p[1] + q[1]) % P == 0:
        return None
    if p == q:
        lam = (3 * p[0] * p[0] + A) * pow(2 * p[1], -1, P) % P
    else:
        lam = (q[1] - p[1]) * pow(q[0] - p[0], -1, P) % P
    x = (lam * lam - p[0] - q[0]) % P
    return x, (lam * (p[0] - x) - p[1]) % P


def _mul(k: int, point: Point) -> Point:
    result: Point = None
    while k:
        if k & 1:
            result = _add(result, point)
        point = _add(point, point)
        k >>= 1
    return result


def _on_curve(point: tuple[int, int]) -> bool:
    x, y = point
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def public_key_from_b64(text: str) -> tuple[int, int]:
    """A base64 DER SubjectPublicKeyInfo (or a bare 65-byte 04||X||Y point) -> the curve point."""
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("public key is not base64") from exc
    raw = der[len(SPKI_PREFIX):] if der.startswith(SPKI_PREFIX) else der
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("expected an uncompressed P-256 public key")
    point = (int.from_bytes(raw[1:33], "big"), int.from_bytes(raw[33:], "big"))
    if not _on_curve(point):
        raise ValueError("public key is not on P-256")
    return point


def public_key_to_b64(point: tuple[int, int]) -> str:
    raw = b"\x04" + point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")
    return base64.b64encode(SPKI_PREFIX + raw).decode()


def _der_int(data: bytes, at: int) -> tuple[int, int]:
    if at + 2 > len(data) or data[at] != 0x02:
        raise ValueError("expected a DER INTEGER")
    length = data[at + 1]
    end = at + 2 + length
    if length == 0 or length > 33 or end > len(data):
        raise ValueError("bad DER INTEGER length")
    return int.from_bytes(data[at + 2:end], "big"), end


def decode_signature(der: bytes) -> tuple[int, int]:
    if len(der) < 8 or der[0] != 0x30 or der[1] != len(der) - 2:
        raise ValueError("expected a DER SEQUENCE")
    r, at = _der_int(der, 2)
    s, at = _der_int(der, at)
    if at != len(der):
        raise ValueError("trailing bytes after the signature")
    return r, s


def encode_signature(r: int, s: int) -> bytes:
    def integer(v: int) -> bytes:
        raw = v.to_bytes((v.bit_length() + 8) // 8, "big")  # a leading 0 keeps it positive
        return b"\x02" + bytes([len(raw)]) + raw
    body = integer(r) + integer(s)
    return b"\x30" + bytes([len(body)]) + body


def verify(public_key: tuple[int, int], message: bytes, der_signature: bytes) -> bool:
    try:
        r, s = decode_signature(der_signature)
    except ValueError:
        return False
    if not (1 <= r < N and 1 <= s < N):
        return False
    z = int.from_bytes(hashlib.sha256(message).digest(), "big")
    w = pow(s, -1, N)
    point = _add(_mul(z * w % N, G), _mul(r * w % N, public_key))
    return point is not None and point[0] % N == r


def generate_private_key() -> int:
    return secrets.randbelow(N - 1) + 1


def public_key(private_key: int) -> tuple[int, int]:
    point = _mul(private_key, G)
    assert point is not None
    return point


def sign(private_key: int, message: bytes) -> bytes:
    """A DER signature (random nonce): for test fixtures and the demo sender, never for production keys."""
    z = int.from_bytes(hashlib.sha256(message).digest(), "big")
    while True:
        k = secrets.randbelow(N - 1) + 1
        point = _mul(k, G)
        assert point is not None
        r = point[0] % N
        s = pow(k, -1, N) * (z + r * private_key) % N
        if r and s:
            return encode_signature(r, s)
