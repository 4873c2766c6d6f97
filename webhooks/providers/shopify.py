"""Shopify webhooks: orders, checkouts, customers, email consent and the mandatory privacy topics.

Shopify redelivers (same webhook id) and sometimes re-sends the same happening under a new webhook
id, so idempotency keys are built from what the payload describes (order id, checkout token plus
updated_at, ...), never from the delivery. When a payload lacks the field a key needs, a digest of
the body stands in: a re-sent body is byte-identical, a different happening is not.

Real payloads differ from the documentation in ways handled here: guest orders have `customer` null
or absent and `email` "", `email` and `customer.email` can differ (the order's wins), ids exceed 2^53
(json keeps them as int; floats are refused), money arrives as strings, `tags` is one
comma-separated string, and from API 2024-10 `customer.accepts_marketing` is gone and
`email_marketing_consent` may be null.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from contacts.events import NormalizedEvent
from contacts.models import Consent
from contacts.timezones import zone_for_address
from core.errors import UnprocessablePayload
from webhooks.providers import IgnoredTopic, common, shopify_privacy, shopify_products
from webhooks.providers.shopify_fields import NAME as NAME  # the registry reads each provider's NAME
from webhooks.providers.shopify_fields import (
    Delivery,
    as_text,
    event,
    fallback_time,
    integer,
    iso,
    items,
    money,
    obj,
    required_id,
    shop_money,
    tags,
    text,
    when,
)

# Checkout.token is a 128-character column and idempotency keys are limited to 200 characters.
_MAX_TOKEN = 128

# `not_subscribed` is absent on purpose: never subscribed is not an opt-out (which is sticky), and
# Shopify does not know about a subscription from one of our forms, so it says nothing.
_CONSENT_BY_STATE = {
    "subscribed": Consent.SUBSCRIBED,
    "unsubscribed": Consent.UNSUBSCRIBED,
    "pending": Consent.PENDING,
}


# ---------------------------------------------------------------- contract: headers


def verify(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    common.check_hmac_base64(body, secret, common.signature_header(headers, "x-shopify-hmac-sha256"))


def delivery_id(headers: Mapping[str, str], body: bytes) -> str:
    # Repeats on Shopify's own retries, so it is the delivery dedupe key.
    return common.header(headers, "x-shopify-webhook-id")


def topic(headers: Mapping[str, str], body: bytes) -> str:
    return common.header(headers, "x-shopify-topic")


# ---------------------------------------------------------------- contract: parse


def parse(headers: Mapping[str, str], body: bytes) -> list[NormalizedEvent]:
    name = str(headers.get("x-shopify-topic") or "").strip().lower()
    if not name:
        raise UnprocessablePayload("missing X-Shopify-Topic")
    handler = _TOPICS.get(name)
    if handler is None:
        # Checked before the body is read: a topic we do not use is ignored whatever it carries.
        raise IgnoredTopic(f"shopify topic {name!r} is not used")
    data = _load(body)
    if name in shopify_privacy.SHAPES:
        shopify_privacy.check_body(name, data, headers)
    delivery = Delivery(data, fallback_time(headers), common.body_digest(body)[:32])
    return handler(delivery)


def parse_object(topic_name: str, data: dict[str, Any], received_at: Any, digest: str) -> list[NormalizedEvent]:
    """Events from a payload that did not come as a webhook (the Admin API import), by the topic whose
    body it is shaped like: the same rules and idempotency keys as that topic's webhooks."""
    return _TOPICS[topic_name](Delivery(data, received_at, digest))


def _load(body: bytes) -> dict[str, Any]:
    try:
        return common.load_object(body)
    except ValueError:
        # json refuses integers over 4300 digits with a plain ValueError that load_json lets through.
        raise UnprocessablePayload("body is not usable JSON") from None


# ---------------------------------------------------------------- people


