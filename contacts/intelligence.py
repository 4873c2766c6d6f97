"""Contact intelligence: lead score, engagement, loyalty, interests, send hour and segments kept current.

`update_for_event` runs for every applied event inside the ingest transaction (contact row
locked, so the update commits or rolls back with the event, and journeys see it fresh);
`refresh` runs from the daily cron for the passage of time in its own transaction. Both
apply the pure rules (contacts.scoring, .loyalty, .preferences, .segments) and return the
events to emit (`loyalty.tier_changed`, `order.milestone`, `engagement.tag_changed`,
`segment.entered` / `segment.exited`), which the pipeline ingests after the journeys saw
the cause. Emitted events never run these rules again, so a segment event cannot loop.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tortoise import connections

from contacts import loyalty, preferences, scoring, segments
from contacts.events import EMITTED_TYPES, NormalizedEvent
from contacts.models import Contact, Event, Order
from contacts.view import contact_view
from core.intelligence_config import IntelligenceConfig

ORDER_EVENTS = {"order.created", "order.paid", "order.fulfilled"}
LOYALTY_EVENTS = ORDER_EVENTS | {"order.cancelled", "order.refunded"}
INTEREST_EVENTS = {"order.created", "order.paid", "page.viewed"}
InterestCounts = Callable[[int], list[tuple[str, int, int]]]


@dataclass
class Pass:
    """One update of one locked contact; collects the events it has to emit."""

    contact: Contact
    config: IntelligenceConfig
    now: dt.datetime
    cause: str
    at: dt.datetime
    emitted: list[NormalizedEvent] = field(default_factory=list)

    def emit(self, kind: str, properties: dict[str, Any], key: str) -> None:
        c = self.contact
        self.emitted.append(NormalizedEvent(
            type=kind, source="nurture", idempotency_key=key[:200], occurred_at=self.at,
            email=c.email, shopify_customer_id=None if c.email else c.shopify_customer_id,
            anonymous_id=None if c.email or c.shopify_customer_id is not None else c.anonymous_id,
            properties=properties,
        ))

    def set_attribute(self, name: str, value: Any) -> None:
        if self.contact.attributes.get(name) != value:
            self.contact.attributes = {**self.contact.attributes, name: value}


def event_view(event: Event) -> dict[str, Any]:
    return {"id": event.id, "type": event.type, "properties": event.properties, "object_key": event.object_key,
            "occurred_at": event.occurred_at.isoformat(), "source": event.source}


def _score(run: Pass, event: Event) -> None:
    config = run.config.scoring
    if not any(rule.event == event.type for rule in config.rules):
        return
    points = scoring.lead_points(config, event_view(event), contact_view(run.contact))
    if points:
        run.contact.lead_score = scoring.add_points(run.contact.lead_score, points, config.max_score)


def _decay(run: Pass) -> None:
    c = run.contact
    if c.lead_score <= 0:
        return
    idle_since = c.last_activity_at or c.created_at
    score, state = scoring.decay(c.lead_score, idle_since, run.now, run.config.scoring.decay,
                                 c.attributes.get("_lead_decay"))
    c.lead_score = score
    run.set_attribute("_lead_decay", state)


def _engagement(run: Pass, event: Event | None) -> None:
    config, c = run.config.engagement, run.contact
    added = scoring.faded(config.weights.get(event.type, 0), event.occurred_at, run.now, config) if event else 0.0
    c.engagement_score, state = scoring.engagement_update(
        c.attributes.get("_engagement"), c.engagement_score, added, run.now, config)
    run.set_attribute("_engagement", state)
    if event is not None and event.type in scoring.tracked_types(config):
        run.set_attribute("_last_seen", scoring.seen(c.attributes.get("_last_seen"), event.type, event.occurred_at))
    family = scoring.engagement_tags(config)
    before = scoring.current_tag(c.tags, family)
    chosen = scoring.engagement_tag(scoring.parse_seen(c.attributes.get("_last_seen")),
                                    c.last_activity_at or c.created_at, run.now, config)
    c.tags = scoring.retag(c.tags, chosen, family)
    if before and before != chosen:
        run.emit("engagement.tag_changed", {"from_tag": before, "to_tag": chosen},
                 f"engagement.tag_changed:{chosen}:{c.id}:{run.cause}")


async def _cancelled_total(event: Event) -> Decimal | None:
    """What the order this very event cancelled still counted for (None when it was cancelled
    before or is unknown): its total less what refunds already took back."""
    order = await Order.get_or_none(shopify_id=event.properties.get("order_id"))
    if order is None or order.cancelled_at is None or order.cancelled_at != event.occurred_at:
        return None
    return order.still_counted()


async def _refund_counts(event: Event) -> bool:
    """A refund of an order still standing (a cancelled one gave all its points back already)."""
    order = await Order.get_or_none(shopify_id=event.properties.get("order_id"))
    return order is not None and order.cancelled_at is None


async def _loyalty(run: Pass, event: Event) -> None:
    config, c = run.config.loyalty, run.contact
    currency = str(event.properties.get("currency") or "")
    if event.type in ORDER_EVENTS:
        state = c.attributes.get("_loyalty") or {}
        before = int(state.get("orders", c.orders_count - 1))
        if c.orders_count > before:
            c.loyalty_points += loyalty.points_for(event.properties.get("total_price"), config, currency)
            for count in loyalty.milestones_crossed(before, c.orders_count, config):
                run.emit("order.milestone", {"count": count}, f"order.milestone:{count}:{c.id}")
        run.set_attribute("_loyalty", {"orders": max(before, c.orders_count)})
    elif event.type == "order.cancelled" and config.deduct_on_cancel:
        total = await _cancelled_total(event)
        if total is not None:
            c.loyalty_points = max(0, c.loyalty_points - loyalty.points_for(total, config, currency))
    elif event.type == "order.refunded" and config.deduct_on_refund and await _refund_counts(event):
        c.loyalty_points = max(0, c.loyalty_points - loyalty.points_for(event.properties.get("amount"), config,
                                                                        currency))
    _retier(run)


def _retier(run: Pass) -> None:
    config, c = run.config.loyalty, run.contact
    tier = loyalty.tier_for(c.loyalty_points, config)
    if tier == c.loyalty_tier or (not c.loyalty_tier and not c.loyalty_points and not c.orders_count):
        return  # never ordered, never earned: not in the programme yet
    before, c.loyalty_tier = c.loyalty_tier, tier
    if before or config.announce_first_tier:
        run.emit("loyalty.tier_changed", {"from_tier": before, "to_tier": tier, "points": c.loyalty_points},
                 f"loyalty.tier_changed:{tier}:{c.id}:{run.cause}")


def _interests(run: Pass, interests: InterestCounts) -> None:
    tags = preferences.interest_tags(interests(run.contact.id), run.config.interests)
    if not tags <= set(run.contact.tags):
        run.contact.tags = sorted(set(run.contact.tags) | tags)


def _send_hour(run: Pass, event: Event) -> None:
    c, config = run.contact, run.config.send_time
    histogram = preferences.add_hour(c.attributes.get("_send_hours"), preferences.local_hour(event.occurred_at,
                                                                                             c.timezone))
    run.set_attribute("_send_hours", histogram)
    c.best_send_hour = preferences.best_hour(histogram, c.best_send_hour, config.min_data_points)


def _segments(run: Pass) -> None:
    c, known = run.contact, run.config.all_segments()
    previous = c.attributes.get("segments")
    before = [str(name) for name in previous] if isinstance(previous, list) else []
    after = segments.members_of(known, contact_view(c))
    entered, exited = segments.membership_changes(before, after, known)
    if after != sorted(before) or (previous is not None and not isinstance(previous, list)):
        run.set_attribute("segments", after)
    for kind, names in (("segment.entered", entered), ("segment.exited", exited)):
        for name in names:
            run.emit(kind, {"segment": name}, f"{kind}:{name}:{c.id}:{run.cause}")


async def _for_event(run: Pass, event: Event, interests: InterestCounts) -> None:
    config = run.config
    if config.scoring.enabled:
        _score(run, event)
    if config.loyalty.enabled and event.type in LOYALTY_EVENTS:
        await _loyalty(run, event)
    if config.interests.enabled and event.type in INTEREST_EVENTS:
        _interests(run, interests)
    if config.send_time.enabled and event.type in config.send_time.events:
        _send_hour(run, event)
    if config.engagement.enabled:
        _engagement(run, event)
    _segments(run)


async def update_for_event(config: IntelligenceConfig, contact: Contact, event: Event,
                           now: dt.datetime, interests: InterestCounts) -> list[NormalizedEvent]:
    """Update the (locked, about to be saved) contact for one applied event; returns the events to emit.
    `interests`: a contact's (product, views, purchases), as the event left them."""
    if event.type in EMITTED_TYPES:
        return []
    run = Pass(contact, config, now, cause=str(event.id), at=event.occurred_at)
    await _for_event(run, event, interests)
    return run.emitted


