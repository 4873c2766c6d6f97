"""The `quote` an approval email renders, derived from the quote request that started the run.

Pure: the form.submitted properties in, the `quote` context (emails/samples.py conventions) out.
Quote forms ask for what is wanted and how much, rarely for prices: the rep reads the drafted
email in Slack and states prices or terms in the Edit modal when the request lacks them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

# Field names quote forms use (native forms, Typeform refs), first match wins.
TITLE_FIELDS = ("product", "products", "item", "items", "service", "interest")
QUANTITY_FIELDS = ("quantity", "qty", "units", "seats")
PRICE_FIELDS = ("unit_price", "price")
NOTE_FIELDS = ("message", "details", "notes", "comments")
# How long a drafted quote's prices are held (the rep can say otherwise in the Edit modal).
VALID_FOR = dt.timedelta(days=30)


def _first(fields: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    return next((fields[name] for name in names if fields.get(name) not in (None, "", [])), None)


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None


def _item(raw: Mapping[str, Any]) -> dict[str, Any]:
    quantity = _number(_first(raw, QUANTITY_FIELDS))
    price = _first(raw, PRICE_FIELDS)
    return {"title": str(_first(raw, ("title", *TITLE_FIELDS)) or "Your request"),
            "quantity": int(quantity) if quantity and quantity > 0 else 1,
            "price": "" if price is None else str(price)}


def _items(fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    listed = fields.get("items")
    if isinstance(listed, list) and all(isinstance(entry, Mapping) for entry in listed) and listed:
        return [_item(entry) for entry in listed]
    title = _first(fields, TITLE_FIELDS)
    if isinstance(title, list):
        title = ", ".join(str(part) for part in title)
    return [_item({**fields, "title": title or "Your request", "items": None})]


def _total(items: list[dict[str, Any]], fields: Mapping[str, Any]) -> str:
    """The priced lines summed; the stated budget when a line has no price; else empty."""
    prices = [_number(item["price"]) for item in items]
    if items and all(price is not None for price in prices):
        return str(sum((price * item["quantity"] for price, item in zip(prices, items, strict=True)
                        if price is not None), Decimal(0)))
    budget = fields.get("budget")
    return "" if budget in (None, "") else str(budget)


def quote_from_request(properties: Mapping[str, Any], requested_at: dt.datetime) -> dict[str, Any]:
    """`quote` for a form.submitted event's properties (form_key, fields)."""
    raw = properties.get("fields")
    fields: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    items = _items(fields)
    note = _first(fields, NOTE_FIELDS)
    return {
        "items": items, "total": _total(items, fields), "currency": str(fields.get("currency") or ""),
        "valid_until": (requested_at + VALID_FOR).date().isoformat(),
        "note": f"You wrote: “{note}”" if note else "",
        # Never a link from the form: a public form cannot put a button or a redirect in our email.
        # The accept button goes to the brand's quote page (workspace brand.quote_url).
        "url": "",
        "company": str(fields.get("company") or ""),
    }
