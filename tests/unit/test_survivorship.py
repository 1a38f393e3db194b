"""Survivorship rules choose what the golden record shows; masking hides what they chose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hopnhat.pii import mask_profile
from resolver.profile import ProfileBuilder
from resolver.survivorship import Seen, choose, name_completeness
from schema.events import GoldenProfile

T = datetime(2026, 5, 1, tzinfo=UTC)


def test_a_cashiers_full_name_beats_a_newer_zalo_display_name() -> None:
    values = {"Võ Thị Na": Seen(frozenset({"kiotviet:shop1"}), T, T),
              "Bé Na": Seen(frozenset({"zalo:oa1"}), T + timedelta(days=30), T + timedelta(days=30))}
    picked = choose(values, name_completeness)
    assert picked is not None and picked[0] == "Võ Thị Na"
    assert picked[1]["trust"] == 0.9 and picked[1]["sources"] == ["kiotviet:shop1"]


def test_recency_decides_between_equally_trusted_phones() -> None:
    values = {"+84912000001": Seen(frozenset({"webform:a"}), T, T),
              "+84912000002": Seen(frozenset({"webform:a"}), T + timedelta(days=400), T + timedelta(days=400))}
    assert choose(values) is not None and choose(values)[0] == "+84912000002"  # type: ignore[index]


def test_frequency_and_completeness_count() -> None:
    assert name_completeness("Nguyễn Thị Thu Hà") > name_completeness("nguyen thi thu ha") > name_completeness("Hà")
    # Seen at the same time with the same trust: the value three sources confirm wins.
    values = {"lan.moi@x.vn": Seen(frozenset({"webform:a"}), T, T),
              "lan@x.vn": Seen(frozenset({"webform:a", "webform:b", "webform:c"}), T, T)}
    assert choose(values) is not None and choose(values)[0] == "lan@x.vn"  # type: ignore[index]


def test_the_profile_shows_the_chosen_values_with_their_reasons_and_masks_them() -> None:
    builder = ProfileBuilder("c1")
    builder.add_stored({"name": {"value": "Bé Na"}, "identifiers": [{"type": "zalo", "value": "oa1:7"}]},
                       "zalo", "zalo:oa1", T + timedelta(days=9))
    builder.add_stored({"name": {"value": "Võ Thị Na"}, "identifiers": [{"type": "phone", "value": "+84935556677"}]},
                       "pos", "kiotviet:shop1", T)
    profile = builder.build(T + timedelta(days=10))
    GoldenProfile.model_validate(profile)
    assert profile["full_name"] == "Võ Thị Na" and profile["primary_phone"] == "+84935556677"
    assert profile["survivorship"]["full_name"]["sources"] == ["kiotviet:shop1"]
    masked = mask_profile(profile)
    assert masked["primary_phone"] == "+84 93* *** 677"
    assert masked["survivorship"]["primary_phone"]["value"] == "+84 93* *** 677"
    assert "+84935556677" not in str(masked)
