"""Quotes: a request's lines, the totals a rep's prices make, and the email that shows them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from emails.library import shared_library
from emails.quotes import QuoteLine, QuoteTerms, TaxRule, price, quote_context, quote_from_request, rounded
from emails.render import render
from emails.samples import sample_context

UNTIL = dt.date(2026, 4, 9)


def test_a_single_product_request_becomes_one_unpriced_line_and_keeps_the_budget_apart() -> None:
    fields = {"company": "Rossi Logistica", "product": "Studio monitors", "units": "25", "budget": "12000",
              "currency": "EUR", "message": "Delivery to Milan?"}
    quote = quote_from_request({"form_key": "quote-request", "fields": fields}, UNTIL)
    assert quote["items"] == [{"title": "Studio monitors", "quantity": 25, "price": "", "discount": "", "amount": ""}]
    assert (quote["total"], quote["budget"], quote["currency"], quote["valid_until"]) == ("", "12000", "EUR",
                                                                                          "2026-04-09")
    assert quote["note"] == "You wrote: “Delivery to Milan?”" and quote["company"] == "Rossi Logistica"


def test_priced_items_are_summed() -> None:
    items = [{"title": "Monitor", "quantity": 2, "price": "430.00"}, {"title": "Stand", "qty": "1", "price": "80"}]
    quote = quote_from_request({"fields": {"items": items}}, UNTIL)
    assert [i["quantity"] for i in quote["items"]] == [2, 1] and quote["total"] == "940.00"
    assert [i["amount"] for i in quote["items"]] == ["860.00", "80.00"]


def test_line_discounts_and_tax_on_top() -> None:
    lines = [QuoteLine("Monitor", 25, Decimal("430"), Decimal("5")), QuoteLine("Stand", 25, Decimal("39.99")),
             QuoteLine("Install", 1, Decimal("250"), Decimal("100"))]
    totals = price(lines, "EUR", TaxRule(Decimal("22"), "IVA"))
    assert totals.amounts == (Decimal("10212.50"), Decimal("999.75"), Decimal("0.00"))
    assert totals.subtotal == Decimal("11212.25")
    assert totals.discount == Decimal("537.50") + Decimal("250.00")
    assert totals.tax == Decimal("2466.70")  # 22% of 11,212.25 = 2,466.695, half up
    assert totals.total == Decimal("13678.95")


def test_tax_included_in_the_prices_is_shown_not_added() -> None:
    totals = price([QuoteLine("Mug", 3, Decimal("24.00"))], "GBP", TaxRule(Decimal("20"), "VAT", included=True))
    assert (totals.subtotal, totals.tax, totals.total) == (Decimal("72.00"), Decimal("12.00"), Decimal("72.00"))


def test_amounts_round_to_the_currency() -> None:
    assert price([QuoteLine("Kettle", 3, Decimal("1999.5"))], "JPY", TaxRule(Decimal("10"))).total == Decimal("6599")
    assert rounded(Decimal("1.2345"), "KWD") == Decimal("1.235")
    assert rounded(Decimal("1.005"), "") == Decimal("1.01")


def test_one_unpriced_line_leaves_no_total() -> None:
    totals = price([QuoteLine("A", 1, Decimal(5)), QuoteLine("B", 2)], "USD", TaxRule())
    assert totals.amounts == (Decimal("5"), None) and totals.total is None and totals.subtotal is None


def test_the_email_shows_items_discounts_tax_total_and_validity() -> None:
    lines = [QuoteLine("Studio monitor", 25, Decimal("430"), Decimal("5")), QuoteLine("Stand", 2, Decimal("40"))]
    terms = QuoteTerms(number="Q-00007", currency="EUR", tax=TaxRule(Decimal("22"), "IVA"),
                       valid_until=dt.date(2026, 5, 1), url="https://nurture.example/q/tok")
    text = render(shared_library(), "quote", sample_context() | {"quote": quote_context(lines, terms)}).text
    assert "Studio monitor (−5%) | 25 | €430.00 | €10,212.50" in text
    assert "Subtotal | €10,292.50" in text and "IVA 22% | €2,264.35" in text
    assert "Your discounts save you €537.50." in text
    assert "Total | €12,556.85" in text and "held for you until 1 May 2026" in text and "Q-00007" in text
    assert "Accept this quote (https://nurture.example/q/tok)" in text


def test_a_bare_request_still_renders_an_honest_quote() -> None:
    quote = quote_from_request({"form_key": "quote"}, UNTIL)
    assert quote["items"][0]["title"] == "Your request" and quote["total"] == ""
    text = render(shared_library(), "quote", sample_context() | {"quote": quote}).text
    assert "Your request | 1 |" in text and "Total |" not in text  # no made-up total


def test_an_edited_body_replaces_the_copy_and_keeps_the_quote() -> None:
    context = sample_context() | {"custom": {"body": ["Hi Léa,", "", "Our best price, as promised."]}}
    text = render(shared_library(), "quote", context).text
    assert "Our best price, as promised." in text and "Thank you for your interest" not in text
    assert "Stoneware Mug, Sage (case of 48) | 4 |" in text and "Sam Patel" in text


def test_copy_only_is_the_editable_text_alone() -> None:
    text = render(shared_library(), "quote", sample_context() | {"custom": {"copy_only": True}}).text.strip()
    assert text.startswith("Hi Léa,") and text.endswith("you'll find my direct line below.")


def test_no_direct_line_is_promised_without_a_phone() -> None:
    context = sample_context() | {"custom": {"copy_only": True}}
    context["owner"] = {**context["owner"], "phone": ""}
    text = render(shared_library(), "quote", context).text.strip()
    assert text.endswith("go through it.") and "direct line" not in text
