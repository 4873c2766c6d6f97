"""The generic webhook handler: verify, store the raw delivery, enqueue, answer fast."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping

from aiohttp import web

from core.errors import InvalidSignature, PayloadTooLarge
from core.services import RawDelivery, Services
from inbox.models import InboundDelivery
from webhooks.keys import SERVICES
from webhooks.providers import Provider, signature_covers_body, signed_at
from webhooks.providers.common import DELIVERY_HEADER, RECEIVED_HEADER

# Column sizes of inbound_deliveries: a longer value (a sender's header) would fail the INSERT and,
# group-committed, every other delivery of its batch with it (PostgreSQL enforces varchar lengths).
TOPIC_LENGTH, EXTERNAL_ID_LENGTH = 100, 200


async def read_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body is larger than {limit} bytes")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise PayloadTooLarge(f"body is larger than {limit} bytes") from None
    if len(body) > limit:
        raise PayloadTooLarge(f"body is larger than {limit} bytes")
    return body


def bounded_external_id(value: str) -> str:
    """The dedupe key as given when it fits, else a digest of it (retries still map to one row)."""
    if len(value) <= EXTERNAL_ID_LENGTH:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


# Credentials never reach the inbox: a stored delivery is parsed again on replay, never verified again,
# so a signature, secret, key or session in its headers would only be a secret at rest.
CREDENTIAL_MARKERS = ("authorization", "cookie", "secret", "signature", "hmac", "token", "write-key", "api-key",
                      "apikey", "password")


def without_credentials(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if not any(mark in name for mark in CREDENTIAL_MARKERS)}


def lower_headers(request: web.Request) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


def check_fresh(provider: Provider, headers: Mapping[str, str], body: bytes, max_age: float) -> None:
    """A signed timestamp outside the window (either way: clocks differ a little) is a replay."""
    signed = signed_at(provider, headers, body)
    if signed is not None and abs(time.time() - signed) > max_age:
        raise InvalidSignature(
            f"signature timestamp is {abs(time.time() - signed):.0f} s away from now, more than the "
            f"{max_age:.0f} s allowed (NURTURE_WEBHOOK_MAX_AGE): a replayed or delayed delivery")


async def refuse_reused_token(provider: Provider, delivery_id: int, body: bytes) -> None:
    """A duplicate is a retry only when it carries the same body the token first came with."""
    if signature_covers_body(provider):
        return
    stored = await InboundDelivery.get_or_none(id=delivery_id).only("id", "body")
    if stored is None or bytes(stored.body) != body:
        raise InvalidSignature("signature token already used for another delivery: a replay")


async def accept(
    services: Services,
    provider: Provider,
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
) -> web.Response:
    provider.verify(headers, body, secret)
    check_fresh(provider, headers, body, services.settings.webhook_max_age)
    external_id = bounded_external_id(provider.delivery_id(headers, body))
    topic = provider.topic(headers, body)[:TOPIC_LENGTH]
    # Stored with the delivery so that parsing (and any replay) is a pure function of the row.
    # Journey time: the real clock in production, a fast or manual one in demos and tests.
    received = services.clock.now().isoformat()
    stamped = {**without_credentials(headers), DELIVERY_HEADER: external_id, RECEIVED_HEADER: received}
    delivery_id, created = await services.inbox.submit(RawDelivery(provider.NAME, external_id, topic, stamped, body))
    if not created:
        await refuse_reused_token(provider, delivery_id, body)
    services.metrics.deliveries.labels(provider.NAME, "accepted" if created else "duplicate").inc()
    return web.json_response({"ok": True, "delivery": delivery_id, "duplicate": not created})


async def handle(request: web.Request, provider: Provider, secret: str) -> web.Response:
    services = request.app[SERVICES]
    body = await read_body(request, services.settings.max_body_bytes)
    return await accept(services, provider, lower_headers(request), body, secret)