def _consent(customer: Mapping[str, Any], buyer_accepts: Any = None) -> Consent | None:
    """email_marketing_consent.state when Shopify sent one, else the pre-2024-10 accepts_marketing,
    else (orders, checkouts) the box the buyer ticked at checkout: `buyer_accepts_marketing`."""
    state = text(obj(customer, "email_marketing_consent"), "state").strip().lower()
    if state:
        return _CONSENT_BY_STATE.get(state)  # not_subscribed, redacted, invalid...: no opinion
    legacy = customer.get("accepts_marketing")
    if isinstance(legacy, bool):
        return Consent.SUBSCRIBED if legacy else Consent.UNSUBSCRIBED
    return Consent.SUBSCRIBED if buyer_accepts is True else None


def _names(*sources: Mapping[str, Any]) -> dict[str, str]:
    """First/last name from the first source that has any.

    Taken as a pair from one place: mixing could join the buyer's first name to the surname of
    whoever is on the billing address.
    """
    for source in sources:
        first, last = text(source, "first_name").strip(), text(source, "last_name").strip()
        if first or last:
            return {key: value for key, value in (("first_name", first), ("last_name", last)) if value}
    return {}


def _profile(names: dict[str, str], phone: str, locale: str) -> dict[str, Any]:
    # Only fields that carry a value: an empty string would wipe what the contact already has.
    profile: dict[str, Any] = dict(names)
    if phone.strip():
        profile["phone"] = phone.strip()
    if locale.strip():
        profile["locale"] = locale.strip()
    return profile


@dataclass(frozen=True)
class _Buyer:
    email: str | None
    customer_id: int | None
    profile: dict[str, Any]
    consent: Consent | None
    timezone: str


def _address_zone(*addresses: Mapping[str, Any]) -> str:
    """The time zone of the first address that tells one (Shopify gives ISO country and province codes)."""
    for address in addresses:
        zone = zone_for_address(text(address, "country_code"), text(address, "province_code"))
        if zone:
            return zone
    return ""


def _buyer(data: Mapping[str, Any]) -> _Buyer:
    """Who placed an order or checkout; a guest has no customer and possibly no email at all."""
    customer = obj(data, "customer")
    # The order's own email is what the buyer typed at checkout; customer.email can be older.
    email = common.normalize_email(data.get("email")) or common.normalize_email(customer.get("email"))
    names = _names(customer, obj(data, "billing_address"))
    phone = text(customer, "phone") or text(data, "phone")
    return _Buyer(
        email=email,
        customer_id=integer(customer, "id"),
        profile=_profile(names, phone, text(data, "customer_locale")),
        consent=_consent(customer, data.get("buyer_accepts_marketing")),
        # Where the buyer lives, else where the parcel goes, else where the bill goes.
        timezone=_address_zone(obj(customer, "default_address"), obj(data, "shipping_address"),
                               obj(data, "billing_address")),
    )


# ---------------------------------------------------------------- shared shapes


