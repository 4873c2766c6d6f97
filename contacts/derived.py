"""What each event type changes beyond the timeline: counters, mirrors, suppression, interest.

One small function per event type, looked up in UPDATERS; all run inside the
ingest transaction with the contact row locked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlparse

from contacts.batch import Batch
from contacts.events import EMITTED_TYPES, NormalizedEvent
from contacts.models import (
    Checkout,
    Consent,
    Contact,
    LifecycleStage,
    Order,
    SuppressionReason,
)
from contacts.suppression import lift, suppress
from emails.models import Message, MessageStatus


@dataclass(frozen=True)
class Applying:
    """What an updater may need besides the contact and the event."""

    secret_key: str
    batch: Batch  # what the batch read (orders, product interests) and the writes it shares


Updater = Callable[[Applying, Contact, NormalizedEvent], Awaitable[None]]

# Events that are not the person doing something (no effect on last_activity_at).
PASSIVE_EVENTS = {
    "email.delivered", "email.bounced", "email.complained", "checkout.abandoned",
    "consent.updated", "customer.created", "customer.updated", "order.cancelled",
} | EMITTED_TYPES
STAGE_ORDER = list(LifecycleStage)


def _time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def promote(contact: Contact, stage: LifecycleStage) -> None:
    """Lifecycle stages only move forward through events."""
    if STAGE_ORDER.index(stage) > STAGE_ORDER.index(LifecycleStage(contact.lifecycle_stage)):
        contact.lifecycle_stage = stage


def _record_purchases(batch: Batch, contact: Contact, items: list[dict[str, Any]], at: dt.datetime) -> None:
    for item in items:
        key = str(item.get("product_id") or item.get("sku") or item.get("title") or "")[:200]
        if key:
            interest = batch.interest(contact, key, str(item.get("title", ""))[:300], at)
            interest.purchases += int(item.get("quantity") or 1)
            interest.last_seen_at = max(interest.last_seen_at, at)


def _order_values(contact: Contact, event: NormalizedEvent, cancelled_at: dt.datetime | None) -> dict[str, Any]:
    props = event.properties
    return {
        "contact": contact, "name": props.get("name", ""), "email": contact.email or "",
        "currency": props.get("currency", ""), "total_price": Decimal(props.get("total_price", "0")),
        "line_items": props.get("line_items", []), "financial_status": props.get("financial_status", ""),
        "checkout_token": props.get("checkout_token") or None,
        # A cancel arriving first has no creation time of its own: the order's placed_at stands in.
        "placed_at": event.occurred_at if event.type != "order.cancelled"
        else _time(props.get("placed_at")) or event.occurred_at,
        "cancelled_at": cancelled_at,
    }


async def _record_order(batch: Batch, contact: Contact, event: NormalizedEvent,
                        cancelled_at: dt.datetime | None) -> None:
    """The first event about an order creates it and counts it, whichever topic that is.

    Counted like an order cancelled after creation (see order_cancelled): it was placed, so it
    counts in orders_count, but its money never reaches total_spent.
    """
    # Not get_or_create: its savepoint costs two more statements on every order. The contact row is
    # locked, and a copy of this order created meanwhile by another event fails the unique key:
    # the caller's transaction then rolls back and applies the event again (contacts.ingest.apply).
    if batch.order_exists(event.properties["order_id"]):
        return
    values = _order_values(contact, event, cancelled_at)
    order = batch.new_order(Order(shopify_id=event.properties["order_id"], **values))
    contact.orders_count += 1
    if order.cancelled_at is None:
        contact.total_spent = Decimal(contact.total_spent) + order.total_price
    contact.first_order_at = min(filter(None, [contact.first_order_at, order.placed_at]))
    contact.last_order_at = max(filter(None, [contact.last_order_at, order.placed_at]))
    promote(contact, LifecycleStage.CUSTOMER)
    _record_purchases(batch, contact, event.properties.get("line_items", []), order.placed_at)
    if order.checkout_token:
        batch.complete_checkout(order.checkout_token, order.placed_at)


async def order_created(applying: Applying, contact: Contact, event: NormalizedEvent) -> None:
    # Shopify sends orders/create for orders already cancelled (imports, voided drafts).
    await _record_order(applying.batch, contact, event, _time(event.properties.get("cancelled_at")))


async def order_paid(applying: Applying, contact: Contact, event: NormalizedEvent) -> None:
    await order_created(applying, contact, event)  # a no-op for an order already recorded
    await applying.batch.write_orders()
    await Order.filter(shopify_id=event.properties["order_id"]).update(
        paid_at=event.occurred_at, financial_status=event.properties.get("financial_status", "paid")
    )


async def order_cancelled(applying: Applying, contact: Contact, event: NormalizedEvent) -> None:
    await applying.batch.write_orders()  # contact intelligence reads the order after this too
    order = await Order.get_or_none(shopify_id=event.properties["order_id"])
    if order is None:
        # Delivered before orders/create: record the order as cancelled, so the late create is a no-op.
        await _record_order(applying.batch, contact, event, event.occurred_at)
        return
    if order.cancelled_at is not None:
        return
    order.cancelled_at = event.occurred_at
    await order.save(update_fields=["cancelled_at"])
    # What refunds already took back is not taken twice (Shopify sends both for a refunded cancel).
    contact.total_spent = max(Decimal(0), Decimal(contact.total_spent) - order.still_counted())


def refund_share(order: Order, amount: Decimal) -> Decimal:
    """How much of a refund still comes off what the order counts for: none once the order is
    cancelled (the cancel took all of it), never more than what is left of its total."""
    if order.cancelled_at is not None:
        return Decimal(0)
    return max(Decimal(0), min(amount, order.still_counted()))


async def order_refunded(applying: Applying, contact: Contact, event: NormalizedEvent) -> None:
    await applying.batch.write_orders()  # contact intelligence reads the order after this too
    order = await Order.get_or_none(shopify_id=event.properties["order_id"])
    if order is None:
        return  # resolved through the order, so it exists: only a deleted order lands here
    share = refund_share(order, Decimal(str(event.properties.get("amount") or "0")))
    order.refunded_total = Decimal(order.refunded_total or 0) + share
    await order.save(update_fields=["refunded_total"])
    contact.total_spent = max(Decimal(0), Decimal(contact.total_spent) - share)


async def order_fulfilled(applying: Applying, contact: Contact, event: NormalizedEvent) -> None:
    await order_created(applying, contact, event)  # a no-op for an order already recorded
    await applying.batch.write_orders()
    await Order.filter(shopify_id=event.properties["order_id"], fulfilled_at=None).update(
        fulfilled_at=event.occurred_at)


async def checkout_updated(applying: Applying, contact: Contact, event: NormalizedEvent) -> None:
    await applying.batch.write_orders()  # an order placed from this checkout tells it completed
    props = event.properties
    values = {
        "contact": contact, "email": contact.email or "", "currency": props.get("currency", ""),
        "total_price": Decimal(props.get("total_price", "0")), "line_items": props.get("line_items", []),
        "recovery_url": str(props.get("recovery_url") or "")[:1000],
        "started_at": _time(props.get("started_at")) or event.occurred_at,
        "updated_at": _time(props.get("updated_at")) or event.occurred_at,
    }
    checkout = await Checkout.get_or_none(token=props["token"])
    if checkout is None:
        checkout = await Checkout.create(token=props["token"], **values)
    elif values["updated_at"] >= checkout.updated_at:
        # Shopify delivers out of order: only a newer state replaces an older one.
        await checkout.update_from_dict(values).save()
    completed = _time(props.get("completed_at")) or await _ordered_at(checkout.token)
    if completed and checkout.completed_at is None:
        checkout.completed_at = completed
        await checkout.save(update_fields=["completed_at"])


async def _ordered_at(token: str) -> dt.datetime | None:
    """When an order already placed from this checkout was (orders/create can beat the last update)."""
    order = await Order.filter(checkout_token=token).order_by("placed_at").first()
    return order.placed_at if order is not None else None


async def checkout_abandoned(_: Applying, contact: Contact, event: NormalizedEvent) -> None:
    await Checkout.filter(token=event.properties["token"], abandoned_at=None).update(
        abandoned_at=event.occurred_at
    )


# Attributes the system computes (the rest of them start with `_`): no event may set them.
DERIVED_ATTRIBUTES = frozenset({"segments", "nps_score", "nps_category", "nps_answered_at"})


async def survey_answered(_: Applying, contact: Contact, event: NormalizedEvent) -> None:
    contact.attributes = {
        **contact.attributes,
        "nps_score": event.properties.get("score"),
        "nps_category": event.properties.get("category"),
        "nps_answered_at": event.occurred_at.isoformat(),
    }


async def _message_for(event: NormalizedEvent) -> Message | None:
    message_id = str(event.properties.get("message_id") or "")
    if not message_id:
        return None
    return await Message.get_or_none(message_id=message_id) or await Message.get_or_none(
        provider_id=message_id
    )


async def email_bounced(applying: Applying, contact: Contact, event: NormalizedEvent) -> None:
    message = await _message_for(event)
    if message is not None:
        message.status = MessageStatus.BOUNCED
        await message.save(update_fields=["status"])
    if event.properties.get("bounce_type") == "hard" and contact.email:
        await suppress(applying.secret_key, contact.email, SuppressionReason.HARD_BOUNCE,
                       str(event.properties.get("description", "")))


async def email_complained(applying: Applying, contact: Contact, event: NormalizedEvent) -> None:
    message = await _message_for(event)
    if message is not None and message.complained_at is None:
        message.complained_at = event.occurred_at
        await message.save(update_fields=["complained_at"])
    if contact.email:
        await suppress(applying.secret_key, contact.email, SuppressionReason.COMPLAINT, "spam complaint")
    contact.consent = Consent.UNSUBSCRIBED
    contact.consent_source = f"complaint:{event.source}"
    contact.consent_at = event.occurred_at


async def consent_confirmed(applying: Applying, contact: Contact, event: NormalizedEvent) -> None:
    """The double opt-in link was followed: the unsubscribe no longer holds."""
    if contact.email:
        await lift(applying.secret_key, contact.email, SuppressionReason.UNSUBSCRIBE)


async def consent_updated(_: Applying, contact: Contact, event: NormalizedEvent) -> None:
    """An unsubscribe through a message's link (ours, or the provider's): counted for that email."""
    if event.properties.get("state") != Consent.UNSUBSCRIBED.value:
        return
    message = await _message_for(event)
    if message is not None and message.unsubscribed_at is None:
        message.unsubscribed_at = event.occurred_at
        await message.save(update_fields=["unsubscribed_at"])


TOPICS_OFF = "_topics_off"  # the contact attribute (ours: no source may write it) with the topics switched off


async def preferences_updated(_: Applying, contact: Contact, event: NormalizedEvent) -> None:
    """The preferences page: which email topics the contact switched off (the rest are on)."""
    switched = event.properties.get("topics_off")
    if isinstance(switched, list):
        contact.attributes = {**contact.attributes, TOPICS_OFF: sorted({str(t)[:64] for t in switched})}


async def email_opened(_: Applying, contact: Contact, event: NormalizedEvent) -> None:
    contact.consecutive_unopened = 0
    message = await _message_for(event)
    if message is not None and message.opened_at is None:
        message.opened_at = event.occurred_at
        await message.save(update_fields=["opened_at"])


async def email_clicked(_: Applying, contact: Contact, event: NormalizedEvent) -> None:
    contact.consecutive_unopened = 0
    message = await _message_for(event)
    if message is not None and message.clicked_at is None:
        message.clicked_at = event.occurred_at
        message.opened_at = message.opened_at or event.occurred_at
        await message.save(update_fields=["clicked_at", "opened_at"])


async def page_viewed(applying: Applying, contact: Contact, event: NormalizedEvent) -> None:
    path = urlparse(str(event.properties.get("url", ""))).path
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[-2] == "products":
        interest = applying.batch.interest(contact, parts[-1][:200], str(event.properties.get("title", ""))[:300],
                                           event.occurred_at)
        interest.views += 1
        interest.last_seen_at = max(interest.last_seen_at, event.occurred_at)


UPDATERS: dict[str, Updater] = {
    "order.created": order_created,
    "order.paid": order_paid,
    "order.cancelled": order_cancelled,
    "order.refunded": order_refunded,
    "order.fulfilled": order_fulfilled,
    "checkout.updated": checkout_updated,
    "checkout.abandoned": checkout_abandoned,
    "survey.answered": survey_answered,
    "email.bounced": email_bounced,
    "email.complained": email_complained,
    "consent.confirmed": consent_confirmed,
    "consent.updated": consent_updated,
    "preferences.updated": preferences_updated,
    "email.opened": email_opened,
    "email.clicked": email_clicked,
    "page.viewed": page_viewed,
}
