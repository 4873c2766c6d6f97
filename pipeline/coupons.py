"""`coupon.redeemed`: an order used a code one of our coupon steps handed out.

Shopify codes are case-insensitive at checkout, so they are compared upper-cased. Each code is
redeemed once (the first order naming it); the event can be a journey goal.
"""

from __future__ import annotations

from contacts.events import NormalizedEvent
from contacts.ingest import Applied
from journeys.models import Coupon

ORDER_EVENTS = frozenset({"order.created", "order.paid"})


async def redemptions(applied: Applied) -> list[NormalizedEvent]:
    """The coupon.redeemed events an applied order event causes (marking those coupons redeemed)."""
    event = applied.event
    codes = {str(c).strip().upper() for c in event.properties.get("discount_codes") or [] if str(c).strip()}
    if event.type not in ORDER_EVENTS or not codes:
        return []
    found = []
    for coupon in await Coupon.filter(code__in=sorted(codes), redeemed_at=None).prefetch_related("pool"):
        claimed = await Coupon.filter(id=coupon.id, redeemed_at=None).update(
            redeemed_at=event.occurred_at, redeemed_order=event.properties.get("order_id"))
        if claimed:
            found.append(_redeemed(applied, coupon))
    return found


def _redeemed(applied: Applied, coupon: Coupon) -> NormalizedEvent:
    contact = applied.contact
    return NormalizedEvent(
        type="coupon.redeemed", source="nurture", idempotency_key=f"coupon.redeemed:{coupon.id}",
        occurred_at=applied.event.occurred_at, email=contact.email, shopify_customer_id=contact.shopify_customer_id,
        properties={"code": coupon.code, "pool": coupon.pool.key, "order_id": applied.event.properties.get("order_id"),
                    "total_price": applied.event.properties.get("total_price"),
                    "assigned_to_buyer": coupon.contact_ref == contact.id},
        object_key=f"order:{applied.event.properties.get('order_id')}",
    )
