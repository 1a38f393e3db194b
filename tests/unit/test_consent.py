"""Consent statements from what sources say, and the latest per channel and purpose on the profile."""

from datetime import UTC, datetime, timedelta

import pytest

from resolver.consent import consent_statements
from resolver.profile import ProfileBuilder
from schema.events import CanonicalEvent, GoldenProfile, Identifier, IdentifierType, Interaction

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(("attributes", "expected"), [
    pytest.param({"consent_marketing": "true"}, [("marketing", True)], id="form-marketing-yes"),
    pytest.param({"consent_cskh": "false"}, [("customer_care", False)], id="form-cskh-no"),
    pytest.param({"consent_khuyen_mai": "true", "utm_source": "zalo"}, [("marketing", True)], id="vn-purpose-name"),
    pytest.param({"consent_sms_survey": "true"}, [("sms_survey", True)], id="unknown-purpose-kept"),
    pytest.param({"zalo_following": "false"}, [("marketing", False)], id="zalo-unfollow"),
    pytest.param({"consent_marketing": "maybe", "utm_campaign": "tet"}, [], id="not-a-statement"),
])
def test_consent_statements(attributes: dict[str, str], expected: list[tuple[str, bool]]) -> None:
    got = consent_statements(channel="webform", source="webform:lien-he", event_id="e1", at=T0, attributes=attributes)
    assert [(s.purpose, s.granted) for s in got] == expected
    assert all(s.channel == "webform" and s.source == "webform:lien-he" and s.event_id == "e1" for s in got)


def event(eid: str, minutes: int, channel: str, **attributes: str) -> CanonicalEvent:
    return CanonicalEvent(event_id=eid, channel=channel, source=f"{channel}:shop", source_record_id=eid,
                          occurred_at=T0 + timedelta(minutes=minutes), received_at=T0, attributes=attributes,
                          identifiers=[Identifier(type=IdentifierType.phone, value="+84912345678", raw="0912345678")],
                          interaction=Interaction(kind="form_submission"))


def test_latest_statement_wins_per_channel_and_purpose_across_merges_and_a_round_trip() -> None:
    a = ProfileBuilder("c1")
    a.add_event(event("f1", 1, "webform", consent_marketing="true", consent_cskh="true"))
    a.add_event(event("f2", 5, "webform", consent_marketing="false"))
    b = ProfileBuilder("c2")
    b.add_event(event("z1", 3, "zalo", zalo_following="true"))
    b.add_event(event("f0", 0, "webform", consent_marketing="true"))  # older than f2: loses
    a.absorb(b)
    built = a.build(T0 + timedelta(hours=1))
    GoldenProfile.model_validate(built)
    got = {(c["channel"], c["purpose"]): (c["granted"], c["event_id"]) for c in built["consents"]}
    assert got == {("webform", "marketing"): (False, "f2"), ("webform", "customer_care"): (True, "f1"),
                   ("zalo", "marketing"): (True, "z1")}
    again = ProfileBuilder.from_stored(built).build(T0 + timedelta(hours=1))
    assert again["consents"] == built["consents"]
