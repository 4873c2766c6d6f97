"""Mailgun events are verified with NURTURE_MAILGUN_SIGNING_KEY, not the basic-auth email secret."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
from aiohttp.test_utils import TestClient

from core.services import Services
from inbox.models import InboundDelivery
from tests.support import mailgun_signed, sample

SIGNING_KEY = "key-mailgun-route-test"
PATH = "/webhooks/email/mailgun"


def signed(key: str, token: str | None = None, timestamp: float | None = None, **event: object) -> bytes:
    data = json.loads(sample("real/email/mailgun-failed-permanent.json"))
    data["event-data"].update(event)
    return mailgun_signed(json.dumps(data).encode(), key, token, timestamp)


@pytest.fixture
def set_signing_key(services: Services) -> Iterator[Callable[[str], None]]:
    """Runs the app with a given NURTURE_MAILGUN_SIGNING_KEY, whatever the harness configured."""
    original = services.settings

    def use(key: str) -> None:
        services.settings = original.with_overrides(mailgun_signing_key=key)

    yield use
    services.settings = original


async def test_unset_signing_key_refuses_with_a_clear_message(
    client: TestClient, services: Services, set_signing_key: Callable[[str], None]
) -> None:
    set_signing_key("")
    # Signed with the basic-auth secret, as the old wiring expected: no longer accepted.
    response = await client.post(PATH, data=signed(services.settings.email_webhook_secret),
                                 headers={"Content-Type": "application/json"})
    assert response.status == 401
    assert "NURTURE_MAILGUN_SIGNING_KEY" in await response.text()
    assert await InboundDelivery.all().count() == 0


async def test_signed_with_the_signing_key_is_stored(
    client: TestClient, services: Services, set_signing_key: Callable[[str], None]
) -> None:
    set_signing_key(SIGNING_KEY)
    headers = {"Content-Type": "application/json"}
    assert (await client.post(PATH, data=signed(services.settings.email_webhook_secret), headers=headers)).status == 401
    response = await client.post(PATH, data=signed(SIGNING_KEY), headers=headers)
    assert response.status == 200, await response.text()
    assert await InboundDelivery.all().count() == 1


async def test_a_token_is_good_for_one_delivery(
    client: TestClient, services: Services, set_signing_key: Callable[[str], None]
) -> None:
    # Mailgun signs timestamp + token, not the body: a seen token with another body is a forgery.
    set_signing_key(SIGNING_KEY)
    headers = {"Content-Type": "application/json"}
    first = signed(SIGNING_KEY, token="one-use-token")
    assert (await client.post(PATH, data=first, headers=headers)).status == 200
    retry = await client.post(PATH, data=first, headers=headers)  # Mailgun's own retry: same body
    assert retry.status == 200 and (await retry.json())["duplicate"] is True
    forged = json.loads(first)
    forged["event-data"]["recipient"] = "victim@example.com"
    response = await client.post(PATH, data=json.dumps(forged).encode(), headers=headers)
    assert response.status == 401
    assert "already used" in await response.text()
    (stored,) = await InboundDelivery.all()
    assert b"victim@example.com" not in bytes(stored.body)


async def test_stale_signatures_are_refused_within_a_configurable_window(
    client: TestClient, services: Services, set_signing_key: Callable[[str], None]
) -> None:
    set_signing_key(SIGNING_KEY)
    headers = {"Content-Type": "application/json"}
    twenty_minutes_ago = time.time() - 20 * 60
    for stamp in (twenty_minutes_ago, time.time() + 20 * 60):
        response = await client.post(PATH, data=signed(SIGNING_KEY, timestamp=stamp), headers=headers)
        assert response.status == 401
        assert "NURTURE_WEBHOOK_MAX_AGE" in await response.text()
    assert await InboundDelivery.all().count() == 0
    services.settings = services.settings.with_overrides(webhook_max_age=3600.0)
    response = await client.post(PATH, data=signed(SIGNING_KEY, timestamp=twenty_minutes_ago), headers=headers)
    assert response.status == 200
    assert await InboundDelivery.all().count() == 1
