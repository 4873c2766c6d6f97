"""The abandoned-checkout scan: a backlog of checkouts nobody can be emailed about must not starve it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from contacts.models import Checkout, Contact, Event
from core.services import Services
from jobs.checkouts import SCAN_BATCH, detect_abandoned_checkouts

START = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def _checkout(token: str, contact: Contact, at: dt.datetime) -> Checkout:
    return Checkout(token=token, contact=contact, email=contact.email or "", currency="EUR",
                    total_price=Decimal("49.90"), started_at=at, updated_at=at)


async def test_checkouts_without_an_email_do_not_block_the_scan(services: Services) -> None:
    visitor = await Contact.create(anonymous_id="anon-cart-hoarder")
    buyer = await Contact.create(email="late.buyer@example.com")
    # A full batch of unreachable checkouts, older than the one we can email.
    await Checkout.bulk_create([
        _checkout(f"anon-{n}", visitor, START + dt.timedelta(seconds=n)) for n in range(SCAN_BATCH + 5)
    ])
    await _checkout("reachable", buyer, START + dt.timedelta(hours=1)).save()
    now = START + dt.timedelta(days=1)
    assert await detect_abandoned_checkouts(services, now=now) == 1
    [event] = await Event.filter(type="checkout.abandoned")
    assert event.properties["token"] == "reachable" and event.contact_id == buyer.id
    assert await detect_abandoned_checkouts(services, now=now) == 0


async def test_due_checkouts_are_emitted_oldest_first(services: Services) -> None:
    people = [await Contact.create(email=f"buyer{n}@example.com") for n in range(3)]
    # Created newest first, so insertion order and age disagree.
    for n, person in enumerate(people):
        await _checkout(f"cart-{n}", person, START - dt.timedelta(hours=n)).save()
    assert await detect_abandoned_checkouts(services, now=START + dt.timedelta(days=1)) == 3
    emitted = await Event.filter(type="checkout.abandoned").order_by("id")
    assert [e.properties["token"] for e in emitted] == ["cart-2", "cart-1", "cart-0"]
