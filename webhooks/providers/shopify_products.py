"""Shopify `products/create|update|delete`: the catalog's shape, shared with the Admin API import.

A product names no person, so its events carry no identity: the pipeline hands them to the
catalog (pipeline/products.py) instead of applying them to a contact.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contacts.events import NormalizedEvent
from webhooks.providers.shopify_fields import (
    Delivery,
    as_text,
    event,
    integer,
    iso,
    items,
    money,
    obj,
    required_id,
    tags,
    text,
    when,
)


def _available(variant: Mapping[str, Any]) -> bool:
    """In stock, untracked, or sold when out of stock (inventory_policy "continue")."""
    if "available" in variant and isinstance(variant["available"], bool):
        return variant["available"]
    if not text(variant, "inventory_management") or text(variant, "inventory_policy") == "continue":
        return True
    return (integer(variant, "inventory_quantity") or 0) > 0


def _variant(data: Any, images: dict[int, str]) -> dict[str, Any]:
    variant = data if isinstance(data, dict) else {}
    image_id = integer(variant, "image_id")
    return {
        "variant_id": required_id(variant, "id"), "title": text(variant, "title"), "sku": text(variant, "sku"),
        "price": money(variant, "price"),
        "compare_at_price": money(variant, "compare_at_price") if variant.get("compare_at_price") else None,
        "available": _available(variant), "position": integer(variant, "position") or 1,
        "image": images.get(image_id, "") if image_id else "",
    }


def product_shape(data: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog's view of a REST-shaped product (webhook body or the import's translation)."""
    images = {integer(i, "id") or 0: text(i, "src") for i in items(data, "images") if isinstance(i, dict)}
    image = text(obj(data, "image"), "src") or next(iter(images.values()), "")
    return {
        "product_id": required_id(data, "id"), "title": text(data, "title"), "handle": text(data, "handle"),
        "status": text(data, "status") or "active", "vendor": text(data, "vendor"),
        "product_type": text(data, "product_type"), "tags": list(tags(data.get("tags"))),
        "collections": [as_text(c, "collections") for c in items(data, "collections")],
        "image": image, "updated_at": iso(when(data, "updated_at")),
        "variants": [_variant(v, images) for v in items(data, "variants")],
    }


def product_updated(delivery: Delivery) -> list[NormalizedEvent]:
    data = delivery.data
    shape = product_shape(data)
    updated = when(data, "updated_at", "created_at")
    return [event("product.updated", f"{shape['product_id']}:{iso(updated) or delivery.digest}",
                  updated or delivery.fallback_time, properties=shape, object_key=f"product:{shape['product_id']}")]


def product_deleted(delivery: Delivery) -> list[NormalizedEvent]:
    product_id = required_id(delivery.data, "id")
    return [event("product.deleted", str(product_id), delivery.fallback_time,
                  properties={"product_id": product_id}, object_key=f"product:{product_id}")]
