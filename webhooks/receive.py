"""The generic webhook handler: verify, store the raw delivery, enqueue, answer fast."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from aiohttp import web

from nurture.bootstrap import Services
from nurture.errors import PayloadTooLarge
from nurture.keys import SERVICES
from nurture.queue import enqueue_many
from webhooks.batching import PendingDelivery
from webhooks.providers import Provider
from webhooks.providers.common import DELIVERY_HEADER, RECEIVED_HEADER

PROCESS_JOB = "process_delivery"
# Column sizes of inbound_deliveries: a longer value (a sender's header) would fail the INSERT and,
# group-committed, every other delivery of its batch with it (PostgreSQL enforces varchar lengths).
TOPIC_LENGTH, EXTERNAL_ID_LENGTH = 100, 200
BATCH_JOB = "process_deliveries"


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


async def enqueue_processing(services: Services, delivery_ids: list[int]) -> int:
    """One job per delivery (ids are deterministic: a delivery already queued or running is skipped).

    Through the atomic script rather than arq's enqueue_job: that one answers None, as for a
    duplicate, when its connection dies between WATCH and EXEC, so a job could be dropped
    without a word right after a Redis restart. Here a lost connection raises.
    """
    jobs = [(PROCESS_JOB, {"delivery_id": delivery_id}, f"delivery:{delivery_id}") for delivery_id in delivery_ids]
    return await enqueue_many(services.redis, jobs)


async def enqueue_batches(services: Services, batches: list[list[int]]) -> None:
    """One job per group-committed batch (the rows of one INSERT: no id is in two batches), all
    in one round trip (arq's enqueue_job takes three per job)."""
    jobs = [(BATCH_JOB, {"delivery_ids": ids}, f"deliveries:{ids[0]}:{ids[-1]}") for ids in batches]
    await enqueue_many(services.redis, jobs)


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
    delivery_id, created = await services.inbox.submit(
        PendingDelivery(provider.NAME, external_id, topic, stamped, body)
    )
    services.metrics.deliveries.labels(provider.NAME, "accepted" if created else "duplicate").inc()
    return web.json_response({"ok": True, "delivery": delivery_id, "duplicate": not created})


async def handle(request: web.Request, provider: Provider, secret: str) -> web.Response:
    services = request.app[SERVICES]
    body = await read_body(request, services.settings.max_body_bytes)
    return await accept(services, provider, lower_headers(request), body, secret)
