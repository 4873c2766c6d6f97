"""Which email earned an order: the last one its buyer clicked within the click window before the
order, else the last one opened within the open window (workspace `attribution`; Klaviyo's
defaults, 5 days and 1 day), whether or not the buyer is still in that email's journey.

Each order is attributed once, when it is first applied, and the attribution is stored with the
windows it used: the numbers do not move when the settings change, until `nurture attribution
recompute`. Refunds and cancellations reduce the attributed revenue when it is reported (the
order row holds what was taken back), so a refund needs no second write here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from contacts.models import Event, Order
from core.workspace import AttributionConfig
from emails.models import Message
from journeys.commit import trace_row
from journeys.models import Attribution, Journey, TraceEntry
from journeys.touches import TOUCHES, Touch, chosen_touch

# Events that record an order the first time one arrives (whichever comes first).
ORDER_EVENTS = frozenset({"order.created", "order.paid", "order.fulfilled", "order.cancelled"})


async def _touches(contact_ids: list[int], start: dt.datetime, end: dt.datetime) -> dict[int, list[Touch]]:
    rows = await Event.filter(contact_id__in=contact_ids, type__in=list(TOUCHES), occurred_at__gte=start,
                              occurred_at__lte=end).values_list("contact_id", "type", "occurred_at", "properties")
    found: dict[int, list[Touch]] = defaultdict(list)
    for contact_id, kind, at, properties in rows:
        message_id = str((properties or {}).get("message_id") or "")
        if message_id:
            found[int(contact_id)].append(Touch(TOUCHES[str(kind)], at, message_id))
    return found


async def _messages(ids: set[str]) -> dict[str, Message]:
    if not ids:
        return {}
    found: dict[str, Message] = {}
    for message in await Message.filter(Q(message_id__in=sorted(ids)) | Q(provider_id__in=sorted(ids)),
                                         is_test=False):
        for key in (message.message_id, message.provider_id):
            if key in ids:
                found[key] = message
    return found


def _row(order: Order, touch: Touch, message: Message, config: AttributionConfig) -> Attribution:
    return Attribution(
        order_id=order.id, contact_id=order.contact_id or 0, message_ref=message.id, journey_ref=message.journey_ref,
        step_ref=message.step_ref, variant=message.variant, template=message.template, touch=touch.kind,
        touched_at=touch.at, placed_at=order.placed_at, amount=order.total_price, currency=order.currency,
        click_window_s=int(config.click_window.total_seconds()),
        open_window_s=int(config.open_window.total_seconds()),
    )


async def attribute(config: AttributionConfig, orders: list[Order]) -> list[Attribution]:
    """Attribute each of `orders` not attributed yet (one read of their buyers' opens and clicks for
    them all); returns the attributions made. Orders no email earned get none."""
    orders = [o for o in orders if o.contact_id is not None]
    if not orders:
        return []
    done = set(await Attribution.filter(order_id__in=[o.id for o in orders]).values_list("order_id", flat=True))
    orders = [o for o in orders if o.id not in done]
    if not orders:
        return []
    buyers = {o.id: int(o.contact_id or 0) for o in orders}
    longest = max(config.click_window, config.open_window)
    touches = await _touches(sorted(set(buyers.values())), min(o.placed_at for o in orders) - longest,
                             max(o.placed_at for o in orders))
    # Only touches of emails we sent for real count: a test send or an unknown id is skipped, so an
    # earlier click on a real email still earns the order.
    messages = await _messages({t.ref for found in touches.values() for t in found})
    touches = {buyer: [t for t in found if t.ref in messages] for buyer, found in touches.items()}
    chosen = {o.id: t for o in orders if (t := chosen_touch(touches.get(buyers[o.id], []), o.placed_at, config))}
    rows = [_row(o, chosen[o.id], messages[chosen[o.id].ref], config) for o in orders if o.id in chosen]
    if rows:
        await Attribution.bulk_create(rows, ignore_conflicts=True)  # an order attributed meanwhile keeps its first
        await TraceEntry.bulk_create(await _traces(rows, {o.id: o for o in orders}))
    return rows


async def _traces(rows: list[Attribution], orders: dict[int, Order]) -> list[TraceEntry]:
    keys = dict(await Journey.filter(id__in=sorted({r.journey_ref for r in rows if r.journey_ref})).values_list(
        "id", "key"))
    return [trace_row(row.contact_id, None, str(keys.get(row.journey_ref, "")), row.placed_at, "attributed",
                      f"order {orders[row.order_id].name or orders[row.order_id].shopify_id} "
                      f"({row.amount} {row.currency}) attributed to email {row.template!r}: last {row.touch} "
                      f"{_ago(row.placed_at - row.touched_at)} before it",
                      order=orders[row.order_id].shopify_id, message_ref=row.message_ref, step=row.step_ref,
                      variant=row.variant, touch=row.touch)
            for row in rows]


def _ago(span: dt.timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} days"


async def attribute_orders(config: AttributionConfig, shopify_ids: list[int]) -> list[Attribution]:
    """Attribute the orders these Shopify ids name (those attributed already keep theirs)."""
    if not shopify_ids:
        return []
    return await attribute(config, list(await Order.filter(shopify_id__in=sorted(set(shopify_ids)))))


async def attribute_late_touches(config: AttributionConfig,
                                 touches: list[tuple[int, dt.datetime]]) -> list[Attribution]:
    """Opens and clicks a provider reported after the orders they came before: the buyers' orders
    placed within the windows after them, not attributed yet, are decided now ((contact, when) each)."""
    if not touches:
        return []
    longest = max(config.click_window, config.open_window)
    orders = await Order.filter(contact_id__in=sorted({contact for contact, _ in touches}),
                                placed_at__gte=min(at for _, at in touches),
                                placed_at__lte=max(at for _, at in touches) + longest)
    return await attribute(config, list(orders)) if orders else []


async def recompute(config: AttributionConfig, since: dt.datetime | None = None, chunk: int = 500) -> tuple[int, int]:
    """Attribute again every order placed since `since` (all when None) with `config`: what a change
    of windows needs. Returns (orders looked at, attributed). Chunked: memory stays flat."""
    query = Order.filter(placed_at__gte=since) if since is not None else Order.all()
    seen = attributed = 0
    last = 0
    while batch := await query.filter(id__gt=last).order_by("id").limit(chunk):
        last = batch[-1].id
        async with in_transaction():  # a chunk is decided again whole, or not at all
            await Attribution.filter(order_id__in=[o.id for o in batch]).delete()
            attributed += len(await attribute(config, batch))
        seen += len(batch)
    return seen, attributed
