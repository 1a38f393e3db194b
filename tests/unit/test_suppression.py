"""The suppression list's verdicts and the raw topics' retention (no broker, no database)."""

from datetime import UTC, datetime

from hopnhat.suppression import SuppressionList, identifier_hash
from schema.events import CanonicalEvent, Identifier, IdentifierType, Interaction
from streams.topics import Topics
from hopnhat.settings import Settings

SALT = b"muoi-bi-mat"
T0 = datetime(2026, 11, 20, tzinfo=UTC)


def event(phone: str, **attributes: str) -> CanonicalEvent:
    return CanonicalEvent(event_id="e", channel="webform", source="webform:x", source_record_id="1", occurred_at=T0,
                          received_at=T0, identifiers=[Identifier(type=IdentifierType.phone, value=phone, raw=phone)],
                          attributes=attributes, interaction=Interaction(kind="form_submission"))


def test_erased_identifier_is_blocked_until_fresh_consent_lifts_it() -> None:
    erased = identifier_hash(SALT, "phone", "+84912345678")
    assert erased != identifier_hash(b"other-salt", "phone", "+84912345678")
    assert "912345678" not in erased
    sl = SuppressionList(salt=SALT, hashes={erased})
    assert sl.blocks(event("+84912345678"))
    assert sl.blocks(event("+84912345678", consent_marketing="false"))
    assert not sl.blocks(event("+84903217654"))
    assert not sl.blocks(event("+84912345678", consent_marketing="true"))
    assert sl.lifted == {erased} and sl.hashes == set()
    assert not sl.blocks(event("+84912345678"))  # consented again: later events pass too
    followed = SuppressionList(salt=SALT, hashes={erased})
    assert not followed.blocks(event("+84912345678", zalo_following="true"))  # a Zalo follow is consent too
    assert followed.blocks(event("+84912345678", zalo_following="false")) is False  # already lifted


def test_raw_topics_get_the_configured_retention() -> None:
    specs = {name: cfg for name, _, cfg in Topics.from_settings(Settings()).specs(4, raw_retention_days=7)}
    assert specs["raw.webform"] == {"retention.ms": str(7 * 86_400_000)}
    assert specs["customers.profiles"] == {"cleanup.policy": "compact"}
    assert "retention.ms" not in specs["events.canonical"]
