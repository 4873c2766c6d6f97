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
from core.services import Services
from journeys.triggers import on_event
from pipeline import privacy, products
from pipeline.consent import request_confirmation
from pipeline.coupons import redemptions


async def apply_all(services: Services, events: Iterable[NormalizedEvent],
                    delivery_id: int | None = None) -> list[Applied]:
    """Apply each event in order; duplicates, events naming nobody and privacy requests apply nothing."""
    applied = []
    for event in events:
        if event.type in privacy.HANDLERS:
            await privacy.HANDLERS[event.type](services, storable(event))
        elif event.type in products.HANDLERS:
            await products.HANDLERS[event.type](services, storable(event))
        elif (result := await apply(services, event, delivery_id)) is not None:
            redeemed = await redemptions(result)
            applied.append(replace(result, emitted=result.emitted + tuple(redeemed)) if redeemed else result)
    return applied


async def ingest(services: Services, events: Iterable[NormalizedEvent], *,
                 delivery_id: int | None = None) -> list[Applied]:
    """`delivery_id`: the stored delivery the events were parsed from (erasure finds it by them)."""
    applied = await apply_all(services, events, delivery_id)
    for item in applied:
        if item.event.type == CONFIRMATION_REQUESTED:
            await request_confirmation(services, item.contact, item.event.idempotency_key)
        await on_event(services, item.contact, item.event)
        if item.emitted:  # tier changes, milestones, segments: they derive nothing further, so no loops
            await ingest(services, item.emitted)
    return applied
