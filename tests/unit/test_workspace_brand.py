"""Brand pages the emails link to default from brand.url; a store's own settings win."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.workspace import Workspace


def test_brand_pages_default_from_the_brand_url() -> None:
    brand = Workspace.model_validate({"brand": {"name": "Acme", "url": "https://acme.example/"}}).brand
    assert brand["review_url"] == "https://acme.example/pages/reviews"
    assert brand["feedback_url"] == "https://acme.example/pages/feedback"
    assert brand["call_url"] == "https://acme.example/pages/book-a-call"
    assert brand["quote_url"] == "https://acme.example/pages/quote"


def test_configured_pages_win_and_no_url_means_no_guess() -> None:
    brand = Workspace.model_validate({"brand": {"url": "https://acme.example", "call_url": "https://cal.example/x"}})
    assert brand.brand["call_url"] == "https://cal.example/x"
    assert "review_url" not in Workspace.model_validate({"brand": {"name": "Acme"}}).brand


def test_languages_say_what_is_not_there() -> None:
    assert Workspace.model_validate({"languages": {"default": "ja"}}).languages.default == "ja"
    with pytest.raises(ValidationError, match="Slack messages are written in English only"):
        Workspace.model_validate({"languages": {"slack": "ja"}})
    with pytest.raises(ValidationError, match="not a language tag"):
        Workspace.model_validate({"languages": {"default": "Japanese please"}})


def test_quote_defaults_are_checked() -> None:
    quotes = Workspace.model_validate({"quotes": {"currency": "jpy", "tax_rate": 10, "valid_for": "14d"}}).quotes
    assert (quotes.currency, quotes.valid_for.days) == ("JPY", 14)
    with pytest.raises(ValidationError, match="not a currency code"):
        Workspace.model_validate({"quotes": {"currency": "Yen"}})
