"""Contact intelligence through the real pipeline: scores, tags, tiers, send hour, segments and their events."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from contacts.events import NormalizedEvent
from contacts.models import Contact, Event
from core.clock import ManualClock
from core.intelligence_config import IntelligenceConfig
from core.services import Services
from jobs.intelligence import refresh_contacts, refresh_intelligence
from journeys.models import Enrollment
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from pipeline.ingest import ingest
from tests.support import sample, shopify_headers

EMAIL = "kenji.tanaka@example.com"
DAY = dt.timedelta(days=1)
ENGAGEMENT_TAGS = {"engaged", "active", "inactive"}


def happened(kind: str, at: dt.datetime, *, key: str = "", email: str = EMAIL, profile: dict[str, Any] | None = None,
             **properties: Any) -> NormalizedEvent:
    return NormalizedEvent(type=kind, source="test", idempotency_key=key or f"{kind}:{uuid.uuid4().hex}",
                           occurred_at=at, email=email, profile=profile or {}, properties=properties)


def page(path: str, at: dt.datetime) -> NormalizedEvent:
    return happened("page.viewed", at, url=f"https://acme-audio.example{path}", path=path, title=path)


def order(order_id: int, total: str, at: dt.datetime, kind: str = "order.created") -> NormalizedEvent:
    items = [{"product_id": 9001, "title": "Studio Monitor X5", "quantity": 1, "price": total}]
    return happened(kind, at, key=f"{kind}:{order_id}", order_id=order_id, total_price=total, currency="EUR",
                    line_items=items, name=f"#{order_id}")


async def contact() -> Contact:
    return await Contact.get(email=EMAIL)


async def emitted(kind: str) -> list[dict[str, Any]]:
    return [e.properties for e in await Event.filter(type=kind).order_by("id")]


async def _publish(text: str) -> None:
    await import_spec(load_spec(text))
    await publish(load_spec(text).key)


@pytest.fixture
def segments(services: Services) -> Iterator[None]:
    original = services.workspace
    config = IntelligenceConfig(segments={"vip": "contact.total_spent >= 500"})
    services.workspace = original.model_copy(update={"intelligence": config})
    yield
    services.workspace = original


HOT_LEAD_JOURNEY = """
key: hot-lead-segment
name: Hot lead by score
trigger: {segment: "contact.lead_score >= 50"}
steps:
  - update: {add_tags: [hot-lead-alerted]}
