"""Discount codes created in the shop itself (Shopify pools), so the code a customer types works.

A `coupon` step drawing on a pool whose source is "shopify" assigns a fresh code at once (inside
the step's transaction, like any pool) and leaves the code `pending`; creating it in Shopify is a
network call, so it happens after commit: in the `create_discount_code` job, and again, if that
job has not run yet, just before an email showing the code is sent. Both are idempotent: Shopify
refuses a second discount with the same code (TAKEN), which we read as "already there".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from contacts.models import Contact
from core.errors import ShopRefused, ShopUnavailable
from core.services import Services
from journeys.models import Coupon, CouponPool

PENDING, CREATED, FAILED = "pending", "created", "failed"

CREATE = """
mutation NurtureDiscountCreate($discount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $discount) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}
"""


@dataclass(frozen=True)
class CodeProblem:
    text: str
    transient: bool


def discount_input(pool: CouponPool, coupon: Coupon, customer_id: int | None, now: dt.datetime) -> dict[str, Any]:
    """DiscountCodeBasicInput (API 2025-10): one use, for this customer when Shopify knows them."""
    spec = pool.discount
    value = Decimal(str(spec.get("value", "0")))
    gets: dict[str, Any] = (
        {"percentage": float(value / 100)} if spec.get("kind", "percentage") == "percentage"
        else {"discountAmount": {"amount": f"{value:.2f}", "appliesOnEachItem": False}}
    )
    discount: dict[str, Any] = {
        "title": f"Nurture {pool.key}: {coupon.code}",
        "code": coupon.code,
        "startsAt": now.isoformat(),
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
        "customerGets": {"value": gets, "items": {"all": True}},
        "context": {"customers": {"add": [f"gid://shopify/Customer/{customer_id}"]}} if customer_id
        else {"all": "ALL"},
    }
    if spec.get("expires_days"):
        discount["endsAt"] = (now + dt.timedelta(days=int(spec["expires_days"]))).isoformat()
    if spec.get("minimum"):
        discount["minimumRequirement"] = {"subtotal": {"greaterThanOrEqualToSubtotal": str(spec["minimum"])}}
    return discount


async def create_in_shop(services: Services, coupon_id: int) -> str:
    """Make sure the shop has this coupon's code; returns the coupon's shop state afterwards.
    Raises ShopUnavailable when the shop cannot be reached now (the caller retries later)."""
    coupon = await Coupon.get_or_none(id=coupon_id).prefetch_related("pool")
    if coupon is None or coupon.shop_state != PENDING:
        return coupon.shop_state if coupon else FAILED
    if services.shop is None:
        return await _fail(coupon, "no Shopify Admin API token: set NURTURE_SHOPIFY_SHOP and "
                                   "NURTURE_SHOPIFY_ADMIN_TOKEN, or use a pool of uploaded codes")
    contact = await Contact.get_or_none(id=coupon.contact_ref) if coupon.contact_ref else None
    variables = {"discount": discount_input(coupon.pool, coupon, contact.shopify_customer_id if contact else None,
                                            services.clock.now())}
    try:
        data = await services.shop.query(CREATE, variables)
    except ShopRefused as refused:
        return await _fail(coupon, str(refused))
    errors = data.get("discountCodeBasicCreate", {}).get("userErrors") or []
    if errors and not all(e.get("code") == "TAKEN" for e in errors):
        return await _fail(coupon, "; ".join(str(e.get("message")) for e in errors))
    await Coupon.filter(id=coupon.id).update(shop_state=CREATED, shop_error="")
    return CREATED


async def _fail(coupon: Coupon, error: str) -> str:
    await Coupon.filter(id=coupon.id).update(shop_state=FAILED, shop_error=error[:500])
    return FAILED


async def code_problem(services: Services, context: dict[str, Any]) -> CodeProblem | None:
    """Why an email showing `context.coupon` cannot go out yet (or at all): its code is not in the shop."""
    coupon_id = (context.get("coupon") or {}).get("shop_coupon_id")
    if not isinstance(coupon_id, int):
        return None
    try:
        state = await create_in_shop(services, coupon_id)
    except ShopUnavailable as error:
        return CodeProblem(f"waiting for Shopify to create the discount code: {error}", transient=True)
    if state == FAILED:
        coupon = await Coupon.get_or_none(id=coupon_id)
        return CodeProblem(f"the discount code could not be created in Shopify: {coupon.shop_error if coupon else ''}",
                           transient=False)
    return None
