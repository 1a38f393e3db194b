"""The demo's other channels: Zalo OA chats, Sapo orders and Stringee calls of the sample's people,
signed as each platform signs them, so the demo (and the console on its data) shows one person's
timeline across channels, with VND amounts, instead of web forms only.

Pure: builds request bodies and headers; `webform_client.post_signed` sends them. The people are the
ones `hopnhat.sample` made (`SignedPost.person` is the ground truth). Zalo chats only join a customer
when the person also shares a phone through the OA's form (`user_submit_info`), as on the real OA;
calls and orders carry the phone, written as each system writes it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connectors.callcenter import stringee_signature
from connectors.zalo import zalo_signature
from hopnhat.sample import Person
from hopnhat.settings import Settings
from hopnhat.webform_client import SignedPost

ZALO_TEXTS = ["Shop ơi, mẫu này còn hàng không ạ?", "Cho em hỏi phí ship ra Hà Nội bao nhiêu?",
              "Em đặt 2 cái được giảm giá không shop?", "Đơn của em giao chưa ạ?",
              "Tư vấn giúp em size cho người 55kg", "Cảm ơn shop, hàng đẹp lắm ạ!"]
PRODUCTS = [("Áo sơ mi lụa tơ tằm", "ASM-LUA-M", 450_000), ("Váy maxi hoa nhí", "VAY-MAXI-S", 690_000),
            ("Quần tây nam ống đứng", "QT-NAM-30", 520_000), ("Áo dài cách tân", "AD-CT-M", 1_250_000),
            ("Túi xách da bò", "TX-DA-01", 1_890_000), ("Khăn lụa Hà Đông", "KL-HD-01", 180_000),
            ("Nón lá Huế", "NL-HUE", 95_000), ("Dép quai ngang", "DQN-39", 145_000)]
AGENTS = [("agent_thuy", "Nguyễn Thu Thủy"), ("agent_khoa", "Trần Minh Khoa"), ("agent_lan", "Lê Ngọc Lan")]


@dataclass(frozen=True, slots=True)
class DemoChannels:
    """The demo's Zalo app and OA, Sapo store and Stringee project, with the secrets they sign with."""

    zalo_app: str = "3094510000000000001"
    zalo_oa: str = "4368120000000000001"
    zalo_key: str = "demo-oa-secret-key"
    sapo_tenant: str = "thoitranghoa.mysapogo.com"
    sapo_secret: str = "demo-sapo-secret"
    stringee_project: str = "21045"
    stringee_secret: str = "demo-stringee-secret"

    def configure(self, settings: Settings) -> Settings:
        return (settings.with_secret("zalo", f"{self.zalo_app}:{self.zalo_oa}", self.zalo_key)
                .with_secret("sapo", self.sapo_tenant, self.sapo_secret)
                .with_secret("callcenter", self.stringee_project, self.stringee_secret))


