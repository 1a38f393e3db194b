"""RawContact -> CanonicalEvent: addresses are normalised and reach the golden record."""

from datetime import UTC, datetime

from resolver.normalise import Rejected, canonical_event
from resolver.plan import resolve_batch
from schema.contact import RawContact
from schema.events import CanonicalEvent, GoldenProfile

T = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def contact(**kw) -> RawContact:
    base = dict(channel="zalo", source="zalo:oa1", source_record_id="u1", occurred_at=T, received_at=T,
                interaction_kind="contact_shared", name="Lê Thị Hồng", phones=["0912 345 678"])
    base.update(kw)
    return RawContact(**base)


def test_address_is_normalised_with_the_current_province() -> None:
    event = canonical_event(contact(address="123 Lê Lợi, P. Bến Thành, Q.1, TP.HCM"), "zalo:1")
    assert isinstance(event, CanonicalEvent) and event.address is not None
    assert event.address.raw == "123 Lê Lợi, P. Bến Thành, Q.1, TP.HCM"
    assert (event.address.province_code, event.address.province_name) == ("79", "Hồ Chí Minh")
    assert (event.address.ward, event.address.district) == ("Phường Bến Thành", "Quận 1")


def test_unresolvable_address_is_kept_with_a_flag_not_guessed() -> None:
    event = canonical_event(contact(address="gần chợ, cuối hẻm"), "zalo:2")
    assert isinstance(event, CanonicalEvent) and event.address is not None
    assert event.address.province_code is None
    assert "province-unresolved" in event.address.flags


def test_no_address_means_none() -> None:
    event = canonical_event(contact(), "zalo:3")
    assert isinstance(event, CanonicalEvent) and event.address is None


def test_profile_keeps_addresses_and_latest_province() -> None:
    first = canonical_event(contact(address="Thôn 3, xã Ea Kao, TP Buôn Ma Thuột, Đắk Lắk"), "zalo:4")
    later = canonical_event(contact(source_record_id="u2", occurred_at=T.replace(hour=9),
                                    address="12 Trần Phú, Hà Đông, Hà Nội"), "zalo:5")
    assert isinstance(first, CanonicalEvent) and isinstance(later, CanonicalEvent)
    plan = resolve_batch([first, later], {}, {}, T)
    [profile] = [GoldenProfile.model_validate(p) for p in plan.profiles.values()]
    assert len(profile.addresses) == 2
    assert profile.province_code == later.address.province_code == "01"


def test_placeholder_only_contact_is_rejected_with_the_field() -> None:
    result = canonical_event(contact(name=None, phones=["0000000000"]), "zalo:6")
    assert result == Rejected("normalise", "phone", "placeholder")
