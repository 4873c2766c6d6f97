"""The generic webhook handler: verify, store the raw delivery, enqueue, answer fast."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from aiohttp import web

from core.errors import PayloadTooLarge
from core.services import RawDelivery, Services
from webhooks.keys import SERVICES
from webhooks.providers import Provider
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


def lower_headers(request: web.Request) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


async def accept(
    services: Services,
    provider: Provider,
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
) -> web.Response:
    provider.verify(headers, body, secret)
    external_id = bounded_external_id(provider.delivery_id(headers, body))
    topic = provider.topic(headers, body)[:TOPIC_LENGTH]
    # Stored with the delivery so that parsing (and any replay) is a pure function of the row.
    # Journey time: the real clock in production, a fast or manual one in demos and tests.
    stamped = {**headers, DELIVERY_HEADER: external_id, RECEIVED_HEADER: services.clock.now().isoformat()}
    delivery_id, created = await services.inbox.submit(RawDelivery(provider.NAME, external_id, topic, stamped, body))
    services.metrics.deliveries.labels(provider.NAME, "accepted" if created else "duplicate").inc()
    return web.json_response({"ok": True, "delivery": delivery_id, "duplicate": not created})


async def handle(request: web.Request, provider: Provider, secret: str) -> web.Response:
    services = request.app[SERVICES]
    body = await read_body(request, services.settings.max_body_bytes)
    return await accept(services, provider, lower_headers(request), body, secret)
