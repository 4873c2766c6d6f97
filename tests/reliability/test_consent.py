"""Consent means consent: the workspace's policy (opt_in by default), a sticky opt-out that only a
double opt-in lifts, and Shopify subscriptions that journeys start on. Through the real endpoints."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from contacts.models import Consent, Contact, Event, Suppression
from core.clock import ManualClock
from core.services import Services
from core.workspace import ConsentConfig
from emails.i18n import translations
from emails.library import TEMPLATES
from emails.models import Message, MessageStatus
from emails.samples import sample_context
from journeys.delivery import deliver, queue_email
from journeys.library import install
from journeys.store import publish
from pipeline.consent import confirm_url
from tests.support import sample_json, shopify_headers

Drive = Callable[[], Awaitable[int]]
Outbox = Callable[[], Awaitable[list[Any]]]
ORIGIN = {"Origin": "https://acme-audio.example", "Content-Type": "application/x-www-form-urlencoded"}
RAVI = "ravi.kumar@example.com"


@pytest.fixture
def opt_out(services: Services) -> Iterator[None]:
    original = services.workspace
    services.workspace = original.model_copy(update={"consent": ConsentConfig(policy="opt_out")})
    yield
    services.workspace = original


async def _send(services: Services, contact: Contact, key: str, *, marketing: bool = True) -> MessageStatus:
    message = await queue_email(services, send_key=key, contact=contact, template="cart-reminder",
                                context=sample_context(), marketing=marketing)
    return (await deliver(services, message.id)).status


async def test_opt_in_by_default_marketing_only_to_subscribers(services: Services) -> None:
    unknown = await Contact.create(email="unknown@example.com")
    pending = await Contact.create(email="pending@example.com", consent=Consent.PENDING)
    subscribed = await Contact.create(email="sub@example.com", consent=Consent.SUBSCRIBED)
    assert services.workspace.consent.policy == "opt_in"
    assert await _send(services, unknown, "m1") == MessageStatus.SKIPPED
    assert "not opted in" in (await Message.get(send_key="m1")).error
    assert await _send(services, pending, "m2") == MessageStatus.SKIPPED
    assert await _send(services, subscribed, "m3") == MessageStatus.SENT
    assert await _send(services, unknown, "t1", marketing=False) == MessageStatus.SENT  # transactional


async def test_opt_out_is_the_stores_explicit_choice(services: Services, opt_out: None) -> None:
    unknown = await Contact.create(email="unknown@example.com")
    gone = await Contact.create(email="gone@example.com", consent=Consent.UNSUBSCRIBED)
    pending = await Contact.create(email="pending@example.com", consent=Consent.PENDING)
    assert await _send(services, unknown, "m1") == MessageStatus.SENT
    assert await _send(services, gone, "m2") == MessageStatus.SKIPPED
    assert await _send(services, pending, "m3") == MessageStatus.SKIPPED


async def _newsletter(client: TestClient) -> None:
    body = f"email={RAVI}&first_name=Ravi&consent=yes&website=".encode()
    assert (await client.post("/webhooks/forms/newsletter", data=body, headers=ORIGIN)).status == 200


async def test_an_opt_out_is_sticky_until_a_double_opt_in(
    client: TestClient, services: Services, drive: Drive, outbox: Outbox
) -> None:
    ravi = await Contact.create(email=RAVI, first_name="Ravi", consent=Consent.SUBSCRIBED)
    assert await _send(services, ravi, "first") == MessageStatus.SENT
    (mail,) = await outbox()
    unsubscribe = mail["List-Unsubscribe"][1:-1].removeprefix(services.settings.public_url)
    assert (await client.post(unsubscribe, data="List-Unsubscribe=One-Click")).status == 200
    await drive()
    assert (await Contact.get(id=ravi.id)).consent == Consent.UNSUBSCRIBED
    # A later form post (anyone can type an address) does not re-subscribe: it asks the address.
    await _newsletter(client)
    await drive()
    ravi = await Contact.get(id=ravi.id)
    assert ravi.consent == Consent.PENDING
    assert await _send(services, ravi, "while-pending") == MessageStatus.SKIPPED
    confirmations = [m for m in await outbox() if "Confirm you'd like emails" in str(m["Subject"])]
    assert len(confirmations) == 1
    text = confirmations[0].get_body(("plain",)).get_content()
    link = re.search(r"Yes, subscribe me again \((\S+)\)", text)
    assert link is not None
    # The link is tracked (/c/...): follow it to our own confirmation page, which only a POST acts on.
    landing = await client.get(link.group(1).removeprefix(services.settings.public_url), allow_redirects=False)
    confirm_path = landing.headers["Location"].removeprefix(services.settings.public_url)
    assert confirm_path.startswith("/confirm/")
    assert "Yes, subscribe me" in await (await client.get(confirm_path)).text()
    assert (await Contact.get(id=ravi.id)).consent == Consent.PENDING  # GET changed nothing
    assert (await client.post(confirm_path)).status == 200
    await drive()
    ravi = await Contact.get(id=ravi.id)
    assert ravi.consent == Consent.SUBSCRIBED and not await Suppression.exists(reason="unsubscribe")
    assert await Event.exists(contact=ravi, type="consent.confirmed")
    assert await _send(services, ravi, "after-confirming") == MessageStatus.SENT
    tampered = confirm_path[:-3] + ("AAA" if not confirm_path.endswith("AAA") else "BBB")
    assert (await client.post(tampered)).status in (400, 404)


async def _shopify(client: TestClient, services: Services, topic: str, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, topic)
    assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200


def _consent_update(state: str, at: str) -> dict[str, Any]:
    customer = sample_json("shopify/customers-create.json")
    return {"customer_id": customer["id"], "email_address": customer["email"],
            "email_marketing_consent": {"state": state, "opt_in_level": "single_opt_in", "consent_updated_at": at}}


async def test_a_shopify_subscription_starts_the_welcome_series_and_an_unsubscribe_sticks(
    client: TestClient, services: Services, drive: Drive, outbox: Outbox, clock: ManualClock
) -> None:
    clock.set(dt.datetime(2026, 3, 5, 10, 0, tzinfo=dt.UTC))  # outside the welcome's quiet hours
    await install("welcome-series")
    await publish("welcome-series")
    customer = sample_json("shopify/customers-create.json")
    await _shopify(client, services, "customers/create", customer)
    await drive()
    assert await outbox() == []  # consent unknown: no marketing under opt_in
    await _shopify(client, services, "customers_email_marketing_consent/update",
                   _consent_update("subscribed", "2026-03-01T10:00:00Z"))
    await drive()
    contact = await Contact.get(email=customer["email"])
    assert await Event.exists(contact=contact, type="consent.subscribed")
    welcome = [m for m in await outbox() if str(m["Subject"]).startswith("Welcome to")]
    assert len(welcome) == 1
    await _shopify(client, services, "customers_email_marketing_consent/update",
                   _consent_update("unsubscribed", "2026-03-02T10:00:00Z"))
    # Applied before the next one arrives, as a day apart in Shopify: two deliveries in flight at once
    # are applied in either order (ordering per contact is issue 19's batch apply).
    await drive()
    await _shopify(client, services, "customers_email_marketing_consent/update",
                   _consent_update("subscribed", "2026-03-03T10:00:00Z"))
    await drive()
    contact = await Contact.get(id=contact.id)
    assert contact.consent == Consent.PENDING  # from Shopify too, coming back needs the confirmation
    assert [m for m in await outbox() if "Confirm you'd like emails" in str(m["Subject"])]


async def test_the_confirmation_pages_speak_the_contact_s_language(client: TestClient, services: Services,
                                                                   drive: Drive) -> None:
    ayse = await Contact.create(email="ayse@example.com", first_name="Ayşe", consent=Consent.PENDING, locale="tr-TR")
    path = confirm_url(services, ayse).removeprefix(services.settings.public_url)
    turkish = translations([TEMPLATES], "tr")
    shown = await (await client.get(path)).text()
    assert "<html lang='tr'>" in shown and str(turkish.gettext("Yes, subscribe me")) in shown
    done = await (await client.post(path)).text()
    assert str(turkish.gettext("You're subscribed")) in done and "ayse@example.com" in done