def _line_item(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise UnprocessablePayload("line_items entries must be objects")
    image = item.get("image")
    return {
        "product_id": integer(item, "product_id"),
        "variant_id": integer(item, "variant_id"),  # null on custom items and some checkouts
        "title": text(item, "title"),
        "quantity": integer(item, "quantity") or 0,
        "price": money(item, "price"),
        "sku": text(item, "sku"),
        # "Matte Black"; Shopify's "Default Title" of a product without options says nothing.
        "variant": "" if text(item, "variant_title") == "Default Title" else text(item, "variant_title"),
        # Order webhooks carry neither; kept in the shape so templates need no special case.
        "url": text(item, "url"),
        "image": text(image, "src") if isinstance(image, dict) else text(item, "image"),
    }


def _discount_codes(data: Mapping[str, Any]) -> list[str]:
    codes = []
    for entry in items(data, "discount_codes"):
        code = text(entry, "code") if isinstance(entry, dict) else as_text(entry, "discount_codes")
        if code.strip():
            codes.append(code.strip())
    return codes


# ---------------------------------------------------------------- orders


def _order(kind: str, delivery: Delivery, *time_keys: str) -> list[NormalizedEvent]:
    data = delivery.data
    order_id = required_id(data, "id")
    # processed_at is the date Shopify shows on the order (imported orders backdate it).
    placed_at = when(data, "processed_at", "created_at") or delivery.fallback_time
    buyer = _buyer(data)
    total, currency = shop_money(data, "total_price")
    properties = {
        "order_id": order_id,
        "name": text(data, "name"),
        # The shop's money: loyalty points and total spent add up in one currency.
        "total_price": total,
        "currency": currency or text(data, "currency"),
        "line_items": [_line_item(item) for item in items(data, "line_items")],
        "financial_status": text(data, "financial_status"),
        "checkout_token": text(data, "checkout_token") or None,
        "discount_codes": _discount_codes(data),
        "placed_at": placed_at.isoformat(),
        # Set on any topic when the order is cancelled: orders/create can carry an already cancelled order.
        "cancelled_at": iso(when(data, "cancelled_at")),
    }
    # Keyed on the order alone, per topic: a re-sent orders/paid is one payment.
    return [
        event(
            kind,
            str(order_id),
            when(data, *time_keys) or placed_at,
            email=buyer.email,
            shopify_customer_id=buyer.customer_id,
            profile=buyer.profile,
            consent=buyer.consent,
            timezone_guess=buyer.timezone,
            properties=properties,
            object_key=f"order:{order_id}",
        )
    ]


def _order_created(delivery: Delivery) -> list[NormalizedEvent]:
    return _order("order.created", delivery, "created_at", "processed_at")


def _order_paid(delivery: Delivery) -> list[NormalizedEvent]:
    # No paid_at in the payload: updated_at is when the payment changed the order.
    return _order("order.paid", delivery, "updated_at")


def _order_cancelled(delivery: Delivery) -> list[NormalizedEvent]:
    return _order("order.cancelled", delivery, "cancelled_at", "updated_at")


def _order_fulfilled(delivery: Delivery) -> list[NormalizedEvent]:
    # Fulfilled when the last item shipped; review requests can wait for this rather than the order.
    return _order("order.fulfilled", delivery, "updated_at")


def _refunded_amount(data: Mapping[str, Any]) -> tuple[str, str]:
    """The money that went back: the successful refund transactions; the refunded lines only when
    the payload carries no refund transaction at all (a failed one refunded nothing)."""
    total, currency = Decimal(0), ""
    transactions = [t for t in items(data, "transactions") if isinstance(t, dict)
                    and text(t, "kind").lower() == "refund"]
    for transaction in transactions:
        if text(transaction, "status").lower() in ("success", ""):
            amount, code = shop_money(transaction, "amount")
            total, currency = total + Decimal(amount), currency or code
    if not transactions:
        for line in items(data, "refund_line_items"):
            if isinstance(line, dict):
                subtotal, code = shop_money(line, "subtotal")
                tax, _ = shop_money(line, "total_tax")
                total, currency = total + Decimal(subtotal) + Decimal(tax), currency or code
    return f"{total:.2f}", currency


def _refund(delivery: Delivery) -> list[NormalizedEvent]:
    data = delivery.data
    refund_id, order_id = required_id(data, "id"), required_id(data, "order_id")
    amount, currency = _refunded_amount(data)
    # A refund names no buyer: ingest finds the contact through the order.
    return [event("order.refunded", str(refund_id), when(data, "processed_at", "created_at") or delivery.fallback_time,
                  shopify_order_id=order_id, object_key=f"order:{order_id}",
                  properties={"order_id": order_id, "refund_id": refund_id, "amount": amount, "currency": currency,
                              "note": text(data, "note")[:500]})]


# ---------------------------------------------------------------- checkouts


def _checkout_updated(delivery: Delivery) -> list[NormalizedEvent]:
    data = delivery.data
    token = text(data, "token").strip()
    if not token or len(token) > _MAX_TOKEN:
        raise UnprocessablePayload("checkout token is missing or too long")
    updated = when(data, "updated_at")
    occurred = updated or when(data, "created_at") or delivery.fallback_time
    buyer = _buyer(data)
    properties = {
        "token": token,
        "line_items": [_line_item(item) for item in items(data, "line_items")],
        "total_price": money(data, "total_price"),
        "currency": text(data, "currency"),
        "recovery_url": text(data, "abandoned_checkout_url"),
        "started_at": iso(when(data, "created_at") or occurred),
        "updated_at": occurred.isoformat(),
        "completed_at": iso(when(data, "completed_at")),
    }
    # create and update of the same state share a key; every later change gets its own.
    key = f"{token}:{iso(updated) or delivery.digest}"
    return [
        event(
            "checkout.updated",
            key,
            occurred,
            email=buyer.email,
            shopify_customer_id=buyer.customer_id,
            profile=buyer.profile,
            consent=buyer.consent,
            timezone_guess=buyer.timezone,
            properties=properties,
            object_key=f"checkout:{token}",
        )
    ]


# ---------------------------------------------------------------- customers and consent


def _customer(kind: str, delivery: Delivery) -> list[NormalizedEvent]:
    data = delivery.data
    customer_id = required_id(data, "id")
    updated = when(data, "updated_at", "created_at")
    state = text(data, "state").strip()
    # No address fallback for names: default_address can name someone else entirely.
    profile = _profile(_names(data), text(data, "phone"), text(data, "locale"))
    return [
        event(
            kind,
            f"{customer_id}:{iso(updated) or delivery.digest}",
            updated or delivery.fallback_time,
            email=common.normalize_email(data.get("email")),
            shopify_customer_id=customer_id,
            profile=profile,
            attributes={"shopify_state": state} if state else {},
            tags=tags(data.get("tags")),
            consent=_consent(data),
            timezone_guess=_address_zone(obj(data, "default_address")),
        )
    ]


def _customer_created(delivery: Delivery) -> list[NormalizedEvent]:
    return _customer("customer.created", delivery)


def _customer_updated(delivery: Delivery) -> list[NormalizedEvent]:
    return _customer("customer.updated", delivery)


def _consent_updated(delivery: Delivery) -> list[NormalizedEvent]:
    data = delivery.data
    customer_id = required_id(data, "customer_id")
    marketing = obj(data, "email_marketing_consent")
    changed = when(marketing, "consent_updated_at")
    state = text(marketing, "state").strip().lower()
    # properties.state keeps Shopify's word (not_subscribed differs from unsubscribed);
    # the consent field carries our mapping of it.
    return [
        event(
            "consent.updated",
            f"{customer_id}:{iso(changed) or delivery.digest}",
            changed or delivery.fallback_time,
            email=common.normalize_email(data.get("email_address")),
            shopify_customer_id=customer_id,
            consent=_consent(data),
            properties={"state": state or None, "source": "shopify"},
        )
    ]


_TOPICS: dict[str, Callable[[Delivery], list[NormalizedEvent]]] = {
    "orders/create": _order_created,
    "orders/paid": _order_paid,
    "orders/cancelled": _order_cancelled,
    "orders/fulfilled": _order_fulfilled,
    "refunds/create": _refund,
    "checkouts/create": _checkout_updated,
    "checkouts/update": _checkout_updated,
    "customers/create": _customer_created,
    "customers/update": _customer_updated,
    "customers_email_marketing_consent/update": _consent_updated,
    "products/create": shopify_products.product_updated,
    "products/update": shopify_products.product_updated,
    "products/delete": shopify_products.product_deleted,
    "customers/data_request": shopify_privacy.data_requested,
    "customers/redact": shopify_privacy.redact_requested,
    "shop/redact": shopify_privacy.shop_redact,
}