"""


async def test_lead_score_rises_and_crossing_the_threshold_enters_journeys(
    services: Services, clock: ManualClock
) -> None:
    await _publish(HOT_LEAD_JOURNEY)
    now = clock.now()
    await ingest(services, [page("/pricing", now), page("/pricing/teams", now), page("/demo", now),
                            page("/blog/mixing", now)])
    await ingest(services, [happened("form.submitted", now, form_key="contact-sales", fields={})])
    assert (await contact()).lead_score == 11 + 11 + 11 + 1 + 15
    assert await Enrollment.all().count() == 0
    await ingest(services, [happened("email.clicked", now, url="https://acme-audio.example/pricing")])
    person = await contact()
    assert person.lead_score == 52
    assert await Enrollment.filter(contact=person).count() == 1  # the segment trigger saw the fresh score
    assert await emitted("segment.entered") == [{"segment": "hot-lead"}]
    assert person.attributes["segments"] == ["hot-lead"]
    await ingest(services, [page("/pricing", now + dt.timedelta(minutes=5)) for _ in range(10)])
    assert (await contact()).lead_score == 100  # capped
    assert await emitted("segment.entered") == [{"segment": "hot-lead"}]  # once, not per event


async def test_lead_score_decays_weekly_through_the_cron(services: Services, clock: ManualClock) -> None:
    start = clock.now()
    await ingest(services, [page("/pricing", start) for _ in range(5)])  # 55 points
    assert (await contact()).lead_score == 55
    clock.advance(6 * DAY)
    assert await refresh_intelligence({"services": services}) == 0  # the cron job itself
    assert (await contact()).lead_score == 55  # not a full idle week yet
    clock.advance(2 * DAY)
    await refresh_contacts(services)
    await refresh_contacts(services)  # running twice a day decays once
    person = await contact()
    assert person.lead_score == 49
    assert await emitted("segment.exited") == [{"segment": "hot-lead"}]
    clock.advance(14 * DAY)
    await refresh_contacts(services)
    assert (await contact()).lead_score == 39  # 49 -> 44 -> 39
    await ingest(services, [page("/pricing", clock.now())])
    clock.advance(3 * DAY)
    await refresh_contacts(services)
    assert (await contact()).lead_score == 50  # activity restarted the idle count


async def test_engagement_tags_follow_events_and_time(services: Services, clock: ManualClock) -> None:
    start = clock.now()
    await ingest(services, [page("/", start)])
    person = await contact()
    assert set(person.tags) & ENGAGEMENT_TAGS == {"active"} and person.engagement_score == 1
    await ingest(services, [happened("email.clicked", start)])
    person = await contact()
    assert set(person.tags) & ENGAGEMENT_TAGS == {"engaged"} and person.engagement_score == 4
    clock.advance(31 * DAY)
    await refresh_contacts(services)
    person = await contact()
    assert set(person.tags) & ENGAGEMENT_TAGS == {"active"}
    assert person.engagement_score == 2  # halved after a month
    clock.advance(60 * DAY)
    await refresh_contacts(services)
    assert set((await contact()).tags) & ENGAGEMENT_TAGS == {"inactive"}
    await ingest(services, [happened("order.created", clock.now(), order_id=77, total_price="20.00")])
    assert set((await contact()).tags) & ENGAGEMENT_TAGS == {"engaged"}
    assert await emitted("engagement.tag_changed") == [
        {"from_tag": "active", "to_tag": "engaged"},
        {"from_tag": "engaged", "to_tag": "active"},
        {"from_tag": "active", "to_tag": "inactive"},
        {"from_tag": "inactive", "to_tag": "engaged"},
    ]


async def test_emitted_events_are_not_activity(services: Services, clock: ManualClock) -> None:
    start = clock.now()
    await ingest(services, [page("/pricing", start) for _ in range(5)])
    clock.advance(8 * DAY)
    await refresh_contacts(services)
    assert await emitted("segment.exited")
    person = await contact()
    assert person.last_activity_at == start
    assert person.lead_score == 49


async def test_loyalty_points_tiers_and_milestones(services: Services, clock: ManualClock) -> None:
    at = clock.now()
    for number in range(1, 5):
        await ingest(services, [order(number, "120.00", at + number * DAY)])
    person = await contact()
    assert (person.loyalty_points, person.loyalty_tier) == (480, "bronze")
    assert await emitted("loyalty.tier_changed") == []  # the first tier is silent by default
    await ingest(services, [order(5, "120.00", at + 5 * DAY), order(5, "120.00", at + 5 * DAY),
                            order(5, "120.00", at + 5 * DAY, kind="order.paid")])
    person = await contact()
    assert (person.loyalty_points, person.loyalty_tier, person.orders_count) == (600, "silver", 5)
    assert await emitted("loyalty.tier_changed") == [{"from_tier": "bronze", "to_tier": "silver", "points": 600}]
    assert await emitted("order.milestone") == [{"count": 5}]
    await ingest(services, [happened("order.cancelled", at + 6 * DAY, key="order.cancelled:5", order_id=5,
                                     total_price="120.00")])
    person = await contact()
    assert (person.loyalty_points, person.loyalty_tier) == (480, "bronze")
    assert (await emitted("loyalty.tier_changed"))[-1] == {"from_tier": "silver", "to_tier": "bronze", "points": 480}
    for number in range(6, 11):
        await ingest(services, [order(number, "10.00", at + number * DAY)])
    assert await emitted("order.milestone") == [{"count": 5}, {"count": 10}]


async def test_order_paid_first_earns_points_once(services: Services, clock: ManualClock) -> None:
    at = clock.now()
    await ingest(services, [order(1, "75.50", at, kind="order.paid")])
    await ingest(services, [order(1, "75.50", at)])
    person = await contact()
    assert (person.loyalty_points, person.orders_count) == (75, 1)


async def test_shopify_order_webhook_feeds_loyalty_and_interest(
    client: TestClient, services: Services, run_worker: Any
) -> None:
    body = sample("shopify/orders-create.json")
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, "orders/create")
    assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200
    await run_worker()
    person = await Contact.get(email="hana.sato@example.com")
    assert person.loyalty_points == 14080 and person.loyalty_tier == "gold"
    assert {"interest:8011122233344", "interest:8011122299880"} <= set(person.tags)
    assert len(set(person.tags) & ENGAGEMENT_TAGS) == 1


async def test_product_interest_tag_after_three_views(services: Services, clock: ManualClock) -> None:
    for _ in range(2):
        await ingest(services, [page("/products/studio-monitor-x5", clock.now())])
    assert not [t for t in (await contact()).tags if t.startswith("interest:")]
    await ingest(services, [page("/products/studio-monitor-x5", clock.now())])
    assert "interest:studio-monitor-x5" in (await contact()).tags


async def test_best_send_hour_learned_from_opens_and_clicks(services: Services, clock: ManualClock) -> None:
    tokyo = {"timezone": "Asia/Tokyo"}
    day = dt.datetime(2026, 3, 10, 23, 15, tzinfo=dt.UTC)  # 08:15 in Tokyo
    await ingest(services, [happened("email.opened", day, profile=tokyo)])
    await ingest(services, [happened("email.clicked", day + DAY)])
    assert (await contact()).best_send_hour is None  # two data points are not enough
    await ingest(services, [happened("email.opened", day + 2 * DAY - dt.timedelta(hours=18))])  # 14:15 local
    person = await contact()
    assert person.best_send_hour == 8
    assert person.attributes["_send_hours"] == {"8": 2, "14": 1}


VIP_JOURNEY = """
key: vip-welcome
name: VIP welcome
trigger: {event: segment.entered, where: "event.properties.segment == 'vip'"}
steps:
  - update: {add_tags: [vip-welcomed]}
