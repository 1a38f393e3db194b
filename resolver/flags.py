"""One remark type for every normaliser (phone, email, name, address): a code and a reason.

A flag never changes what was stored by itself; it records what the normaliser noticed or rewrote
(`legacy_11_digit`, `domain_typo`, `honorific_removed` ...) so that a reviewer, the CLI and
survivorship can see why. `code` is stable and machine-readable (it is what lands in
`Identifier.flags` on the canonical topic); `reason` is one human sentence naming the evidence.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Flag:
    code: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "reason": self.reason}


def flag_codes(flags: Collection[Flag]) -> list[str]:
    """The codes only, in order and without repeats: what a topic message carries."""
    if not flags:
        return []
    if len(flags) == 1:
        # Most flagged values carry one flag (half the bench's events): skipping the generator and
        # dict saves ~0.5 us each.
        return [next(iter(flags)).code]
    return list(dict.fromkeys(f.code for f in flags))
