"""The demo's Zalo, Sapo and Stringee deliveries are what those platforms send: each passes the real
connector's signature check and parses to one event naming the right person."""

from collections import Counter
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from connectors import load_connector
from hopnhat.sample import make_people
from hopnhat.touchpoints import DemoChannels, make_touchpoints
from schema.errors import InvalidSignature

NOW = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def people():
    import random

    return make_people(60, random.Random(84))


def test_every_delivery_verifies_and_parses_to_one_event_of_its_person(people) -> None:
    ch = DemoChannels()
    posts = make_touchpoints(people, 84, ch, now=NOW)
    secrets = {"zalo": ch.zalo_key, "sapo": ch.sapo_secret, "callcenter": ch.stringee_secret}
    kinds: Counter[str] = Counter()
    for post in posts:
        connector = load_connector(post.channel)
        if post.channel == "zalo":
            connector.clock = lambda: NOW  # type: ignore[attr-defined]  # Zalo refuses bodies over 24 h old
        connector.verify({k.lower(): v for k, v in post.headers.items()}, post.body, secrets[post.channel].encode())
        source = urlsplit(post.path).path.rsplit("/", 1)[1]
        events = connector.parse(post.body, "application/json", source, NOW)
        assert len(events) == 1, post
        contact = connector.extract(events[0])
        kinds[contact.interaction_kind] += 1
        person = people[post.person]
        if contact.phones:
            assert person.nsn in contact.phones[0].replace(" ", "").replace(".", "")
        if post.channel == "sapo":
            assert contact.amount_vnd and contact.amount_vnd % 1000 == 0 and contact.name == person.name
        with pytest.raises(InvalidSignature):  # a tampered body is refused by the same check
            connector.verify({k.lower(): v for k, v in post.headers.items()}, post.body + b" ",
                             secrets[post.channel].encode())
    assert set(kinds) == {"message", "contact_shared", "order", "call"}, kinds
    assert {p.channel for p in posts} == {"zalo", "sapo", "callcenter"}


def test_same_seed_same_deliveries() -> None:
    import random

    people = make_people(30, random.Random(7))
    first = make_touchpoints(people, 7, DemoChannels(), now=NOW)
    assert first == make_touchpoints(people, 7, DemoChannels(), now=NOW)
    assert first != make_touchpoints(people, 8, DemoChannels(), now=NOW)
