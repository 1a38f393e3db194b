"""Folding Vietnamese text inside PostgreSQL: `translate(lower(x), FOLD_FROM, FOLD_TO)`.

Matches `resolver.name.name_fold_key` on letters (diacritics dropped, Đ/đ -> d, lower case), so a
key computed in Python can be compared with text folded in SQL, with no extension (unaccent) needed.
"""

from __future__ import annotations

import unicodedata


def _fold_tables() -> tuple[str, str]:
    """translate() arguments folding Vietnamese letters (both cases) to lower-case ASCII, đ -> d."""
    src, dst = [], []
    for code in range(0x00C0, 0x1EFA):
        ch = chr(code)
        base = unicodedata.normalize("NFD", ch)[0]
        if ch.isalpha() and base.isascii() and base != ch:
            src.append(ch)
            dst.append(base.lower())
    src += ["Đ", "đ"]
    dst += ["d", "d"]
    return "".join(src), "".join(dst)


FOLD_FROM, FOLD_TO = _fold_tables()