def _snapshot(c: Contact) -> tuple[Any, ...]:
    return (c.lead_score, c.engagement_score, c.loyalty_tier, sorted(c.tags), dict(c.attributes))


@dataclass
class Chunk:
    """What one chunk of the nightly refresh did; `last_id` is None when no contact was left."""

    last_id: int | None
    processed: int = 0
    changed: int = 0
    failed: list[int] = field(default_factory=list)
    events: list[NormalizedEvent] = field(default_factory=list)


def refresh_contact(config: IntelligenceConfig, c: Contact, now: dt.datetime) -> Pass:
    """The passage of time for one contact (in memory): score decay, engagement fading, tags, tiers, segments."""
    run = Pass(c, config, now, cause=f"refresh:{now:%Y%m%dT%H%M%S}", at=now)
    if config.scoring.enabled:
        _decay(run)
    if config.engagement.enabled:
        _engagement(run, None)
    if config.loyalty.enabled:
        _retier(run)
    _segments(run)
    return run


async def refresh_chunk(config: IntelligenceConfig, after_id: int, limit: int, now: dt.datetime) -> Chunk:
    """Refresh the next `limit` contacts after `after_id`, locked, with one bulk write for those that
    changed. Runs in the caller's transaction, so the caller's cursor commits with the work.
    A contact whose data breaks the rules is left as it was and reported in `failed`."""
    contacts = await Contact.filter(id__gt=after_id).order_by("id").limit(limit).select_for_update()
    if not contacts:
        return Chunk(last_id=None)
    chunk = Chunk(last_id=contacts[-1].id, processed=len(contacts))
    changed: list[Contact] = []
    for c in contacts:
        before = _snapshot(c)
        try:
            run = refresh_contact(config, c, now)
        except Exception:  # noqa: BLE001 - one contact's bad data must not stop everyone's refresh
            chunk.failed.append(c.id)
            continue
        if _snapshot(c) != before:
            changed.append(c)
            chunk.events += run.emitted
    await write_refreshed(changed)
    chunk.changed = len(changed)
    return chunk


