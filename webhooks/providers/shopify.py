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

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from contacts.events import NormalizedEvent
from contacts.models import Consent
from core.errors import UnprocessablePayload
from webhooks.providers import IgnoredTopic, common

NAME = "shopify"

# Our columns are signed 64-bit (BigIntField); anything outside cannot be stored, so refuse it here.
_INT64 = 2**63
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


@dataclass(frozen=True)
class _Delivery:
    """What every topic handler may need besides the payload."""

    data: dict[str, Any]
    # occurred_at for payloads without a timestamp of their own (the privacy topics).
    fallback_time: dt.datetime
    # Stands in for a missing natural key: identical bodies are the same happening.
    digest: str


def parse(headers: Mapping[str, str], body: bytes) -> list[NormalizedEvent]:
    name = str(headers.get("x-shopify-topic") or "").strip().lower()
    if not name:
        raise UnprocessablePayload("missing X-Shopify-Topic")
    handler = _TOPICS.get(name)
    if handler is None:
        # Checked before the body is read: a topic we do not use is ignored whatever it carries.
        raise IgnoredTopic(f"shopify topic {name!r} is not used")
    data = _load(body)
    if name in _PRIVACY_SHAPES:
        _check_privacy_body(name, data, headers)
    delivery = _Delivery(data, _fallback_time(headers), common.body_digest(body)[:32])
    return handler(delivery)


# Shopify's HMAC covers the body, not the X-Shopify-Topic header: a genuinely signed body of another
# topic resent under a privacy topic must erase nobody. So a privacy body must have exactly its
# documented keys and name the shop that sent the delivery.
_PRIVACY_SHAPES = {
    "customers/data_request": frozenset({"shop_id", "shop_domain", "customer", "orders_requested", "data_request"}),
    "customers/redact": frozenset({"shop_id", "shop_domain", "customer", "orders_to_redact"}),
    "shop/redact": frozenset({"shop_id", "shop_domain"}),
}


def _check_privacy_body(name: str, data: Mapping[str, Any], headers: Mapping[str, str]) -> None:
    expected = _PRIVACY_SHAPES[name]
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


def _load(body: bytes) -> dict[str, Any]:
    try:
        return common.load_object(body)
    except ValueError:
        # json refuses integers over 4300 digits with a plain ValueError that load_json lets through.
        raise UnprocessablePayload("body is not usable JSON") from None


def _fallback_time(headers: Mapping[str, str]) -> dt.datetime:
    try:
        return common.parse_time(headers.get("x-shopify-triggered-at"))
    except UnprocessablePayload:
        return common.parse_time(None)


# ---------------------------------------------------------------- field readers


def _as_text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise UnprocessablePayload(f"{field} must be text")
    # PostgreSQL cannot store NUL or lone surrogates (valid in JSON); drop them here, not at insert.
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _text(container: Mapping[str, Any], key: str) -> str:
    return _as_text(container.get(key), key)


def _int(container: Mapping[str, Any], key: str) -> int | None:
    value = container.get(key)
    if value is None or value == "":
        return None
    try:
        number = common.as_int(value)
    except ValueError:  # int() refuses over 4300 digits and some Unicode digits ("²")
        number = None
    if number is None or not -_INT64 < number < _INT64:
        raise UnprocessablePayload(f"{key} must be a 64-bit integer")
    return number


def _required_id(container: Mapping[str, Any], key: str) -> int:
    number = _int(container, key)
    if number is None or number <= 0:
        raise UnprocessablePayload(f"{key} is missing")
    return number


