"""Finding products to quote: by words of their title (the quote builder's picker) or by a
request's exact product name (prefilling a price)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from catalog.models import Product, Variant
from catalog.products import SINGLE_VARIANT


@dataclass(frozen=True)
class VariantChoice:
    variant_id: int  # Shopify's variant id (what a draft order's line names)
    title: str  # "Studio Monitor — Matte Black", or the product title for a single variant
    price: Decimal
    sku: str = ""


def _choice(product: Product, variant: Variant) -> VariantChoice:
    title = product.title if variant.title in ("", SINGLE_VARIANT) else f"{product.title} — {variant.title}"
    return VariantChoice(variant.shopify_id, title, Decimal(variant.price), variant.sku)


async def _choices(products: list[Product], limit: int) -> list[VariantChoice]:
    by_id = {product.id: product for product in products}
    variants = await Variant.filter(product_id__in=list(by_id)).order_by("product_id", "position")
    ordered = sorted(variants, key=lambda v: ([p.id for p in products].index(v.product_id), v.position))
    return [_choice(by_id[variant.product_id], variant) for variant in ordered][:limit]


async def search_variants(text: str, limit: int = 20) -> list[VariantChoice]:
    """Active products whose title contains `text` (any case), each variant a choice."""
    query = Product.filter(status="active", deleted_at=None)
    if text.strip():
        query = query.filter(title__icontains=text.strip()[:100])
    return await _choices(await query.order_by("title").limit(limit), limit)


async def variant_by_id(variant_id: int) -> VariantChoice | None:
    variant = await Variant.get_or_none(shopify_id=variant_id).prefetch_related("product")
    return _choice(variant.product, variant) if variant else None


async def variant_named(title: str) -> VariantChoice | None:
    """The product a request names exactly (any case), when it has a single variant: a price to start from."""
    products = await Product.filter(title__iexact=title.strip()[:300], status="active", deleted_at=None).limit(2)
    if len(products) != 1:
        return None
    choices = await _choices(products, 2)
    return choices[0] if len(choices) == 1 else None
