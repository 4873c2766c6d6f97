"""Product events (no person in them): they change the catalog, never a contact."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from catalog.products import delete_product, upsert_product
from contacts.events import NormalizedEvent
from core.services import Services


async def product_updated(services: Services, event: NormalizedEvent) -> None:
    await upsert_product(event.properties)


async def product_deleted(services: Services, event: NormalizedEvent) -> None:
    await delete_product(int(event.properties["product_id"]), event.occurred_at)


HANDLERS: dict[str, Callable[[Services, NormalizedEvent], Awaitable[None]]] = {
    "product.updated": product_updated,
    "product.deleted": product_deleted,
}
