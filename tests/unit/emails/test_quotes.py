"""The quote an approval email shows, derived from the quote request's form fields."""

from __future__ import annotations

import datetime as dt

from emails.library import shared_library
from emails.quotes import quote_from_request
from emails.render import render
from emails.samples import sample_context

AT = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def test_a_single_product_request_becomes_one_line_with_the_budget_as_total() -> None:
    fields = {"company": "Rossi Logistica", "product": "Studio monitors", "units": "25", "budget": "12000",
              "currency": "EUR", "message": "Delivery to Milan?"}
    quote = quote_from_request({"form_key": "quote-request", "fields": fields}, AT)
    assert quote["items"] == [{"title": "Studio monitors", "quantity": 25, "price": ""}]
    assert (quote["total"], quote["currency"], quote["valid_until"]) == ("12000", "EUR", "2026-04-09")
    assert quote["note"] == "You wrote: “Delivery to Milan?”" and quote["company"] == "Rossi Logistica"


def test_priced_items_are_summed() -> None:
    items = [{"title": "Monitor", "quantity": 2, "price": "430.00"}, {"title": "Stand", "qty": "1", "price": "80"}]
    quote = quote_from_request({"fields": {"items": items}}, AT)
    assert [i["quantity"] for i in quote["items"]] == [2, 1] and quote["total"] == "940.00"


def test_a_bare_request_still_renders_an_honest_quote() -> None:
    quote = quote_from_request({"form_key": "quote"}, AT)
    assert quote["items"] == [{"title": "Your request", "quantity": 1, "price": ""}] and quote["total"] == ""
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
