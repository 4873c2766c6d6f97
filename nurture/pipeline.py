"""Events in, journeys out: apply normalized events to contacts, then route them to journeys.

Webhook processing, the email open/click/unsubscribe endpoints and the abandoned-checkout
scan all go through `ingest`, so every event reaches goals, wait_for steps and triggers.
"""

from __future__ import annotations

from collections.abc import Iterable

from contacts.events import NormalizedEvent
from contacts.ingest import Applied, apply_all
from journeys.triggers import on_event
from nurture.bootstrap import Services


async def ingest(services: Services, events: Iterable[NormalizedEvent]) -> list[Applied]:
    applied = await apply_all(services, events)
    for item in applied:
        await on_event(services, item.contact, item.event)
        if item.emitted:  # tier changes, milestones, segments: they derive nothing further, so no loops
            await ingest(services, item.emitted)
    return applied
