"""Journeys run through real arq workers on the test backend, on a hand-moved clock."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from contacts.models import Consent, Contact
from core.clock import ManualClock
from core.services import Services
from emails.models import Message
from jobs.checkouts import detect_abandoned_checkouts
from journeys.models import Enrollment, EnrollmentState, InFlightPolicy, StepRun, TraceEntry
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from tests.support import sample, shopify_headers

Drive = Callable[[], Awaitable[int]]
CART = """
key: abandoned-cart
name: Abandoned cart recovery
trigger: {event: checkout.abandoned, keyed: true}
entry: {policy: once_per, period: 30d}
goal: {event: order.created, same_key: false}
steps:
  - wait: 1h
  - email: cart-reminder
  - wait_for: {event: email.clicked, timeout: 24h}
    on_timeout:
      - email: cart-discount
  - update: {add_tags: [cart-reminded]}
"""


async def _abandon_checkout(client: TestClient, services: Services, clock: ManualClock, drive: Drive) -> Contact:
    body = sample("shopify/checkouts-create.json")
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, "checkouts/create")
    assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200
    await drive()
    clock.set(dt.datetime(2026, 3, 6, 2, 0, tzinfo=dt.UTC))  # 2 h after the checkout's last update
    assert await detect_abandoned_checkouts(services) == 1
    await drive()
    return await Contact.get(email="leo.martin@example.com")


async def _publish(text: str) -> None:
    await import_spec(load_spec(text))
    await publish(load_spec(text).key)


async def test_abandoned_cart_runs_its_steps_once(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive
) -> None:
    await _publish(CART)
    contact = await _abandon_checkout(client, services, clock, drive)
    enrollment = await Enrollment.get(contact=contact)
    assert enrollment.object_key == "checkout:4b6a1c0e2f9d8c7b6a5f4e3d2c1b0a99"
    assert enrollment.state == EnrollmentState.WAITING and enrollment.cursor == "1"
    assert await Message.all().count() == 0
    clock.advance(dt.timedelta(hours=1))
    await drive()
    await drive()  # a second pass changes nothing
    messages = await Message.filter(contact=contact).order_by("id")
    assert [m.template for m in messages] == ["cart-reminder"]
    assert messages[0].context["cart"]["recovery_url"].startswith("https://")
    clock.advance(dt.timedelta(hours=25))
    await drive()
    assert [m.template for m in await Message.filter(contact=contact).order_by("id")] == [
        "cart-reminder", "cart-discount"]
    await enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.COMPLETED
    assert "cart-reminded" in (await Contact.get(id=contact.id)).tags
    seqs = await StepRun.filter(enrollment=enrollment).values_list("seq", flat=True)
    assert sorted(seqs) == list(range(len(seqs)))
    trace = [t.message for t in await TraceEntry.filter(contact=contact).order_by("id")]
    assert trace[0] == "entered abandoned-cart because checkout.abandoned arrived"
    assert "no email.clicked within 24h: took the timeout path" in trace


async def test_click_takes_the_event_path_and_order_converts(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive
) -> None:
    await _publish(CART.replace("on_timeout:\n      - email: cart-discount", "then: [{wait: 10d}]"))
    contact = await _abandon_checkout(client, services, clock, drive)
    clock.advance(dt.timedelta(hours=1))
    await drive()
    from contacts.events import NormalizedEvent
    from pipeline.ingest import ingest

    click = NormalizedEvent(type="email.clicked", source="email", idempotency_key="click-1",
                            occurred_at=clock.now(), email=contact.email, properties={"url": "https://x.example"})
    await ingest(services, [click])
    await drive()
    enrollment = await Enrollment.get(contact=contact)
    # The event path's 10-day wait ran: parked before the next step.
    assert enrollment.cursor == "3" and enrollment.state == EnrollmentState.WAITING
    assert enrollment.next_run_at == clock.now() + dt.timedelta(days=10)
    assert await StepRun.filter(enrollment=enrollment, step_id="2/event/0").count() == 1
    order = json.loads(sample("shopify/orders-create.json"))
    order["email"] = contact.email
    order["customer"] = None
    body = json.dumps(order).encode()
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, "orders/create")
    await client.post("/webhooks/shopify", data=body, headers=headers)
    await drive()
    await enrollment.refresh_from_db()
    assert enrollment.state == EnrollmentState.EXITED and enrollment.exit_reason == "converted"


async def test_new_version_keeps_running_enrollments_on_theirs(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive
) -> None:
    await _publish(CART)
    contact = await _abandon_checkout(client, services, clock, drive)
    first = await Enrollment.get(contact=contact)
    edited = CART.replace("wait: 1h", "wait: 2h")
    await import_spec(load_spec(edited))
    version, moved = await publish("abandoned-cart", InFlightPolicy.STAY)
    assert version.number == 2 and moved == 0
    await first.refresh_from_db()
    assert first.version_id != version.id
    await import_spec(load_spec(edited.replace("wait: 2h", "wait: 3h")))
    version, moved = await publish("abandoned-cart", InFlightPolicy.MOVE)
    assert moved == 1
    await first.refresh_from_db()
    assert first.version_id == version.id


async def test_owner_sender_signs_as_the_rep(
    services: Services, clock: ManualClock, drive: Drive, outbox: Callable[[], Awaitable[list]]
) -> None:
    await _publish("""
key: rep-note
name: Note from your rep
trigger: {manual: true}
steps:
  - email: quote-follow-up
    sender: owner
""")
    await Contact.create(email="maria.rossi@example.com", first_name="Maria", owner="UREP1",
                         consent=Consent.SUBSCRIBED)
    from journeys.manual import start_for_contact

    await start_for_contact(services, "rep-note", "maria.rossi@example.com")
    await drive()
    (sent,) = await outbox()
    assert sent["From"].addresses[0].display_name == "Kenji Sato"
    assert str(sent["Reply-To"]) == "kenji.sato@acme-audio.example"
