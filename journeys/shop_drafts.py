"""An accepted quote becomes a draft order in the shop, whose invoice URL the customer pays at.

Shopify's draftOrderCreate is not idempotent, so each draft order carries the tag
`nurture-quote-<id>` and we look for it before creating one: a job retried after Shopify made the
order but before we stored its id finds it instead of making a second. The quoted unit prices go
in as price overrides (catalog lines) or custom lines; the line discounts as applied discounts.
Shopify computes the tax by the shop's own settings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from contacts.models import Contact
from core.errors import ShopRefused
from core.services import Services
from emails.quotes import QuoteLine
from journeys.quote_models import Quote
from journeys.quotes import lines_of

FIND = """
query NurtureDraftOrders($query: String!) {
  draftOrders(first: 1, query: $query) { nodes { id name invoiceUrl } }
}
"""
CREATE = """
mutation NurtureDraftOrderCreate($input: DraftOrderInput!) {
  draftOrderCreate(input: $input) {
    draftOrder { id name invoiceUrl }
    userErrors { field message }
  }
}
"""


def tag_of(quote: Quote) -> str:
    return f"nurture-quote-{quote.id}"


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"amount": f"{amount:f}", "currencyCode": currency}


def _line_input(line: QuoteLine, currency: str) -> dict[str, Any]:
    unit = line.unit_price if line.unit_price is not None else Decimal(0)
    item: dict[str, Any] = {"quantity": line.quantity}
    if line.variant_id:
        item |= {"variantId": f"gid://shopify/ProductVariant/{line.variant_id}",
                 "priceOverride": _money(unit, currency)}
    else:
        item |= {"title": line.title, "originalUnitPriceWithCurrency": _money(unit, currency)}
    if line.discount:
        item["appliedDiscount"] = {"valueType": "PERCENTAGE", "value": float(line.discount), "title": "Quoted discount"}
    return item


def draft_order_input(quote: Quote, email: str, customer_id: int | None) -> dict[str, Any]:
    """DraftOrderInput (API 2025-10) for the quote as accepted."""
    found: dict[str, Any] = {
        "email": email, "tags": [tag_of(quote)], "presentmentCurrencyCode": quote.currency,
        "note": f"Quote {quote.number}, accepted by the customer (Nurture)",
        "lineItems": [_line_input(line, quote.currency) for line in lines_of(quote)],
    }
    if customer_id:
        found["purchasingEntity"] = {"customerId": f"gid://shopify/Customer/{customer_id}"}
    return found


async def _existing(services: Services, quote: Quote) -> dict[str, Any] | None:
    assert services.shop is not None
    data = await services.shop.query(FIND, {"query": f"tag:{tag_of(quote)}"})
    nodes = (data.get("draftOrders") or {}).get("nodes") or []
    return nodes[0] if nodes else None


async def make_draft_order(services: Services, quote: Quote) -> str:
    """The quote's draft order in the shop (made once); returns what happened, in words.
    Raises ShopUnavailable when the shop cannot be reached now (the caller retries later)."""
    if quote.draft_order_id:
        return "draft order exists"
    if services.shop is None:
        return "no shop connected: no draft order"
    try:
        draft = await _existing(services, quote) or await _create(services, quote)
    except ShopRefused as refused:
        await Quote.filter(id=quote.id).update(shop_error=str(refused)[:2000])
        return f"draft order refused: {refused}"
    quote.draft_order_id, quote.invoice_url = str(draft["id"]), str(draft.get("invoiceUrl") or "")
    await Quote.filter(id=quote.id).update(draft_order_id=quote.draft_order_id, invoice_url=quote.invoice_url,
                                           shop_error="")
    return f"draft order {draft.get('name') or draft['id']} created"


async def _create(services: Services, quote: Quote) -> dict[str, Any]:
    assert services.shop is not None
    contact = await Contact.get(id=quote.contact_id)
    variables = {"input": draft_order_input(quote, contact.email or "", contact.shopify_customer_id)}
    data = await services.shop.query(CREATE, variables)
    answer = data.get("draftOrderCreate") or {}
    errors = answer.get("userErrors") or []
    if errors or not answer.get("draftOrder"):
        raise ShopRefused("Shopify refused the draft order: " + "; ".join(str(e.get("message")) for e in errors))
    return dict(answer["draftOrder"])
