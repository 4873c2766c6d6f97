"""Cron: a checkout left open for the configured time becomes `checkout.abandoned`, once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from contacts.events import NormalizedEvent
from contacts.models import Checkout
from core.services import Services
from pipeline.ingest import ingest


def abandoned_event(checkout: Checkout, email: str, now: dt.datetime) -> NormalizedEvent:
    return NormalizedEvent(
        type="checkout.abandoned", source="nurture",
        # One per checkout token, however often the scan runs or the checkout is updated.
        idempotency_key=f"checkout.abandoned:{checkout.token}",
        occurred_at=now, email=email,
        properties={
            "token": checkout.token, "line_items": checkout.line_items,
            "total_price": str(checkout.total_price), "currency": checkout.currency,
            "recovery_url": checkout.recovery_url, "started_at": checkout.started_at.isoformat(),
            "updated_at": checkout.updated_at.isoformat(),
        },
        object_key=f"checkout:{checkout.token}",
    )


SCAN_BATCH = 1000


async def detect_abandoned_checkouts(services: Services, now: dt.datetime | None = None) -> int:
    now = now or services.clock.now()
    cutoff = now - dt.timedelta(seconds=services.settings.checkout_abandon_after)
    # Only checkouts we can email: unreachable ones left in the batch would fill it on every run
    # and starve the rest. Oldest first, so a backlog drains in a stable order.
    due = await Checkout.filter(
        completed_at=None, abandoned_at=None, updated_at__lte=cutoff,
        contact__email__not_isnull=True, contact__email__not="",
    ).order_by("updated_at", "id").prefetch_related("contact").limit(SCAN_BATCH)
    emitted = 0
    for checkout in due:
        contact = checkout.contact
        if contact is None or not contact.email:  # excluded by the query; narrows the type
            continue
        if await ingest(services, [abandoned_event(checkout, contact.email, now)]):
            emitted += 1
    return emitted


async def scan_abandoned_checkouts(ctx: dict[str, Any]) -> int:
    return await detect_abandoned_checkouts(ctx["services"])
