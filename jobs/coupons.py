"""Creating a Shopify pool's discount code in the shop, after the step that assigned it committed."""

from __future__ import annotations

from typing import Any

from arq import Retry

from core.errors import ShopUnavailable
from core.services import Services
from journeys.shop_codes import create_in_shop

RETRY_IN = 60.0  # seconds: a throttled or unreachable shop is asked again a minute later


async def create_discount_code(ctx: dict[str, Any], *, coupon_id: int) -> str:
    services: Services = ctx["services"]
    try:
        return await create_in_shop(services, coupon_id)
    except ShopUnavailable:
        raise Retry(defer=RETRY_IN) from None
