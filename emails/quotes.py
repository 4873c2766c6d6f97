"""Quotes: the lines a rep prices, their totals, and the `quote` an email renders.

Pure. A quote request's form fields give the first lines (what was asked for and how many, rarely
a price); the rep prices them in Slack's quote builder; the totals are computed here, rounded to
the currency's minor units (none for JPY, three for KWD) half up at each line and at the tax, as
an invoice would be.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_currency_precision

# Field names quote forms use (native forms, Typeform refs), first match wins.
TITLE_FIELDS = ("product", "products", "item", "items", "service", "interest")
QUANTITY_FIELDS = ("quantity", "qty", "units", "seats")
PRICE_FIELDS = ("unit_price", "price")
NOTE_FIELDS = ("message", "details", "notes", "comments")
ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class QuoteLine:
    title: str
    quantity: int = 1
    unit_price: Decimal | None = None  # None until the rep prices it
    discount: Decimal = ZERO  # percent off this line
    variant_id: int | None = None  # the catalog's (Shopify's) variant, when picked from it

    def as_json(self) -> dict[str, Any]:
        return {"title": self.title, "quantity": self.quantity, "discount": str(self.discount),
                "unit_price": None if self.unit_price is None else str(self.unit_price),
                "variant_id": self.variant_id}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> QuoteLine:
        variant = data.get("variant_id")
        return cls(title=str(data.get("title") or ""), quantity=int(data.get("quantity") or 1),
                   unit_price=number(data.get("unit_price")), discount=number(data.get("discount")) or ZERO,
                   variant_id=int(variant) if variant else None)


@dataclass(frozen=True)
class TaxRule:
    rate: Decimal = ZERO  # percent
    label: str = "Tax"
    included: bool = False  # the prices already include it (consumer prices in the EU, UK, Japan...)


@dataclass(frozen=True)
class Totals:
    amounts: tuple[Decimal | None, ...]  # each line after its discount; None while it has no price
    subtotal: Decimal | None  # None while any line has no price
    discount: Decimal = ZERO  # what the line discounts take off the list prices
    tax: Decimal = ZERO
    total: Decimal | None = None


@dataclass(frozen=True)
class QuoteTerms:
    """Everything about a quote but its lines: what the email shows around them."""

    number: str = ""
    currency: str = ""
    tax: TaxRule = field(default_factory=TaxRule)
    valid_until: dt.date | None = None
    note: str = ""
    url: str = ""
    company: str = ""
    budget: str = ""


def number(value: Any) -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        found = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None
    return found if found.is_finite() else None


def minor_units(currency: str) -> int:
    """Decimals of the currency (ISO 4217 via Babel's CLDR data); 2 for an unknown or missing code."""
    return get_currency_precision(currency.upper()) if len(currency) == 3 and currency.isalpha() else 2


def rounded(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def price(lines: Iterable[QuoteLine], currency: str, tax: TaxRule) -> Totals:
    listed = list(lines)
    amounts = tuple(None if line.unit_price is None else
                    rounded(line.unit_price * line.quantity * (HUNDRED - line.discount) / HUNDRED, currency)
                    for line in listed)
    if not listed or any(amount is None for amount in amounts):
        return Totals(amounts, None)
    subtotal = sum((amount for amount in amounts if amount is not None), ZERO)
    full = sum((rounded(line.unit_price * line.quantity, currency) for line in listed if line.unit_price is not None),
               ZERO)
    if tax.included:
        tax_amount = rounded(subtotal * tax.rate / (HUNDRED + tax.rate), currency)
        return Totals(amounts, subtotal, full - subtotal, tax_amount, subtotal)
    tax_amount = rounded(subtotal * tax.rate / HUNDRED, currency)
    return Totals(amounts, subtotal, full - subtotal, tax_amount, subtotal + tax_amount)


def _text(amount: Decimal | None) -> str:
    return "" if amount is None else str(amount)


def _percent(value: Decimal) -> str:
    return "" if value == 0 else f"{value.normalize():f}"


def quote_context(lines: list[QuoteLine], terms: QuoteTerms) -> dict[str, Any]:
    """The `quote` templates render (emails/samples.py): items with unit price, discount and amount,
    then subtotal, discount, tax and total, or no total at all while a line is unpriced."""
    totals = price(lines, terms.currency, terms.tax)
    items = [{"title": line.title, "quantity": line.quantity, "price": _text(line.unit_price),
              "discount": _percent(line.discount), "amount": _text(amount)}
             for line, amount in zip(lines, totals.amounts, strict=True)]
    priced = totals.total is not None
    return {
        "number": terms.number, "items": items, "currency": terms.currency,
        "subtotal": _text(totals.subtotal), "discount_total": _text(totals.discount) if totals.discount else "",
        "tax": _text(totals.tax) if priced and terms.tax.rate else "", "tax_label": terms.tax.label,
        "tax_rate": _percent(terms.tax.rate), "tax_included": terms.tax.included, "total": _text(totals.total),
        "budget": "" if priced else terms.budget,
        "valid_until": terms.valid_until.isoformat() if terms.valid_until else "",
        "note": terms.note, "url": terms.url, "company": terms.company,
    }


# ------------------------------------------------------------------ what a quote request asks for


def _first(fields: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    return next((fields[name] for name in names if fields.get(name) not in (None, "", [])), None)


def _line(raw: Mapping[str, Any]) -> QuoteLine:
    quantity = number(_first(raw, QUANTITY_FIELDS))
    unit = number(_first(raw, PRICE_FIELDS))
    return QuoteLine(title=str(_first(raw, ("title", *TITLE_FIELDS)) or "Your request")[:200],
                     quantity=int(quantity) if quantity and quantity >= 1 else 1,
                     unit_price=unit if unit is not None and unit >= 0 else None)


def lines_from_request(fields: Mapping[str, Any]) -> list[QuoteLine]:
    """The lines a request names: its `items` list, else one line from its product and quantity fields."""
    listed = fields.get("items")
    if isinstance(listed, list) and listed and all(isinstance(entry, Mapping) for entry in listed):
        return [_line(entry) for entry in listed]
    title = _first(fields, TITLE_FIELDS)
    if isinstance(title, list):
        title = ", ".join(str(part) for part in title)
    return [_line({**fields, "title": title or "Your request", "items": None})]


def request_fields(properties: Mapping[str, Any]) -> Mapping[str, Any]:
    raw = properties.get("fields")
    return raw if isinstance(raw, Mapping) else {}


def note_from_request(fields: Mapping[str, Any]) -> str:
    note = _first(fields, NOTE_FIELDS)
    return f"You wrote: “{note}”" if note else ""


def quote_from_request(properties: Mapping[str, Any], valid_until: dt.date) -> dict[str, Any]:
    """`quote` for a form.submitted event's properties (form_key, fields) before a rep prices it.
    Never a link from the form: a public form cannot put a button or a redirect in our email."""
    fields = request_fields(properties)
    budget = fields.get("budget")
    terms = QuoteTerms(currency=str(fields.get("currency") or ""), valid_until=valid_until,
                       note=note_from_request(fields), company=str(fields.get("company") or ""),
                       budget="" if budget in (None, "") else str(budget))
    return quote_context(lines_from_request(fields), terms)