def _obj(container: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Optional nested object: absent or null reads as empty, any other type is a bad payload."""
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UnprocessablePayload(f"{key} must be an object")
    return value


def _list(container: Mapping[str, Any], key: str) -> list[Any]:
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise UnprocessablePayload(f"{key} must be a list")
    return value


def _money(container: Mapping[str, Any], key: str) -> str:
    try:
        return common.money(container.get(key))
    except ArithmeticError:
        # Decimal.quantize overflows on huge amounts ("1e99"); common.money lets that escape.
        raise UnprocessablePayload(f"{key} is not an amount") from None


def _when(container: Mapping[str, Any], *keys: str) -> dt.datetime | None:
    """The first of `keys` that is set, as aware UTC; None when none is."""
    for key in keys:
        if container.get(key) not in (None, ""):
            return common.parse_time(container[key])
    return None


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# ---------------------------------------------------------------- people


def _consent(customer: Mapping[str, Any], buyer_accepts: Any = None) -> Consent | None:
    """email_marketing_consent.state when Shopify sent one, else the pre-2024-10 accepts_marketing,
    else (orders, checkouts) the box the buyer ticked at checkout: `buyer_accepts_marketing`."""
    state = _text(_obj(customer, "email_marketing_consent"), "state").strip().lower()
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
        first, last = _text(source, "first_name").strip(), _text(source, "last_name").strip()
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


def _buyer(data: Mapping[str, Any]) -> _Buyer:
    """Who placed an order or checkout; a guest has no customer and possibly no email at all."""
    customer = _obj(data, "customer")
    # The order's own email is what the buyer typed at checkout; customer.email can be older.
    email = common.normalize_email(data.get("email")) or common.normalize_email(customer.get("email"))
    names = _names(customer, _obj(data, "billing_address"))
    phone = _text(customer, "phone") or _text(data, "phone")
    return _Buyer(
        email=email,
        customer_id=_int(customer, "id"),
        profile=_profile(names, phone, _text(data, "customer_locale")),
        consent=_consent(customer, data.get("buyer_accepts_marketing")),
    )


def _tags(value: Any) -> tuple[str, ...]:
    """Shopify sends "tag, VIP"; a list is accepted too. Trimmed, non-empty, first occurrence kept."""
    parts = value.split(",") if isinstance(value, str) else value
    if parts is None:
        return ()
    if not isinstance(parts, list):
        raise UnprocessablePayload("tags must be text")
    cleaned = (_as_text(part, "tags").strip() for part in parts)
    return tuple(dict.fromkeys(tag for tag in cleaned if tag))


# ---------------------------------------------------------------- shared shapes


def _line_item(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise UnprocessablePayload("line_items entries must be objects")
    image = item.get("image")
    return {
        "product_id": _int(item, "product_id"),
        "variant_id": _int(item, "variant_id"),  # null on custom items and some checkouts
        "title": _text(item, "title"),
        "quantity": _int(item, "quantity") or 0,
        "price": _money(item, "price"),
        "sku": _text(item, "sku"),
        # Order webhooks carry neither; kept in the shape so templates need no special case.
        "url": _text(item, "url"),
        "image": _text(image, "src") if isinstance(image, dict) else _text(item, "image"),
    }


def _discount_codes(data: Mapping[str, Any]) -> list[str]:
    codes = []
    for entry in _list(data, "discount_codes"):
        code = _text(entry, "code") if isinstance(entry, dict) else _as_text(entry, "discount_codes")
        if code.strip():
            codes.append(code.strip())
    return codes


def _event(kind: str, key: str, occurred_at: dt.datetime, **fields: Any) -> NormalizedEvent:
    return NormalizedEvent(
        type=kind, source=NAME, idempotency_key=f"shopify:{kind}:{key}", occurred_at=occurred_at, **fields
    )


# ---------------------------------------------------------------- orders


def _order(kind: str, delivery: _Delivery, *time_keys: str) -> list[NormalizedEvent]:
    data = delivery.data
    order_id = _required_id(data, "id")
    # processed_at is the date Shopify shows on the order (imported orders backdate it).
    placed_at = _when(data, "processed_at", "created_at") or delivery.fallback_time
    buyer = _buyer(data)
    properties = {
        "order_id": order_id,
        "name": _text(data, "name"),
        "total_price": _money(data, "total_price"),
        "currency": _text(data, "currency"),
        "line_items": [_line_item(item) for item in _list(data, "line_items")],
        "financial_status": _text(data, "financial_status"),
        "checkout_token": _text(data, "checkout_token") or None,
        "discount_codes": _discount_codes(data),
        "placed_at": placed_at.isoformat(),
        # Set on any topic when the order is cancelled: orders/create can carry an already cancelled order.
        "cancelled_at": _iso(_when(data, "cancelled_at")),
    }
    # Keyed on the order alone, per topic: a re-sent orders/paid is one payment.
    return [
        _event(
            kind,
            str(order_id),
            _when(data, *time_keys) or placed_at,
            email=buyer.email,
            shopify_customer_id=buyer.customer_id,
            profile=buyer.profile,
            consent=buyer.consent,
            properties=properties,
            object_key=f"order:{order_id}",
        )
    ]


def _order_created(delivery: _Delivery) -> list[NormalizedEvent]:
    return _order("order.created", delivery, "created_at", "processed_at")


def _order_paid(delivery: _Delivery) -> list[NormalizedEvent]:
    # No paid_at in the payload: updated_at is when the payment changed the order.
    return _order("order.paid", delivery, "updated_at")


def _order_cancelled(delivery: _Delivery) -> list[NormalizedEvent]:
    return _order("order.cancelled", delivery, "cancelled_at", "updated_at")


# ---------------------------------------------------------------- checkouts


def _checkout_updated(delivery: _Delivery) -> list[NormalizedEvent]:
    data = delivery.data
    token = _text(data, "token").strip()
    if not token or len(token) > _MAX_TOKEN:
        raise UnprocessablePayload("checkout token is missing or too long")
    updated = _when(data, "updated_at")
    occurred = updated or _when(data, "created_at") or delivery.fallback_time
    buyer = _buyer(data)
    properties = {
        "token": token,
        "line_items": [_line_item(item) for item in _list(data, "line_items")],
        "total_price": _money(data, "total_price"),
        "currency": _text(data, "currency"),
        "recovery_url": _text(data, "abandoned_checkout_url"),
        "started_at": _iso(_when(data, "created_at") or occurred),
        "updated_at": occurred.isoformat(),
        "completed_at": _iso(_when(data, "completed_at")),
    }
    # create and update of the same state share a key; every later change gets its own.
    key = f"{token}:{_iso(updated) or delivery.digest}"
    return [
        _event(
            "checkout.updated",
            key,
            occurred,
            email=buyer.email,
            shopify_customer_id=buyer.customer_id,
            profile=buyer.profile,
            consent=buyer.consent,
            properties=properties,
            object_key=f"checkout:{token}",
        )
    ]


# ---------------------------------------------------------------- customers and consent


def _customer(kind: str, delivery: _Delivery) -> list[NormalizedEvent]:
    data = delivery.data
    customer_id = _required_id(data, "id")
    updated = _when(data, "updated_at", "created_at")
    state = _text(data, "state").strip()
    # No address fallback for names: default_address can name someone else entirely.
    profile = _profile(_names(data), _text(data, "phone"), _text(data, "locale"))
    return [
        _event(
            kind,
            f"{customer_id}:{_iso(updated) or delivery.digest}",
            updated or delivery.fallback_time,
            email=common.normalize_email(data.get("email")),
            shopify_customer_id=customer_id,
            profile=profile,
            attributes={"shopify_state": state} if state else {},
            tags=_tags(data.get("tags")),
            consent=_consent(data),
        )
    ]


def _customer_created(delivery: _Delivery) -> list[NormalizedEvent]:
    return _customer("customer.created", delivery)


def _customer_updated(delivery: _Delivery) -> list[NormalizedEvent]:
    return _customer("customer.updated", delivery)


def _consent_updated(delivery: _Delivery) -> list[NormalizedEvent]:
    data = delivery.data
    customer_id = _required_id(data, "customer_id")
    marketing = _obj(data, "email_marketing_consent")
    changed = _when(marketing, "consent_updated_at")
    state = _text(marketing, "state").strip().lower()
    # properties.state keeps Shopify's word (not_subscribed differs from unsubscribed);
    # the consent field carries our mapping of it.
    return [
        _event(
            "consent.updated",
            f"{customer_id}:{_iso(changed) or delivery.digest}",
            changed or delivery.fallback_time,
            email=common.normalize_email(data.get("email_address")),
            shopify_customer_id=customer_id,
            consent=_consent(data),
            properties={"state": state or None, "source": "shopify"},
        )
    ]


# ---------------------------------------------------------------- privacy (mandatory GDPR topics)


def _int_list(data: Mapping[str, Any], key: str) -> list[int]:
    numbers = [_int({key: value}, key) for value in _list(data, key)]
    return [number for number in numbers if number is not None]


def _privacy(kind: str, delivery: _Delivery, key: str, properties: dict[str, Any]) -> list[NormalizedEvent]:
    # Identity only: a privacy request must not set profile fields or consent on the contact.
    customer = _obj(delivery.data, "customer")
    return [
        _event(
            kind,
            key,
            delivery.fallback_time,
            email=common.normalize_email(customer.get("email")),
            shopify_customer_id=_int(customer, "id"),
            properties=properties,
        )
    ]


def _data_requested(delivery: _Delivery) -> list[NormalizedEvent]:
    request_id = _int(_obj(delivery.data, "data_request"), "id")
    properties = {"request_id": request_id, "orders_requested": _int_list(delivery.data, "orders_requested"),
                  "shop_domain": _text(delivery.data, "shop_domain")}
    key = str(request_id) if request_id is not None else delivery.digest
    return _privacy("privacy.data_requested", delivery, key, properties)


def _redact_requested(delivery: _Delivery) -> list[NormalizedEvent]:
    # No request id in this payload: the body itself identifies the request.
    properties = {"orders_to_redact": _int_list(delivery.data, "orders_to_redact"),
                  "shop_domain": _text(delivery.data, "shop_domain")}
    return _privacy("privacy.redact_requested", delivery, delivery.digest, properties)


def _shop_redact(delivery: _Delivery) -> list[NormalizedEvent]:
    data = delivery.data
    shop_id = _int(data, "shop_id")
    key = str(shop_id) if shop_id is not None else delivery.digest
    # About the shop, not a person: no identity (ingest handles it without a contact).
    return [
        _event(
            "privacy.shop_redact",
            key,
            delivery.fallback_time,
            properties={"shop_domain": _text(data, "shop_domain")},
        )
    ]


_TOPICS: dict[str, Callable[[_Delivery], list[NormalizedEvent]]] = {
    "orders/create": _order_created,
    "orders/paid": _order_paid,
    "orders/cancelled": _order_cancelled,
    "checkouts/create": _checkout_updated,
    "checkouts/update": _checkout_updated,
    "customers/create": _customer_created,
    "customers/update": _customer_updated,
    "customers_email_marketing_consent/update": _consent_updated,
    "customers/data_request": _data_requested,
    "customers/redact": _redact_requested,
    "shop/redact": _shop_redact,
}