_PG_UPDATE = (
    "UPDATE contacts AS c SET lead_score = v.lead_score, engagement_score = v.engagement_score,"
    " loyalty_tier = v.loyalty_tier, tags = v.tags::jsonb, attributes = v.attributes::jsonb, updated_at = now()"
    " FROM unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::text[], $6::text[])"
    " AS v(id, lead_score, engagement_score, loyalty_tier, tags, attributes) WHERE c.id = v.id"
)
_SQLITE_UPDATE = (
    "UPDATE contacts SET lead_score = ?, engagement_score = ?, loyalty_tier = ?, tags = ?, attributes = ?,"
    " updated_at = ? WHERE id = ?"
)


async def write_refreshed(changed: list[Contact]) -> None:
    """One statement for the chunk (PostgreSQL: arrays unnested into an UPDATE ... FROM; SQLite: one
    prepared UPDATE run for every row). Building a CASE per column per row, as a generic bulk update
    does, cost more than the refresh itself."""
    if not changed:
        return
    connection = connections.get("default")
    rows = [(c.id, c.lead_score, c.engagement_score, c.loyalty_tier, _json(c.tags), _json(c.attributes))
            for c in changed]
    if connection.capabilities.dialect == "postgres":
        await connection.execute_query(_PG_UPDATE, [list(column) for column in zip(*rows, strict=True)])
        return
    now = dt.datetime.now(dt.UTC)
    await connection.execute_many(_SQLITE_UPDATE, [[*row[1:], now, row[0]] for row in rows])


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
