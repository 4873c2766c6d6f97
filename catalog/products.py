"""The product catalog: kept current from Shopify, read to dress up line items and pick related products.

A product arrives as the normalized shape of webhooks/providers/shopify_products.py (webhooks and
the import share it). Updates are applied only when they are not older than what we hold, so a
late redelivery of yesterday's `products/update` cannot undo today's price.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise.transactions import in_transaction

from catalog.models import Product, Variant

SINGLE_VARIANT = "Default Title"  # Shopify's title of the one variant of a product without options


def _time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _amount(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def _product_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "title": str(data.get("title", ""))[:300], "handle": str(data.get("handle", ""))[:300],
        "status": str(data.get("status") or "active")[:16].lower(), "vendor": str(data.get("vendor", ""))[:255],
        "product_type": str(data.get("product_type", ""))[:255], "image_url": str(data.get("image", ""))[:1000],
        "tags": list(data.get("tags", [])), "collections": list(data.get("collections", [])),
        "source_updated_at": _time(data.get("updated_at")), "deleted_at": None,
    }


def _variant_fields(product: Product, data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "product": product, "title": str(data.get("title", ""))[:300], "sku": str(data.get("sku", ""))[:255],
        "price": _amount(data.get("price")) or Decimal(0), "compare_at_price": _amount(data.get("compare_at_price")),
        "available": bool(data.get("available", True)), "image_url": str(data.get("image", ""))[:1000],
        "position": int(data.get("position") or 1),
    }


async def upsert_product(data: Mapping[str, Any]) -> bool:
    """Store a product and its variants; False when what we hold is as new (nothing changed)."""
    shopify_id = int(data["product_id"])
    fields = _product_fields(data)
    async with in_transaction():
        product = await Product.filter(shopify_id=shopify_id).select_for_update().first()
        held = product.source_updated_at if product else None
        # The same version again (a re-import, a redelivery) changes nothing; an older one never wins.
        if held and fields["source_updated_at"] and fields["source_updated_at"] <= held:
            return False
        if product is None:
            product = await Product.create(shopify_id=shopify_id, **fields)
        else:
            await Product.filter(id=product.id).update(**fields)
        await _replace_variants(product, data.get("variants") or [])
    return True


async def _replace_variants(product: Product, variants: Iterable[Mapping[str, Any]]) -> None:
    """A product payload lists all its variants: any we hold that it does not list were removed."""
    wanted = {int(v["variant_id"]): v for v in variants if v.get("variant_id")}
    await Variant.filter(product=product).exclude(shopify_id__in=list(wanted)).delete()
    held = {v.shopify_id: v for v in await Variant.filter(shopify_id__in=list(wanted))}
    for shopify_id, data in wanted.items():
        values = _variant_fields(product, data)
        if shopify_id in held:
            await Variant.filter(id=held[shopify_id].id).update(**values)
        else:
            await Variant.create(shopify_id=shopify_id, **values)


async def delete_product(shopify_id: int, at: dt.datetime) -> None:
    """Kept (old orders still name it) but never offered again."""
    await Product.filter(shopify_id=shopify_id).update(deleted_at=at, source_updated_at=at)


def product_url(base: str, product: Product, variant_id: int | None = None) -> str:
    if not base or not product.handle:
        return ""
    return f"{base}/products/{product.handle}" + (f"?variant={variant_id}" if variant_id else "")


async def dress_line_items(items: list[dict[str, Any]], base_url: str) -> list[dict[str, Any]]:
    """Line items with the catalog's picture, variant title and product page filled in where the
    payload had none (Shopify order and checkout webhooks carry neither image nor URL)."""
    variant_ids = [int(i["variant_id"]) for i in items if isinstance(i.get("variant_id"), int)]
    product_ids = [int(i["product_id"]) for i in items if isinstance(i.get("product_id"), int)]
    variants = {v.shopify_id: v for v in await Variant.filter(shopify_id__in=variant_ids)} if variant_ids else {}
    products = {p.shopify_id: p for p in await Product.filter(shopify_id__in=product_ids)} if product_ids else {}
    by_pk = {p.id: p for p in products.values()}
    missing = {v.product_id for v in variants.values()} - set(by_pk)
    if missing:
        by_pk.update({p.id: p for p in await Product.filter(id__in=list(missing))})
    return [_dressed(item, variants, products, by_pk, base_url) for item in items]


def _dressed(item: dict[str, Any], variants: dict[int, Variant], products: dict[int, Product],
             by_pk: dict[int, Product], base: str) -> dict[str, Any]:
    variant = variants.get(item.get("variant_id") or 0)
    product = by_pk.get(variant.product_id) if variant else products.get(item.get("product_id") or 0)
    if product is None:
        return item
    dressed = dict(item)
    dressed["handle"] = product.handle  # the template links brand.url/products/<handle> before a connect
    dressed["image"] = item.get("image") or (variant.image_url if variant else "") or product.image_url
    dressed["url"] = item.get("url") or product_url(base, product, variant.shopify_id if variant else None)
    if variant and variant.title and variant.title != SINGLE_VARIANT and not item.get("variant"):
        dressed["variant"] = variant.title
    if product.title and dressed.get("title") in ("", None):
        dressed["title"] = product.title
    return dressed


async def related_products(items: list[dict[str, Any]], base_url: str, limit: int = 4) -> list[dict[str, Any]]:
    """Products to offer next to `items`: active, in stock, not among them, sharing the most
    collections (then tags) with them; as line-item shaped dicts the product grid can show."""
    bought = {int(i["product_id"]) for i in items if isinstance(i.get("product_id"), int)}
    owned = await Product.filter(shopify_id__in=list(bought)) if bought else []
    collections = {c for p in owned for c in p.collections}
    tags = {t.lower() for p in owned for t in p.tags}
    if not collections and not tags:
        return []
    scored = []
    for product in await Product.filter(deleted_at=None, status="active").exclude(shopify_id__in=list(bought)):
        score = 2 * len(collections & set(product.collections)) + len(tags & {t.lower() for t in product.tags})
        if score:
            scored.append((-score, product.title, product))
    picks: list[dict[str, Any]] = []
    for _, _, product in sorted(scored, key=lambda entry: entry[:2]):
        variant = await Variant.filter(product=product, available=True).order_by("position").first()
        if variant is not None:
            picks.append(_offer(product, variant, base_url))
        if len(picks) == limit:
            break
    return picks


def _offer(product: Product, variant: Variant, base: str) -> dict[str, Any]:
    return {
        "product_id": product.shopify_id, "variant_id": variant.shopify_id, "title": product.title,
        "variant": "" if variant.title == SINGLE_VARIANT else variant.title, "quantity": 1,
        "price": f"{variant.price:.2f}", "image": variant.image_url or product.image_url,
        "url": product_url(base, product, variant.shopify_id),
        "compare_at_price": f"{variant.compare_at_price:.2f}" if variant.compare_at_price else None,
    }
