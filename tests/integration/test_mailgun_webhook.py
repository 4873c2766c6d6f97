"""Mailgun events are verified with NURTURE_MAILGUN_SIGNING_KEY, not the basic-auth email secret."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator

import pytest
from aiohttp.test_utils import TestClient

from core.services import Services
from inbox.models import InboundDelivery
from tests.support import sample

SIGNING_KEY = "key-mailgun-route-test"
PATH = "/webhooks/email/mailgun"


def signed(key: str, token: str = "route-token") -> bytes:
    data = json.loads(sample("real/email/mailgun-failed-permanent.json"))
    timestamp = "1534110422"
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    data["signature"] = {"timestamp": timestamp, "token": token, "signature": signature}
    return json.dumps(data).encode()


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
