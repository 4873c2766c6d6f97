"""A realistic rendering context for previews (`nurture emails preview`) and tests.

Context conventions every template relies on:
  contact   first_name, last_name, email, attributes
  brand     name, logo_url, address, url
  cart / order   line_items (title, price, quantity, image_url, url, variant), total_price,
                 currency, recovery_url (cart) / url (order)
  coupon    code, expires, description
  quote     number, items (title, quantity, price: unit price, discount: percent, amount), subtotal,
            discount_total, tax, tax_label, tax_rate, tax_included, total (empty while unpriced),
            budget, currency, valid_until, note, url (the signed accept page); emails/quotes.py
  owner     name, title, email, phone (the contact's account rep)
  unsubscribe_url, preferences_url
  review_url, feedback_url, call_url, quote_url   the brand's pages (workspace brand section)
  invoice_url   the shop's invoice of an accepted quote's draft order (quote-invoice)
  custom    intro (a marketer block above the body), body (a rep's edited lines, replacing the
            template's copy), copy_only (render just the editable copy)
Missing values render empty; templates supply fallbacks where copy needs one.
"""

from __future__ import annotations

from typing import Any

_SHOP = "https://shop.example.com"


def _line_items() -> list[dict[str, Any]]:
    return [
        {"title": "Stoneware Mug, Sage", "variant": "350 ml", "price": "24.00", "quantity": 2,
         "image_url": f"{_SHOP}/img/mug-sage.jpg", "url": f"{_SHOP}/products/stoneware-mug?variant=sage"},
        {"title": "Linen Tea Towels (set of 3)", "variant": "Natural", "price": "32.00", "quantity": 1,
         "image_url": f"{_SHOP}/img/linen-towels.jpg", "url": f"{_SHOP}/products/linen-tea-towels"},
        {"title": "Cold Brew Coffee Maker", "variant": "1 L", "price": "45.50", "quantity": 1,
         "image_url": f"{_SHOP}/img/cold-brew.jpg", "url": f"{_SHOP}/products/cold-brew-maker"},
    ]


def sample_context() -> dict[str, Any]:
    """A fresh dict each call, so a test may mutate it freely."""
    items = _line_items()
    return {
        "contact": {"first_name": "Léa", "last_name": "Moreau", "email": "lea.moreau@example.org",
                    "attributes": {"industry": "hospitality", "city": "Lyon"}},
        "brand": {"name": "Fernhill Goods", "logo_url": f"{_SHOP}/img/logo.png",
                  "address": "12 Mill Lane, Bristol BS1 4QA, United Kingdom", "url": _SHOP},
        "cart": {"line_items": items, "total_price": "125.50", "currency": "EUR",
                 "recovery_url": f"{_SHOP}/cart/recover/c7f3a9"},
        "order": {"name": "#1042", "line_items": items[:2], "total_price": "80.00", "currency": "EUR",
                  "url": f"{_SHOP}/account/orders/1042"},
        "coupon": {"code": "THANKS15", "expires": "2026-03-31", "description": "15% off your next order"},
        "quote": {
            "number": "Q-02291",
            "items": [
                {"title": "Stoneware Mug, Sage (case of 48)", "quantity": 4, "price": "201.60", "discount": "",
                 "amount": "806.40"},
                {"title": "Custom logo glaze, per mug", "quantity": 192, "price": "1.40", "discount": "",
                 "amount": "268.80"},
            ],
            "subtotal": "1075.20", "discount_total": "", "tax": "215.04", "tax_label": "VAT", "tax_rate": "20",
            "tax_included": False, "total": "1290.24", "budget": "", "currency": "EUR", "valid_until": "2026-02-28",
            "note": "Includes a 12% trade discount and free delivery to your Lyon address.",
            "url": f"{_SHOP}/quotes/Q-2291",
        },
        "owner": {"name": "Sam Patel", "title": "Trade Accounts Manager", "email": "sam@shop.example.com",
                  "phone": "+44 117 496 0123"},
        "unsubscribe_url": "https://mail.example.com/u/tok123",
        "preferences_url": "https://mail.example.com/p/tok123",
        "review_url": f"{_SHOP}/reviews/new",
        "feedback_url": f"{_SHOP}/feedback/1042",
        "call_url": f"{_SHOP}/book-a-call",
        "quote_url": f"{_SHOP}/pages/quote",
        "invoice_url": "https://shop.example.com/12345/invoices/8f2c1e",
        "confirm_url": "https://nurture.example/confirm/sample-token",
        "custom": {},
    }
