"""Orders are credited to the email last clicked (else opened) before them, whether or not the buyer
is still in the journey; refunds come off; an order outside the windows earns nothing; the numbers
stay put when the windows change, until recomputed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from contacts.events import NormalizedEvent
from contacts.models import Consent, Contact
from core.clock import ManualClock
from core.services import Services
from core.workspace import AttributionConfig
from emails.models import Message
from journeys.analytics import funnel
from journeys.attribution import recompute
from journeys.manual import start_for_segment
from journeys.models import Attribution, Enrollment, Journey, TraceEntry
from journeys.outcomes import JourneyStats, journey_stats
from journeys.store import import_spec, live_version, loaded, publish
from journeys.validation import load_spec
from pipeline.ingest import ingest

SPLIT = """
key: attributed
name: Attributed
trigger: {manual: true}
goal: {event: order.created}
steps:
  - split:
      arms:
        - {name: A, steps: [{email: test-email, name: First email A}]}
        - {name: B, steps: [{email: test-email, name: First email B}]}
  - wait: 1d
  - email: test-email
    name: Second email
"""
PEOPLE = ("alice", "bob", "cara", "dan")


def event(kind: str, who: str, at: dt.datetime, key: str, **properties: Any) -> NormalizedEvent:
    return NormalizedEvent(type=kind, source="test" if kind.startswith("email") else "shopify",
                           idempotency_key=key, occurred_at=at, email=f"{who}@example.com", properties=properties)


def order(who: str, number: int, at: dt.datetime, total: str) -> NormalizedEvent:
    return event("order.created", who, at, f"order:{number}", order_id=number, total_price=total, currency="EUR",
                 name=f"#{number}", line_items=[])


async def message(who: str, step: str) -> Message:
    return await Message.get(contact__email=f"{who}@example.com", step_ref=step)


async def stats() -> JourneyStats:
    journey = await Journey.get(key="attributed")
    version = await live_version(journey)
    assert version is not None
    return await journey_stats(await funnel(journey), journey.id, loaded(version).program)


async def test_orders_are_credited_to_the_last_click_else_open(
        services: Services, clock: ManualClock, drive: Callable[[], Awaitable[int]]) -> None:
    await Contact.bulk_create([Contact(email=f"{p}@example.com", consent=Consent.SUBSCRIBED) for p in PEOPLE])
    await import_spec(load_spec(SPLIT))
    await publish("attributed")
    await start_for_segment(services, "attributed", "contact.email")
    await drive()
    sent = clock.now()
    first = {p: await Message.get(contact__email=f"{p}@example.com") for p in PEOPLE}
    arm = {p: first[p].variant for p in PEOPLE}
    assert set(arm.values()) <= {"A", "B"} and all(first[p].step_ref for p in PEOPLE)
    hour = dt.timedelta(hours=1)
    await ingest(services, [
        event("email.clicked", "alice", sent + hour, "c-alice", message_id=first["alice"].message_id),
        event("email.opened", "bob", sent + hour, "o-bob", message_id=first["bob"].message_id),
        event("email.clicked", "cara", sent + hour, "c-cara", message_id=first["cara"].message_id),
        order("bob", 2, sent + 10 * hour, "50.00")])  # opened 9 h before, within the 1-day open window
    assert (await Enrollment.get(contact__email="bob@example.com")).exit_reason == "converted"  # still inside
    clock.advance(dt.timedelta(days=1, minutes=1))
    await drive()  # the second email; then the journey ends for everyone
    second_step = (await Message.filter(template="test-email", contact__email="dan@example.com")
                   .order_by("id"))[-1].step_ref
    dan_second = await message("dan", second_step)
    assert (await Enrollment.get(contact__email="dan@example.com")).state == "completed"
    await ingest(services, [
        event("email.clicked", "dan", sent + 25 * hour, "c-dan", message_id=dan_second.message_id),
        order("alice", 1, sent + 2 * 24 * hour, "100.00"),  # clicked 47 h before, journey over by then
        order("dan", 4, sent + 3 * 24 * hour, "80.00"),  # the second email's click
        order("cara", 3, sent + 6 * 24 * hour, "70.00"),  # clicked 6 days before: outside the 5-day window
    ])
    await ingest(services, [NormalizedEvent(type="order.refunded", source="shopify", idempotency_key="refund:4",
                                            occurred_at=sent + 4 * 24 * hour, shopify_order_id=4,
                                            properties={"order_id": 4, "amount": "30.00", "currency": "EUR"})])

    credited = {a.contact_id: a for a in await Attribution.all()}
    ids = {p: (await Contact.get(email=f"{p}@example.com")).id for p in PEOPLE}
    assert set(credited) == {ids["alice"], ids["bob"], ids["dan"]}
    assert (credited[ids["alice"]].touch, credited[ids["alice"]].message_ref) == ("click", first["alice"].id)
    assert (credited[ids["bob"]].touch, credited[ids["bob"]].message_ref) == ("open", first["bob"].id)
    assert (credited[ids["dan"]].touch, credited[ids["dan"]].step_ref) == ("click", second_step)

    result = await stats()
    assert (result.entered, result.converted, result.completed) == (4, 1, 3)
    assert (result.orders, [(m.currency, m.amount) for m in result.revenue]) == (3, [("EUR", "200.00")])
    per_email = {e.step: (e.sent, e.opened, e.clicked, e.orders, [m.amount for m in e.revenue])
                 for e in result.emails}
    for variant in ("A", "B"):
        step = next((first[p].step_ref for p in PEOPLE if arm[p] == variant), None)
        if step is None:
            continue
        buyers = [p for p in ("alice", "bob") if arm[p] == variant]
        revenue = sum((Decimal({"alice": "100.00", "bob": "50.00"}[p]) for p in buyers), Decimal(0))
        assert per_email[step][3:] == (len(buyers), [f"{revenue:.2f}"] if buyers else [])
    assert per_email[second_step] == (3, 1, 1, 1, ["50.00"])  # not Bob (converted); a click is an open too; 80-30
    per_arm = {a.arm: (a.orders, [m.amount for m in a.revenue]) for a in result.arms}
    for a in result.arms:  # first emails to everyone on the arm, the second to all but Bob; clicked: Alice, Cara, Dan
        people = [p for p in PEOPLE if arm[p] == a.arm]
        assert (a.entered, a.sent) == (len(people), 2 * len(people) - ("bob" in people))
        assert a.clicked == sum(1 for p in people if p in ("alice", "cara")) + ("dan" in people)
    for variant in ("A", "B"):
        buyers = [p for p in ("alice", "bob", "dan") if arm[p] == variant]
        amount = sum((Decimal({"alice": "100.00", "bob": "50.00", "dan": "50.00"}[p]) for p in buyers), Decimal(0))
        assert per_arm.get(variant, (0, [])) == (len(buyers), [f"{amount:.2f}"] if buyers else [])
    trace = await TraceEntry.filter(contact_id=ids["alice"], kind="attributed").values_list("message", flat=True)
    assert len(trace) == 1 and "order #1 (100.00 EUR) attributed to email 'test-email': last click" in trace[0]

    counters = services.metrics.render().decode()
    for line in ('nurture_journey_emails_sent_total{journey="attributed"} 7.0',
                 'nurture_journey_engagement_total{journey="attributed",kind="click"} 3.0',
                 'nurture_journey_engagement_total{journey="attributed",kind="open"} 1.0',
                 'nurture_journey_conversions_total{journey="attributed"} 1.0',  # Bob bought inside the journey
                 'nurture_journey_attributed_orders_total{journey="attributed"} 3.0',
                 'nurture_journey_attributed_revenue_total{currency="EUR",journey="attributed"} 230.0'):
        assert line in counters, line

    # Wider windows change nothing already decided, until recomputed: then Cara's order counts too.
    wider = AttributionConfig(click_window="7d")  # type: ignore[arg-type]
    await ingest(services, [order("cara", 5, sent + 6 * 24 * hour + hour, "10.00")])  # decided with the old ones
    assert (await stats()).orders == 3
    assert await recompute(wider) == (5, 5)
    after = await stats()
    assert (after.orders, [m.amount for m in after.revenue]) == (5, ["280.00"])


async def test_a_click_reported_after_its_order_still_earns_it(
        services: Services, clock: ManualClock, drive: Callable[[], Awaitable[int]]) -> None:
    await Contact.create(email="alice@example.com", consent=Consent.SUBSCRIBED)
    await import_spec(load_spec(SPLIT))
    await publish("attributed")
    await start_for_segment(services, "attributed", "contact.email")
    await drive()
    sent = clock.now()
    mail = await Message.get(contact__email="alice@example.com")
    await ingest(services, [order("alice", 7, sent + dt.timedelta(hours=3), "42.00")])
    assert not await Attribution.exists()  # no touch known yet
    # The provider's click webhook arrives late; the click itself came an hour before the order.
    await ingest(services, [event("email.clicked", "alice", sent + dt.timedelta(hours=2), "late-click",
                                  message_id=mail.message_id)])
    credited = await Attribution.get()
    assert (credited.message_ref, credited.touch, credited.amount) == (mail.id, "click", Decimal("42.00"))
    await ingest(services, [event("email.opened", "alice", sent + dt.timedelta(hours=2, minutes=5), "late-open",
                                  message_id=mail.message_id)])
    assert await Attribution.all().count() == 1  # decided once
