"""Personal names: Unicode NFC and tidy white space, keeping the raw value next to the result.

Vietnamese text often arrives decomposed (NFD from macOS and some mobile keyboards): "Nguyễn" as
"Nguye\u0302\u0303n". NFC makes byte-equal strings of what a reader sees as equal. Diacritic folding,
honorifics and family/given splitting come with the normalisation issue.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
PLACEHOLDER_NAMES = {"", "-", ".", "x", "n/a", "na", "none", "null", "không có", "khong co", "chưa có", "test"}


def normalise_name(raw: str) -> str | None:
    """NFC + single spaces; None for blank or placeholder names (they must never link anything)."""
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", raw)).strip()
    if text.casefold() in PLACEHOLDER_NAMES:
        return None
    return text
