"""Per-journey Prometheus counters for what happens after a send: opens, clicks, attributed orders.

Counted after the changes committed (pipeline.react), so a batch rolled back and applied again
counts once. Sends and conversions are counted where they happen (delivery, triggers).
"""

from __future__ import annotations

from tortoise.expressions import Q

from contacts.models import Event
from core.metrics import Metrics
from emails.models import Message
from journeys.models import Attribution, Journey
from journeys.touches import TOUCHES


async def _keys(journey_ids: set[int]) -> dict[int, str]:
    if not journey_ids:
        return {}
    return {int(i): str(k) for i, k in await Journey.filter(id__in=sorted(journey_ids)).values_list("id", "key")}


async def count_engagement(metrics: Metrics, events: list[Event]) -> None:
    """Opens and clicks on journey emails, by journey (one read of their messages for the batch)."""
    touched = [(TOUCHES[e.type], str(e.properties.get("message_id") or "")) for e in events if e.type in TOUCHES]
    ids = {message_id for _, message_id in touched if message_id}
    if not ids:
        return
    journeys: dict[str, int] = {}
    for message_id, provider_id, ref in await Message.filter(
            Q(message_id__in=sorted(ids)) | Q(provider_id__in=sorted(ids)), journey_ref__isnull=False).values_list(
            "message_id", "provider_id", "journey_ref"):
        journeys.update({key: int(ref) for key in (str(message_id), str(provider_id)) if key in ids})
    keys = await _keys({int(ref) for ref in journeys.values()})
    for kind, message_id in touched:
        if message_id in journeys:
            metrics.journey_engagement.labels(keys.get(int(journeys[message_id]), ""), kind).inc()


async def count_attributed(metrics: Metrics, rows: list[Attribution]) -> None:
    keys = await _keys({row.journey_ref for row in rows if row.journey_ref is not None})
    for row in rows:
        journey = keys.get(row.journey_ref, "") if row.journey_ref is not None else ""
        metrics.attributed_orders.labels(journey).inc()
        metrics.attributed_revenue.labels(journey, row.currency).inc(float(row.amount))
