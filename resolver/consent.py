"""Consent per channel and purpose, read from what sources say (pure: no I/O).

Sources express consent in their own ways; the connectors keep it on the canonical event's
attributes and this module turns it into statements (channel, purpose, granted) with provenance:

- a web form's consent fields (`consent_marketing=1`, `consent_cskh=0` ...) -> `consent_<purpose>`
- a Zalo OA follow / unfollow -> `zalo_following` true / false: may the OA send the person messages
  (marketing; customer care inside a conversation the person opened needs no follow)
- an email unsubscribe (a reply to a List-Unsubscribe mailto:, mail to the business's unsubscribe
  address, an RFC 8058 one-click POST; connectors/email_unsubscribe.py) -> `email_subscribed` false:
  no marketing mail. Nothing sets it true: a "subscribe" mail's sender is not authenticated.

The latest statement per (channel, purpose) wins on the golden record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The sources' own purpose names -> the two purposes hopnhat reasons about; others are kept as written.
PURPOSES = {
    "marketing": "marketing", "quang_cao": "marketing", "tiep_thi": "marketing", "newsletter": "marketing",
    "khuyen_mai": "marketing", "cskh": "customer_care", "care": "customer_care", "customer_care": "customer_care",
    "cham_soc": "customer_care", "support": "customer_care",
}
TRUE, FALSE = "true", "false"


@dataclass(frozen=True, slots=True)
class ConsentStatement:
    channel: str
    purpose: str
    granted: bool
    source: str
    event_id: str
    at: datetime

    def as_dict(self) -> dict[str, object]:
        return {"channel": self.channel, "purpose": self.purpose, "granted": self.granted, "source": self.source,
                "event_id": self.event_id, "at": self.at.isoformat()}


def consent_statements(*, channel: str, source: str, event_id: str, at: datetime,
                       attributes: dict[str, str]) -> list[ConsentStatement]:
    """What one event says about consent (usually nothing)."""
    out: list[ConsentStatement] = []
    for key, value in attributes.items():
        flag = value.strip().lower()
        if flag not in (TRUE, FALSE):
            continue
        if key.startswith("consent_") and len(key) > 8:
            purpose = key[8:].lower()
            out.append(ConsentStatement(channel, PURPOSES.get(purpose, purpose), flag == TRUE, source, event_id, at))
        elif key in ("zalo_following", "email_subscribed"):
            out.append(ConsentStatement(channel, "marketing", flag == TRUE, source, event_id, at))
    return out
