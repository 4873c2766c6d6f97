"""Events in, journeys out: apply normalized events to contacts, then route them to journeys.

Webhook processing, the email open/click/unsubscribe endpoints and the abandoned-checkout
scan all go through `ingest`, so every event reaches goals, wait_for steps and triggers.
Privacy requests (export, erasure) touch every domain, so they are handled here, above them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from contacts.consent import CONFIRMATION_REQUESTED
from contacts.events import NormalizedEvent
from contacts.ingest import Applied, apply, storable
from contacts.models import Event
from core.services import Services
from journeys.store import live_plans
from journeys.triggers import on_event
from pipeline import privacy, products
from pipeline.consent import request_confirmation
from pipeline.coupons import redemptions


def stored_key(event: NormalizedEvent) -> str:
    """The idempotency key as the events table holds it (storable() drops NUL; the column is 200 long)."""
    return event.idempotency_key.replace("\x00", "")[:200]


async def unseen_keys(events: Iterable[NormalizedEvent]) -> set[str]:
    """The idempotency keys among `events` that no stored event has: one query for a whole batch."""
    keys = {stored_key(event) for event in events}
    return keys - set(await Event.filter(idempotency_key__in=list(keys)).values_list("idempotency_key", flat=True))


async def apply_all(services: Services, events: Iterable[NormalizedEvent],
                    delivery_id: int | None = None, unseen: set[str] | None = None) -> list[Applied]:
    """Apply each event in order; duplicates, events naming nobody and privacy requests apply nothing.
    `unseen`: keys looked up in this transaction and not found (unseen_keys), so not looked up again."""
    applied = []
    for event in events:
        if event.type in privacy.HANDLERS:
            await privacy.HANDLERS[event.type](services, storable(event))
        elif event.type in products.HANDLERS:
            await products.HANDLERS[event.type](services, storable(event))
        elif unseen is not None and stored_key(event) not in unseen:
            continue  # stored before this batch, or earlier in it: a duplicate
        elif (result := await apply(services, event, delivery_id,
                                    known_new=unseen is not None)) is not None:
            if unseen is not None:
                unseen.discard(stored_key(event))
            redeemed = await redemptions(result)
            applied.append(replace(result, emitted=result.emitted + tuple(redeemed)) if redeemed else result)
    return applied


async def react(services: Services, applied: list[Applied]) -> None:
    """After the changes committed: confirmation emails, journeys, and what the events derived."""
    plans = await live_plans() if applied else []  # the same live journeys for the whole batch
    for item in applied:
        if item.event.type == CONFIRMATION_REQUESTED:
            await request_confirmation(services, item.contact, item.event.idempotency_key)
        await on_event(services, item.contact, item.event, plans)
        if item.emitted:  # tier changes, milestones, segments: they derive nothing further, so no loops
            await ingest(services, item.emitted)


def needs_its_own_transaction(event: NormalizedEvent) -> bool:
    """Privacy requests erase and export across every domain: never inside another delivery's batch."""
    return event.type in privacy.HANDLERS


async def ingest(services: Services, events: Iterable[NormalizedEvent], *,
                 delivery_id: int | None = None) -> list[Applied]:
    """`delivery_id`: the stored delivery the events were parsed from (erasure finds it by them)."""
    applied = await apply_all(services, events, delivery_id)
    await react(services, applied)
    return applied
