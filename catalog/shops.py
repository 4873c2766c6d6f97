"""The shop this workspace serves, as the Admin API described it (`nurture shopify connect`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from catalog.models import Shop


async def current_shop() -> Shop | None:
    return await Shop.all().order_by("id").first()


async def save_shop(domain: str, details: dict[str, Any], scopes: list[str], at: dt.datetime) -> tuple[Shop, bool]:
    """Record the shop; (shop, changed): connecting again with nothing new changes nothing."""
    values = {"name": details.get("name", ""), "currency": details.get("currency", ""),
              "timezone": details.get("timezone", ""), "primary_url": details.get("primary_url", ""),
              "scopes": sorted(scopes)}
    shop = await Shop.get_or_none(domain=domain)
    if shop is None:
        return await Shop.create(domain=domain, connected_at=at, **values), True
    if all(getattr(shop, key) == value for key, value in values.items()):
        return shop, False
    await Shop.filter(id=shop.id).update(**values)
    return await Shop.get(id=shop.id), True


async def store_url() -> str:
    """The shop's storefront address (its primary domain) once connected, else ''."""
    shop = await current_shop()
    return shop.primary_url.rstrip("/") if shop and shop.primary_url else ""


async def shop_timezone() -> str:
    """The shop's IANA time zone once connected, else '' (contacts without an address fall back to it)."""
    shop = await current_shop()
    return shop.timezone if shop else ""
