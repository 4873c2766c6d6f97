"""Faults delay work, never drop or double it: a killed worker, a flushed Redis."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestClient
from arq.constants import default_queue_name

from contacts.models import Contact
from core.clock import ManualClock
from core.services import Services
from emails.models import Message, MessageStatus, OutboxMessage
from inbox.models import DeliveryStatus, InboundDelivery
from jobs.scheduler import LEASE, dispatch_due
from journeys.manual import start_for_segment
from journeys.models import Enrollment, EnrollmentState, StepRun
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from tests.support import sample, shopify_headers
from webhooks.jobs import requeue_pending

Drive = Callable[[], Awaitable[int]]
CRASH_JOURNEY = """
key: crash-test
name: Crash test
trigger: {manual: true}
steps:
  - update: {score: 1}
  - email: test-email
    transactional: true
  - update: {add_tags: [done]}
"""


async def _make_contacts(count: int) -> None:
    await Contact.bulk_create([Contact(email=f"crash{i}@example.com", first_name=f"C{i}") for i in range(count)])


def _worker_env(services: Services, var_dir: Path) -> dict[str, str]:
    settings = services.settings
    socket = services.redis_endpoint.settings.unix_socket_path
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env.update(
        NURTURE_DATABASE_URL=settings.database_url, NURTURE_SECRET_KEY=settings.secret_key,
        NURTURE_REDIS_URL=f"unix://{socket}" if socket else settings.redis_url,
        NURTURE_VAR_DIR=str(var_dir), NURTURE_JOB_TIMEOUT="3", NURTURE_SMTP_URL="embedded",
    )
    return env


def _start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = open(Path(env["NURTURE_VAR_DIR"]).parent / "worker.log", "ab")  # noqa: SIM115 - lives with the process
    return subprocess.Popen([sys.executable, "-m", "nurture", "worker"], env=env, stdout=log, stderr=log)


async def _wait_for(condition: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            states = await Enrollment.all().values_list("state", flat=True)
            messages = await Message.all().values_list("status", flat=True)
            raise AssertionError(f"timed out waiting for {what}: enrollments {sorted(Counter(states).items())}, "
                                 f"messages {sorted(Counter(messages).items())}")
        await asyncio.sleep(0.2)


async def test_sigkilled_worker_loses_and_doubles_nothing(services: Services, tmp_path: Path) -> None:
    total = 1000
    await _make_contacts(total)
    await import_spec(load_spec(CRASH_JOURNEY))
    await publish("crash-test")
    assert await start_for_segment(services, "crash-test", "contact.email") == total
    env = _worker_env(services, tmp_path / "worker-var")
    worker = _start_worker(env)
    try:
        await _wait_for(lambda: _outbox_at_least(total // 4), 120, "a quarter of the emails")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        assert await OutboxMessage.all().count() < total, "the kill came too late to test anything"
        worker = _start_worker(env)
        await _wait_for(lambda: _all_completed(total), 180, "every enrollment to complete")
    finally:
        worker.kill()
        worker.wait(timeout=10)
    assert await OutboxMessage.all().count() == total
    recipients = [r[0] for r in await OutboxMessage.all().values_list("recipients")]
    assert len({tuple(r) for r in recipients}) == total
    assert await Message.filter(status=MessageStatus.SENT).count() == total
    assert await StepRun.all().count() == total * 3  # three steps, once each (the last one completes)
    assert await Contact.filter(lead_score=1).count() == total


async def _outbox_at_least(count: int) -> bool:
    return await OutboxMessage.all().count() >= count


async def _all_completed(total: int) -> bool:
    completed = await Enrollment.filter(state=EnrollmentState.COMPLETED).count()
    sent = await Message.filter(status=MessageStatus.SENT).count()
    return completed == total and sent == total


async def test_redis_flush_loses_no_timer(services: Services, clock: ManualClock, drive: Drive) -> None:
    await _make_contacts(50)
    await import_spec(load_spec(CRASH_JOURNEY.replace("  - update: {score: 1}", "  - wait: 1h")))
    await publish("crash-test")
    await start_for_segment(services, "crash-test", "contact.email")
    await drive()
    assert await Enrollment.filter(state=EnrollmentState.WAITING).count() == 50
    clock.advance(dt.timedelta(hours=1))
    assert await dispatch_due(services) == 50
    await services.redis.flushall()  # every dispatched job is gone
    await drive()
    assert await Message.all().count() == 0
    clock.advance(LEASE + dt.timedelta(seconds=1))  # the claims' lease runs out: claimed again
    await drive()
    assert await Message.filter(status=MessageStatus.SENT).count() == 50
    assert await Enrollment.filter(state=EnrollmentState.COMPLETED).count() == 50
    assert await OutboxMessage.all().count() == 50


async def test_redis_flush_loses_no_delivery(
    client: TestClient, services: Services, run_worker: Callable[[], Awaitable[int]]
) -> None:
    body = sample("shopify/orders-create.json")
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, "orders/create")
    assert (await client.post("/webhooks/shopify", data=body, headers=headers)).status == 200
    await services.redis.flushall()
    await run_worker()
    assert (await InboundDelivery.get()).status == DeliveryStatus.PENDING
    assert await requeue_pending(services, dt.timedelta(0)) == 1
    assert await requeue_pending(services, dt.timedelta(0)) == 1  # the next sweep finds it again...
    queued = await services.redis.zrange(default_queue_name, 0, -1)
    assert queued == [f"delivery:{(await InboundDelivery.get()).id}".encode()]  # ...but queues no twin
    await run_worker()
    assert (await InboundDelivery.get()).status == DeliveryStatus.PROCESSED
    assert (await Contact.get(email="hana.sato@example.com")).orders_count == 1