"""


async def test_dynamic_segments_emit_entered_and_exited(
    services: Services, clock: ManualClock, segments: None
) -> None:
    await _publish(VIP_JOURNEY)
    at = clock.now()
    await ingest(services, [order(1, "300.00", at)])
    assert await emitted("segment.entered") == []
    await ingest(services, [order(2, "250.00", at + DAY)])
    person = await contact()
    assert person.attributes["segments"] == ["vip"]
    entered = await Event.get(type="segment.entered")
    assert entered.properties == {"segment": "vip"} and entered.source == "nurture"
    assert await Enrollment.filter(contact=person).count() == 1  # a journey triggered on the emitted event
    await ingest(services, [happened("order.cancelled", at + 2 * DAY, key="order.cancelled:2", order_id=2)])
    assert await emitted("segment.exited") == [{"segment": "vip"}]
    assert (await contact()).attributes["segments"] == []
    await ingest(services, [page("/", at + 3 * DAY)])
    assert await Event.filter(type__startswith="segment.").count() == 2  # no loops, no repeats


async def test_cron_leaves_non_buyers_out_of_the_loyalty_programme(services: Services, clock: ManualClock) -> None:
    await ingest(services, [page("/", clock.now())])
    clock.advance(DAY)
    assert await refresh_contacts(services) == 0
    person = await contact()
    assert (person.loyalty_tier, person.loyalty_points) == ("", 0)
    assert await Event.filter(source="nurture").count() == 0
