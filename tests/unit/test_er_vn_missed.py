"""bench/er_vn_missed.py's categories of a missed cluster pair, on named cases."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.er_vn_missed import cluster_pair_category
from bench.vn_people import Record
from resolver.features import match_record
from resolver.normalise import canonical_event
from schema.contact import RawContact
from schema.events import CanonicalEvent

AT = datetime(2025, 3, 1, tzinfo=UTC)


def contact(n: int, channel: str, name: str | None, phones: tuple[str, ...] = (), zalo: str = "",
            address: str | None = None) -> Record:
    raw = RawContact(channel=channel, source=f"{channel}:shop", source_record_id=f"r{n}", occurred_at=AT,
                     received_at=AT, interaction_kind="message", name=name, phones=list(phones), emails=[],
                     address=address, channel_ids=[("zalo", zalo)] if zalo else [], attributes={})
    return Record(raw, "p1")


def views(*records: Record) -> dict:  # noqa: ANN201 - test helper
    out = {}
    for r in records:
        event = canonical_event(r.contact, r.key)
        assert isinstance(event, CanonicalEvent)
        out[r.key] = match_record(event)
    return out


def test_a_zalo_chat_with_only_a_display_name_against_the_phone_records() -> None:
    chat = contact(1, "zalo", "Oanh Trần Ngọc", zalo="4512")
    form = contact(2, "webform", "Trần Ngọc Oanh", phones=("0766986789",))
    category, evidence = cluster_pair_category([chat], [form], views(chat, form))
    assert category == "same full name | nothing outside the name | a side is a Zalo chat alone"
    assert evidence == set()


def test_a_province_in_two_spellings_is_evidence_outside_the_name() -> None:
    till = contact(1, "pos", "Phạm Minh Đạt", address="Thái Bình")
    form = contact(2, "webform", "Pham Minh Dat", phones=("0912345678",),
                   address="349 Điện Biên Phủ, Thai Binh")
    category, evidence = cluster_pair_category([till], [form], views(till, form))
    assert category == "same full name | same province" and evidence == {"same province"}