def _wire(doc: dict[str, object]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _ms(at: datetime) -> str:
    return str(int(at.timestamp() * 1000))


def _iso_z(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zalo_posts(p: Person, ch: DemoChannels, rng: random.Random, now: datetime) -> list[SignedPost]:
    user = f"7{rng.randrange(10**17, 10**18)}"
    posts = []
    ages = sorted((rng.randrange(60, 20 * 3600) for _ in range(rng.randint(1, 3))), reverse=True)
    for i, age in enumerate(ages):
        doc: dict[str, object] = {
            "app_id": ch.zalo_app, "sender": {"id": user}, "recipient": {"id": ch.zalo_oa},
            "event_name": "user_send_text", "timestamp": _ms(now - timedelta(seconds=age)),
            "message": {"text": rng.choice(ZALO_TEXTS), "msg_id": f"{p.index:06d}{i}{rng.getrandbits(48):012x}"},
        }
        posts.append(_zalo(p, ch, doc))
    if rng.random() < 0.7:  # the OA asks for contact details; most people answer
        shared: dict[str, object] = {
            "app_id": ch.zalo_app, "sender": {"id": user}, "recipient": {"id": ch.zalo_oa},
            "event_name": "user_submit_info", "timestamp": _ms(now - timedelta(seconds=30)),
            "info": {"name": p.name, "phone": f"84{p.nsn}"}}
        posts.append(_zalo(p, ch, shared))
    return posts


def _zalo(p: Person, ch: DemoChannels, doc: dict[str, object]) -> SignedPost:
    body = _wire(doc)
    mac = zalo_signature(ch.zalo_app, body, str(doc["timestamp"]), ch.zalo_key.encode())
    return SignedPost(p.index, "zalo", f"/webhooks/zalo/{ch.zalo_app}", body,
                      {"Content-Type": "application/json", "X-ZEvent-Signature": f"mac={mac}"})


def sapo_order(p: Person, ch: DemoChannels, rng: random.Random, now: datetime, n: int) -> SignedPost:
    lines = [(name, sku, rng.randint(1, 2), price) for name, sku, price in rng.sample(PRODUCTS, rng.randint(1, 3))]
    at = now - timedelta(seconds=rng.randrange(300, 20 * 3600))
    customer: dict[str, object] = {"id": 990_000_000 + p.index, "code": f"CUZN{400_000 + p.index}", "name": p.name,
                                   "phone_number": f"0{p.nsn}", "email": p.email if rng.random() < 0.5 else None}
    doc: dict[str, object] = {
        "id": 2_045_000_000 + n, "code": f"SON{104_000 + n}", "created_on": _iso_z(at), "modified_on": _iso_z(at),
        "issued_on": _iso_z(at), "customer_id": customer["id"], "customer_data": customer, "status": "finalized",
        "total": sum(q * price for _, _, q, price in lines),
        "order_line_items": [{"product_name": name, "sku": sku, "quantity": q, "price": price}
                             for name, sku, q, price in lines],
    }
    body = _wire(doc)
    mac = base64.b64encode(hmac.new(ch.sapo_secret.encode(), body, hashlib.sha256).digest()).decode()
    return SignedPost(p.index, "sapo", f"/webhooks/sapo/{ch.sapo_tenant}", body, {
        "Content-Type": "application/json", "X-Sapo-Hmac-Sha256": mac, "X-Sapo-Topic": "orders/create",
        "X-Sapo-Tenant-Domain": ch.sapo_tenant})


def stringee_call(p: Person, ch: DemoChannels, rng: random.Random, now: datetime, n: int) -> SignedPost:
    agent, agent_name = rng.choice(AGENTS)
    answered = rng.random() < 0.8
    talk = rng.randrange(20, 600) if answered else 0
    ended = now - timedelta(seconds=rng.randrange(120, 20 * 3600))
    doc: dict[str, object] = {
        "call_status": "ended", "project_id": int(ch.stringee_project), "type": "stringee_call",
        "timestamp_ms": int(ended.timestamp() * 1000), "call_id": f"call-vn-demo-{n:06d}",
        "callCreatedReason": "EXTERNAL_CALL_IN", "endCallCause": "NORMAL_CLEARING" if answered else "NO_ANSWER",
        "callType": "CALL", "duration": talk + rng.randrange(5, 25), "answerDuration": talk,
        "from": {"number": f"84{p.nsn}", "alias": f"84{p.nsn}", "type": "external"},
        "to": {"number": agent, "alias": agent_name, "type": "internal"},
    }
    body = _wire(doc)
    signature = stringee_signature(ch.stringee_secret.encode(), body)
    return SignedPost(p.index, "callcenter", f"/webhooks/callcenter/{ch.stringee_project}", body,
                      {"Content-Type": "application/json", "X-STRINGEE-SIGNATURE": signature})


def make_touchpoints(people: list[Person], seed: int, ch: DemoChannels,
                     now: datetime | None = None) -> list[SignedPost]:
    """Zalo chats for ~45% of people, a Sapo order for ~35%, a call for ~25%; the same seed, the same posts
    (bar the timestamps, which Zalo needs within the last 24 h)."""
    rng = random.Random(f"touchpoints-{seed}")
    at = (now or datetime.now(UTC)).replace(microsecond=0)
    posts: list[SignedPost] = []
    for p in people:
        if rng.random() < 0.45:
            posts.extend(zalo_posts(p, ch, rng, at))
        if rng.random() < 0.35:
            posts.append(sapo_order(p, ch, rng, at, len(posts)))
        if rng.random() < 0.25:
            posts.append(stringee_call(p, ch, rng, at, len(posts)))
    rng.shuffle(posts)
    return posts
