"""Shopify's mandatory privacy topics: customers/data_request, customers/redact, shop/redact.

Shopify's HMAC covers the body, not the X-Shopify-Topic header, so each body is held to its
documented shape and to the shop that sent it before anything is erased or exported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contacts.events import NormalizedEvent
from core.errors import UnprocessablePayload
from webhooks.providers import common
from webhooks.providers.shopify_fields import Delivery, event, integer, items, obj, text

# Shopify's HMAC covers the body, not the X-Shopify-Topic header: a genuinely signed body of another
# topic resent under a privacy topic must erase nobody. So a privacy body must have exactly its
# documented keys and name the shop that sent the delivery.
SHAPES = {
    "customers/data_request": frozenset({"shop_id", "shop_domain", "customer", "orders_requested", "data_request"}),
    "customers/redact": frozenset({"shop_id", "shop_domain", "customer", "orders_to_redact"}),
    "shop/redact": frozenset({"shop_id", "shop_domain"}),
}


def check_body(name: str, data: Mapping[str, Any], headers: Mapping[str, str]) -> None:
    expected = SHAPES[name]
    if set(data) != expected:
        raise UnprocessablePayload(
            f"a {name} body has exactly the keys {', '.join(sorted(expected))}; this one has "
            f"{', '.join(sorted(map(str, data)))[:300]}: refused, nothing erased")
    if "customer" in expected and not isinstance(data["customer"], dict):
        raise UnprocessablePayload(f"a {name} body names its customer in an object: refused, nothing erased")
    shop = str(data.get("shop_domain") or "").strip().lower()
    sender = str(headers.get("x-shopify-shop-domain") or "").strip().lower()
    if not shop or shop != sender:
        raise UnprocessablePayload(
            f"the {name} body names shop {shop!r} but X-Shopify-Shop-Domain is {sender!r}: refused, nothing erased")


def _int_list(data: Mapping[str, Any], key: str) -> list[int]:
    numbers = [integer({key: value}, key) for value in items(data, key)]
    return [number for number in numbers if number is not None]


def _privacy(kind: str, delivery: Delivery, key: str, properties: dict[str, Any]) -> list[NormalizedEvent]:
    # Identity only: a privacy request must not set profile fields or consent on the contact.
    customer = obj(delivery.data, "customer")
    return [
        event(
            kind,
            key,
            delivery.fallback_time,
            email=common.normalize_email(customer.get("email")),
            shopify_customer_id=integer(customer, "id"),
            properties=properties,
        )
    ]


def data_requested(delivery: Delivery) -> list[NormalizedEvent]:
    request_id = integer(obj(delivery.data, "data_request"), "id")
    properties = {"request_id": request_id, "orders_requested": _int_list(delivery.data, "orders_requested"),
                  "shop_domain": text(delivery.data, "shop_domain")}
    key = str(request_id) if request_id is not None else delivery.digest
    return _privacy("privacy.data_requested", delivery, key, properties)


def redact_requested(delivery: Delivery) -> list[NormalizedEvent]:
    # No request id in this payload: the body itself identifies the request.
    properties = {"orders_to_redact": _int_list(delivery.data, "orders_to_redact"),
                  "shop_domain": text(delivery.data, "shop_domain")}
    return _privacy("privacy.redact_requested", delivery, delivery.digest, properties)


def shop_redact(delivery: Delivery) -> list[NormalizedEvent]:
    data = delivery.data
    shop_id = integer(data, "shop_id")
    key = str(shop_id) if shop_id is not None else delivery.digest
    # About the shop, not a person: no identity (ingest handles it without a contact).
    return [
        event(
            "privacy.shop_redact",
            key,
            delivery.fallback_time,
            properties={"shop_domain": text(data, "shop_domain")},
        )
    ]
