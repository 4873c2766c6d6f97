"""The preferences page every marketing email links to: topics switched off skip the journeys of
that topic and not the others; "unsubscribe from all" stops all marketing."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from contacts.models import Consent, Contact
from core.clock import ManualClock
from core.services import Services
from emails.models import Message
from journeys.manual import start_for_contact
from journeys.models import TraceEntry
from journeys.store import import_spec, publish
from journeys.validation import load_spec

Drive = Callable[[], Awaitable[int]]
Outbox = Callable[[], Awaitable[list[Any]]]
EMAIL = "mia.fischer@example.com"

pytestmark = pytest.mark.usefixtures("restore_workspace")


def journey(key: str, topic: str) -> str:
    return f"""
key: {key}
name: {key}
trigger: {{manual: true}}
topic: {topic}
steps:
  - email: test-email
"""


async def setup(services: Services) -> None:
    services.workspace = services.workspace.model_copy(
        update={"topics": {"offers": "Offers and discounts", "product_news": "Product news"}})
    for key, topic in (("weekly-offers", "offers"), ("launch-news", "product_news"), ("more-news", "product_news")):
        await import_spec(load_spec(journey(key, topic)))
        await publish(key)
    await Contact.create(email=EMAIL, first_name="Mia", consent=Consent.SUBSCRIBED)


def preferences_path(mail: Any) -> str:
    html = mail.get_body(preferencelist=("html",)).get_content()
    found = re.search(r'href="https?://[^/"]+(/p/[^"]+)"[^>]*>Email preferences', html)
    assert found, "no preferences link in the email"
    return found.group(1)


async def test_a_topic_switched_off_skips_its_journeys_only(
        client: TestClient, services: Services, clock: ManualClock, drive: Drive, outbox: Outbox) -> None:
    await setup(services)
    await start_for_contact(services, "launch-news", EMAIL)
    await drive()
    path = preferences_path((await outbox())[-1])
    form = await (await client.get(path)).text()
    assert "Offers and discounts" in form and "Product news" in form and form.count(" checked") == 2
    saved = await client.post(path, data={"topic": "product_news"})  # offers unticked
    assert saved.status == 200 and "Saved." in await saved.text()
    contact = await Contact.get(email=EMAIL)
    assert contact.attributes["_topics_off"] == ["offers"] and contact.consent == Consent.SUBSCRIBED
    assert (await (await client.get(path)).text()).count(" checked") == 1

    clock.advance(dt.timedelta(days=2))  # past the frequency cap
    await start_for_contact(services, "weekly-offers", EMAIL)
    await start_for_contact(services, "more-news", EMAIL)
    await drive()
    sent = await Message.filter(contact__email=EMAIL).values_list("context", flat=True)
    assert sorted(str(context["journey"]) for context in sent) == ["launch-news", "more-news"]  # type: ignore[index]
    skipped = await TraceEntry.filter(journey_key="weekly-offers", kind="email").values_list("message", flat=True)
    assert skipped == ["skipped test-email because the contact switched off the 'offers' topic; completed the journey"]


async def test_unsubscribe_from_all_and_bad_links(client: TestClient, services: Services, drive: Drive,
                                                  outbox: Outbox) -> None:
    await setup(services)
    await start_for_contact(services, "launch-news", EMAIL)
    await drive()
    path = preferences_path((await outbox())[-1])
    assert (await client.get(path[:-3] + "xyz")).status in (400, 404)  # a tampered token shows nothing
    done = await client.post(path, data={"unsubscribe_all": "1"})
    assert done.status == 200 and "You're unsubscribed" in await done.text()
    assert (await Contact.get(email=EMAIL)).consent == Consent.UNSUBSCRIBED
