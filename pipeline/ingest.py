"""Events in, journeys out: apply normalized events to contacts, then route them to journeys.

Webhook processing, the email open/click/unsubscribe endpoints and the abandoned-checkout
scan all go through `ingest`, so every event reaches goals, wait_for steps and triggers.
Privacy requests (export, erasure) touch every domain, so they are handled here, above them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from contacts.batch import Batch
from contacts.consent import CONFIRMATION_REQUESTED
from contacts.events import NormalizedEvent
from contacts.ingest import Applied, apply, apply_in_batch, storable
from core.services import Services
from journeys.attribution import ORDER_EVENTS, attribute_late_touches, attribute_orders
from journeys.counters import count_attributed, count_engagement
from journeys.store import live_plans
from journeys.touches import TOUCHES
from journeys.triggers import in_flight_by_contact, on_event
from pipeline import privacy, products
from pipeline.consent import request_confirmation
from pipeline.coupons import redemptions


async def apply_all(services: Services, events: Iterable[NormalizedEvent], delivery_id: int | None = None,
                    batch: Batch | None = None) -> list[Applied]:
    """Apply each event in order; duplicates, events naming nobody and privacy requests apply nothing.
    `batch`: apply in the caller's transaction through it (the caller loaded it for these events and
    flushes it); else each event in a transaction of its own."""
    applied = []
    for event in events:
        if event.type in privacy.HANDLERS:
            await privacy.HANDLERS[event.type](services, storable(event))
        elif event.type in products.HANDLERS:
            await products.HANDLERS[event.type](services, storable(event))
        elif (result := await apply(services, event, delivery_id) if batch is None
              else await apply_in_batch(services, batch, event, delivery_id)) is not None:
            redeemed = await redemptions(result)
            applied.append(replace(result, emitted=result.emitted + tuple(redeemed)) if redeemed else result)
    return applied


async def react(services: Services, applied: list[Applied]) -> None:
    """After the changes committed: confirmation emails, journeys, then what the events derived.

    Read once for the batch: the live journeys, and the enrollments of each contact with one event
    in it (a contact's second event must see what its first one started or ended, so those read
    their own)."""
    if not applied:
        return
    attributed = await attribute_orders(services.workspace.attribution, [
        int(item.event.properties["order_id"]) for item in applied
        if item.event.type in ORDER_EVENTS and str(item.event.properties.get("order_id", "")).isdigit()])
    attributed += await attribute_late_touches(services.workspace.attribution, [
        (item.contact.id, item.event.occurred_at) for item in applied if item.event.type in TOUCHES])
    await count_attributed(services.metrics, attributed)
    await count_engagement(services.metrics, [item.event for item in applied])
    plans = await live_plans()
    events_of = Counter(item.contact.id for item in applied)
    in_flight = await in_flight_by_contact(sorted(c for c, n in events_of.items() if n == 1))
    for item in applied:
        if item.event.type == CONFIRMATION_REQUESTED:
            await request_confirmation(services, item.contact, item.event.idempotency_key)
        await on_event(services, item.contact, item.event, plans, in_flight.get(item.contact.id))
    # Tier changes, milestones, segments (after the journeys saw their causes): they derive nothing
    # further, so no loops.
    await ingest_derived(services, [event for item in applied for event in item.emitted])


async def ingest_derived(services: Services, events: list[NormalizedEvent]) -> None:
    """Events the batch derived, applied as one batch (one by one when a concurrent copy collides)."""
    if not events:
        return
    try:
        async with in_transaction():
            batch = await Batch.load(events)
            applied = await apply_all(services, events, batch=batch)
            await batch.flush()
        applied = [a for a in applied if a.contact.id not in batch.forgotten]
    except IntegrityError:
        applied = await apply_all(services, events)
    await react(services, applied)


def needs_its_own_transaction(event: NormalizedEvent) -> bool:
    """Privacy requests erase and export across every domain: never inside another delivery's batch."""
    return event.type in privacy.HANDLERS


async def ingest(services: Services, events: Iterable[NormalizedEvent], *,
                 delivery_id: int | None = None) -> list[Applied]:
    """`delivery_id`: the stored delivery the events were parsed from (erasure finds it by them)."""
    applied = await apply_all(services, events, delivery_id)
    await react(services, applied)
    return applied
