"""A new customer's first order, in their language: a Shopify order's customer_locale decides the
language of the onboarding emails, with the money and dates of that language."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from contacts.models import Contact
from core.clock import ManualClock
from core.services import Services
from emails.i18n import catalog_path, translations
from emails.library import TEMPLATES
from emails.models import Message
from journeys import library
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from tests.support import sample_json, shopify_headers

Drive = Callable[[], Awaitable[int]]
Outbox = Callable[[], Awaitable[list[Any]]]
WELCOME = "Welcome to the {{ brand.name }} family, {{ contact.first_name | fallback('friend') }}"
LAST_LINE = "Questions before it arrives? Reply to this email. It reaches a real person on our customer team."


async def _order(client: TestClient, services: Services, locale: str, currency: str, price: str) -> None:
    order = copy.deepcopy(sample_json("shopify/orders-create.json"))
    order.update(customer_locale=locale, currency=currency, presentment_currency=currency, email="hana@example.com",
                 contact_email="hana@example.com")
    order["customer"] = {**order["customer"], "email": "hana@example.com", "first_name": "Hana", "id": 880001}
    for item in order["line_items"]:
        item["price"] = price
    body = json.dumps(order).encode()
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, "orders/create")
    assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200


def _translated(language: str, message: str) -> str:
    found = str(translations([TEMPLATES], language).gettext(message))
    assert found != message, f"{message!r} has no {language} translation"
    return found


def _parts(sent: Any) -> tuple[str, str]:
    return (str(sent.get_body(("plain",)).get_content()).replace("\r\n", "\n"),
            str(sent.get_body(("html",)).get_content()))


@pytest.mark.parametrize(("locale", "language", "lang", "currency", "price", "shown"), [
    ("ja", "ja", "ja", "JPY", "14080", "￥14,080"),
    ("tr-TR", "tr", "tr", "TRY", "1234.50", "₺1.234,50"),
    ("zh-CN", "zh", "zh-Hans", "CNY", "99.90", "¥99.90"),
])
async def test_the_first_order_s_emails_are_in_the_customer_s_language(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox,
    locale: str, language: str, lang: str, currency: str, price: str, shown: str,
) -> None:
    assert catalog_path(TEMPLATES, language).is_file()
    await library.install("new-customer-onboarding")
    await publish("new-customer-onboarding")
    await _order(client, services, locale, currency, price)
    await drive()
    assert (await Contact.get(email="hana@example.com")).locale == locale
    clock.advance(dt.timedelta(days=1, hours=1))
    await drive()
    (sent,) = await outbox()
    text, html = _parts(sent)
    subject = _translated(language, WELCOME).replace("{{ brand.name }}", "Acme Audio")
    subject = re.sub(r"\{\{ contact\.first_name \| fallback\('[^']*'\) \}\}", "Hana", subject)
    assert str(sent["Subject"]) == subject  # decoded from RFC 2047 by the standard parser
    assert " ".join(_translated(language, LAST_LINE).split()) in " ".join(text.split())
    assert f'<html lang="{lang}"' in html
    assert shown in text  # the amount as the language writes that currency (none of JPY's decimals)
    assert (await Message.get()).locale == language


async def test_an_unknown_locale_gets_english(client: TestClient, services: Services, clock: ManualClock,
                                              drive: Drive, outbox: Outbox) -> None:
    await library.install("new-customer-onboarding")
    await publish("new-customer-onboarding")
    await _order(client, services, "xx-YY", "EUR", "24.00")
    await drive()
    clock.advance(dt.timedelta(days=1, hours=1))
    await drive()
    (sent,) = await outbox()
    text, html = _parts(sent)
    assert str(sent["Subject"]) == "Welcome to the Acme Audio family, Hana" and '<html lang="en"' in html
    assert LAST_LINE in " ".join(text.split()) and "€24.00" in text
    assert (await Message.get()).locale == "en"


async def test_a_journey_for_one_market_speaks_its_language(client: TestClient, services: Services,
                                                           clock: ManualClock, drive: Drive, outbox: Outbox) -> None:
    document = yaml.safe_load((library.TEMPLATES / "new-customer-onboarding.yml").read_text())
    spec = load_spec(yaml.safe_dump({**document, "locale": "tr"}))
    await import_spec(spec)
    await publish(spec.key)
    await _order(client, services, "ja", "EUR", "24.00")  # the journey's language wins over the contact's
    await drive()
    clock.advance(dt.timedelta(days=1, hours=1))
    await drive()
    (sent,) = await outbox()
    assert '<html lang="tr"' in _parts(sent)[1] and "24,00" in _parts(sent)[0]
    assert (await Message.get()).locale == "tr"


async def test_a_browser_s_language_fills_a_form_contact_s_locale(client: TestClient, services: Services,
                                                                  drive: Drive) -> None:
    headers = {"Origin": "https://acme-audio.example", "Content-Type": "application/x-www-form-urlencoded",
               "Accept-Language": "tr-TR,tr;q=0.9,en;q=0.5"}
    body = b"email=ayse%40example.com&first_name=Ay%C5%9Fe&consent=yes"
    assert (await client.post("/webhooks/forms/newsletter", data=body, headers=headers)).status == 200
    await drive()
    assert (await Contact.get(email="ayse@example.com")).locale == "tr-TR"
    explicit = b"email=ayse%40example.com&locale=ja&consent=yes"  # a form's own locale field says it plainly
    assert (await client.post("/webhooks/forms/newsletter", data=explicit, headers=headers)).status == 200
    await drive()
    assert (await Contact.get(email="ayse@example.com")).locale == "ja"
