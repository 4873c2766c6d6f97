"""Applying a store's history (the Shopify import): contacts, orders and derived fields change as
for live events, but no journey hears of them, so a 2024 order sends no thank-you email today."""

from __future__ import annotations

from collections.abc import Iterable

from contacts.events import NormalizedEvent
from core.services import Services
from pipeline.ingest import apply_all


async def apply_history(services: Services, events: Iterable[NormalizedEvent]) -> int:
    """Apply events and what they derive (segments, tiers, redeemed coupons) without triggers;
    returns how many were new (a re-import applies 0)."""
    applied = await apply_all(services, events)
    count = len(applied)
    for item in applied:
        if item.emitted:
            await apply_all(services, item.emitted)
    return count
