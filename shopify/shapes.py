"""GraphQL Admin API objects in the shape of Shopify's webhook bodies, so an imported order goes
through the very parser a webhook does (webhooks/providers/shopify.py) and gets the same
idempotency key: an order that arrives by both import and webhook counts once."""

from __future__ import annotations

from typing import Any


def _id(value: Any) -> int | None:
    """legacyResourceId ("123") or a gid (gid://shopify/Order/123) as the REST id."""
    if value in (None, ""):
        return None
    return int(str(value).rsplit("/", 1)[-1])


def _money(container: Any, key: str) -> tuple[str, str]:
    shop_money = ((container or {}).get(key) or {}).get("shopMoney") or {}
    return str(shop_money.get("amount") or "0"), str(shop_money.get("currencyCode") or "")


def _address(address: Any) -> dict[str, Any] | None:
    if not address:
        return None
    return {"country_code": address.get("countryCodeV2") or "", "province_code": address.get("provinceCode") or "",
            "first_name": address.get("firstName") or "", "last_name": address.get("lastName") or ""}


def customer(node: dict[str, Any]) -> dict[str, Any]:
    consent = node.get("emailMarketingConsent") or {}
    return {
        "id": _id(node.get("legacyResourceId") or node.get("id")), "email": node.get("email"),
        "first_name": node.get("firstName") or "", "last_name": node.get("lastName") or "",
        "phone": node.get("phone"), "locale": node.get("locale") or "", "tags": list(node.get("tags") or []),
        "state": str(node.get("state") or "").lower(), "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt") or node.get("createdAt"),
        "email_marketing_consent": {"state": str(consent.get("marketingState") or "").lower(),
                                    "consent_updated_at": consent.get("consentUpdatedAt")} if consent else None,
        "default_address": _address(node.get("defaultAddress")),
    }


def _line_item(node: dict[str, Any]) -> dict[str, Any]:
    price, _ = _money(node, "originalUnitPriceSet")
    return {
        "product_id": _id((node.get("product") or {}).get("legacyResourceId")),
        "variant_id": _id((node.get("variant") or {}).get("legacyResourceId")),
        "title": node.get("title") or "", "variant_title": node.get("variantTitle") or "",
        "quantity": node.get("quantity") or 0, "price": price, "sku": node.get("sku") or "",
    }


def order(node: dict[str, Any], line_items: list[dict[str, Any]]) -> dict[str, Any]:
    total, currency = _money(node, "totalPriceSet")
    buyer = node.get("customer") or {}
    return {
        "id": _id(node.get("legacyResourceId") or node.get("id")), "name": node.get("name") or "",
        "email": node.get("email") or "", "created_at": node.get("createdAt"),
        "processed_at": node.get("processedAt"), "updated_at": node.get("updatedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "financial_status": str(node.get("displayFinancialStatus") or "").lower(),
        "customer_locale": node.get("customerLocale") or "",
        "discount_codes": [{"code": code} for code in node.get("discountCodes") or []],
        "total_price": total, "currency": currency,
        "total_price_set": {"shop_money": {"amount": total, "currency_code": currency}},
        "customer": {"id": _id(buyer.get("legacyResourceId") or buyer.get("id")), "email": buyer.get("email"),
                     "first_name": buyer.get("firstName") or "", "last_name": buyer.get("lastName") or ""}
        if buyer else None,
        "shipping_address": _address(node.get("shippingAddress")),
        "billing_address": _address(node.get("billingAddress")),
        "line_items": [_line_item(item) for item in line_items],
    }


def fulfilled(node: dict[str, Any]) -> bool:
    return str(node.get("displayFulfillmentStatus") or "").upper() == "FULFILLED"


def refunds(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Each refund as a refunds/create body: one successful refund transaction of its total."""
    bodies = []
    for refund in node.get("refunds") or []:
        amount, currency = _money(refund, "totalRefundedSet")
        bodies.append({
            "id": _id(refund.get("legacyResourceId") or refund.get("id")),
            "order_id": _id(node.get("legacyResourceId")),
            "processed_at": refund.get("createdAt"), "created_at": refund.get("createdAt"),
            "transactions": [{"kind": "refund", "status": "success", "amount": amount,
                              "amount_set": {"shop_money": {"amount": amount, "currency_code": currency}}}],
        })
    return bodies


def product(node: dict[str, Any], children: list[dict[str, Any]]) -> dict[str, Any]:
    variants = [c for c in children if "/ProductVariant/" in str(c.get("id", ""))]
    collections = [c.get("handle") or "" for c in children if "/Collection/" in str(c.get("id", ""))]
    images = [{"id": index + 1, "src": (v.get("image") or {}).get("url")} for index, v in enumerate(variants)
              if (v.get("image") or {}).get("url")]
    image_ids = {img["src"]: img["id"] for img in images}
    return {
        "id": _id(node.get("legacyResourceId") or node.get("id")), "title": node.get("title") or "",
        "handle": node.get("handle") or "", "status": str(node.get("status") or "active").lower(),
        "vendor": node.get("vendor") or "", "product_type": node.get("productType") or "",
        "tags": list(node.get("tags") or []), "updated_at": node.get("updatedAt"),
        "image": {"src": (node.get("featuredImage") or {}).get("url") or ""}, "images": images,
        "collections": [c for c in collections if c],
        "variants": [{
            "id": _id(v.get("legacyResourceId") or v.get("id")), "title": v.get("title") or "",
            "sku": v.get("sku") or "",
            "price": v.get("price") or "0", "compare_at_price": v.get("compareAtPrice"),
            "available": bool(v.get("availableForSale", True)), "position": v.get("position") or 1,
            "image_id": image_ids.get((v.get("image") or {}).get("url") or ""),
        } for v in variants],
    }
