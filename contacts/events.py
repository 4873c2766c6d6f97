"""NormalizedEvent: what every provider's parser produces and `contacts.ingest` applies.

Event types (properties in brackets; money is a string like "49.90"):
- order.created / order.paid / order.cancelled [order_id:int, name, total_price, currency,
  line_items:[{product_id, variant_id, title, quantity, price, sku, url, image}], financial_status,
  checkout_token, discount_codes:[str], placed_at:iso, cancelled_at:iso|None]   object_key "order:<id>"
- order.refunded [order_id, refund_id, amount, currency, note]   by shopify_order_id; object_key "order:<id>"
- order.fulfilled (the order.* properties of orders/fulfilled)   object_key "order:<id>"
- checkout.updated [token, line_items, total_price, currency, recovery_url, started_at:iso,
  updated_at:iso, completed_at:iso|None]                 object_key "checkout:<token>"
- checkout.abandoned (emitted by our cron, same properties as checkout.updated)
- customer.created / customer.updated [shopify tags go to `tags`]
- product.updated [product_id, title, handle, status, vendor, product_type, tags, collections, image,
  updated_at, variants:[{variant_id, title, sku, price, compare_at_price, available, position, image}]] /
  product.deleted [product_id]: no identity; they change the catalog (pipeline/products.py), not a contact
- consent.updated [state, source]                         (consent field carries the new state)
- privacy.data_requested [request_id, orders_requested:[int]]
- privacy.redact_requested [orders_to_redact:[int]]
- privacy.shop_redact [shop_domain]
- form.submitted [form_key, fields:{name: value}]      object_key "form:<response id>" when known
- survey.answered [score:int 0-10, category: promoter|passive|detractor, comment, reason,
  survey, response_id]                                   object_key "survey:<response id>"
- email.delivered / email.bounced [bounce_type: hard|soft, description] / email.complained /
  email.opened / email.clicked [url]  -- all with [message_id, provider, recipient]
- page.viewed [url, path, title, referrer], identify [], and custom names from tracking [any]
- preferences.updated [topics_off:[str], message_id] (the preferences page)
- quote.accepted [quote_id, number, total, currency, items:int] (the quote's accept page)
Emitted by contact intelligence (contacts/intelligence.py, source "nurture"; EMITTED_TYPES):
- coupon.redeemed [code, pool, order_id, total_price, assigned_to_buyer] (pipeline/coupons.py)
- loyalty.tier_changed [from_tier, to_tier, points] / order.milestone [count]
- engagement.tag_changed [from_tag, to_tag] / segment.entered, segment.exited [segment]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from contacts.models import Consent

# Derived by us from other events: never activity, never re-scored, never accepted from tracking.
EMITTED_TYPES = frozenset({
    "loyalty.tier_changed", "order.milestone", "engagement.tag_changed", "segment.entered", "segment.exited",
    "consent.subscribed", "consent.confirmation_requested", "coupon.redeemed",
})


@dataclass(frozen=True)
class NormalizedEvent:
    type: str
    source: str
    # Unique per real-world happening: the same order delivered twice has one key.
    idempotency_key: str
    occurred_at: dt.datetime
    # Identity: at least one of these (events with none are dropped with a trace).
    email: str | None = None
    shopify_customer_id: int | None = None
    anonymous_id: str | None = None
    # For events about an order whose buyer the payload does not name (Shopify refunds): the contact
    # is whoever placed that order, if we know the order.
    shopify_order_id: int | None = None
    # Contact fields to set when present: first_name, last_name, phone, locale, timezone.
    profile: dict[str, Any] = field(default_factory=dict)
    # A time zone inferred (from an address): it fills the gap, never replaces one a source set.
    timezone_guess: str = ""
    # A language inferred (a browser's Accept-Language on a form post): it fills the gap too.
    locale_guess: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    consent: Consent | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    object_key: str = ""
    # False when the email is only claimed (site tracking without the store's identity hash): such an
    # event never attaches to, or changes, a contact that already holds that address.
    verified: bool = True
