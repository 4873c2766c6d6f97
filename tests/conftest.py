"""Test harness: one embedded or PostgreSQL/Redis backend per run, chosen by NURTURE_* variables."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import pytest
import redis.asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from tortoise import Tortoise
from tortoise.connection import get_connection

from core.clock import ManualClock, RealClock
from core.services import Services
from core.settings import Settings
from journeys.runner import clear_caches
from nurture.bootstrap import open_services
from nurture.migrate import apply_migrations
from nurture.scratch_db import create_database, drop_database
from nurture.settings import load_settings
from nurture.web import build_app
from nurture.worker import drain, run_burst
from tests.doubles.shopify_admin import ShopifyAdminDouble
from tests.doubles.slack_api import SlackApiDouble
from tests.support import IDENTITY_SECRET, QueryLog

SECRETS = {
    "NURTURE_SECRET_KEY": "test-secret-key-0123456789-abcdefghijklmnop",
    "NURTURE_SHOPIFY_WEBHOOK_SECRET": "shpss_test_secret",
    "NURTURE_TYPEFORM_SECRET": "typeform-test-secret",
    "NURTURE_SURVEY_SECRET": "survey-test-secret",
    "NURTURE_EMAIL_WEBHOOK_SECRET": "postmark:hook-pass",
    "NURTURE_MAILGUN_SIGNING_KEY": "mailgun-signing-test-key",
    "NURTURE_TRACKING_WRITE_KEY": "wk_test_public",
    "NURTURE_TRACKING_IDENTITY_SECRET": IDENTITY_SECRET,
    "NURTURE_SLACK_BOT_TOKEN": "xoxb-test-token",
    "NURTURE_SLACK_SIGNING_SECRET": "slack-signing-test-secret",
}

WORKSPACE_YAML = """
brand: {name: Acme Audio, url: "https://acme-audio.example"}
forms:
  newsletter:
    allowed_origins: ["https://acme-audio.example"]
    tags: [newsletter]
  contact-sales:
    secret: form-secret-contact-sales
    tags: [sales-inquiry]
  quote-request:
    secret: form-secret-quote-request
slack:
  admins: [UADMIN]
  sales_channel: C0SALES
  sales_reps: [UREP1, UREP2]
"""


@pytest.fixture(scope="session")
async def slack_double() -> AsyncIterator[tuple[SlackApiDouble, str]]:
    double = SlackApiDouble()
    server = TestServer(double.app())
    await server.start_server()
    yield double, str(server.make_url("/api/"))
    await server.close()


@pytest.fixture(scope="session")
async def shopify_double() -> AsyncIterator[tuple[ShopifyAdminDouble, str]]:
    double = ShopifyAdminDouble()
    server = TestServer(double.app())
    await server.start_server()
    double.base_url = str(server.make_url("/"))
    yield double, double.base_url
    await server.close()


@pytest.fixture(scope="session")
async def settings(
    tmp_path_factory: pytest.TempPathFactory, slack_double: tuple[SlackApiDouble, str],
    shopify_double: tuple[ShopifyAdminDouble, str],
) -> AsyncIterator[Settings]:
    var_dir: Path = tmp_path_factory.mktemp("var")
    config_file = var_dir / "nurture.yml"
    config_file.write_text(WORKSPACE_YAML)
    base = load_settings(dotenv_path=None, overrides={**SECRETS, "NURTURE_VAR_DIR": str(var_dir)})
    overrides = {
        **SECRETS, "NURTURE_VAR_DIR": str(var_dir), "NURTURE_SLACK_API_URL": slack_double[1],
        "NURTURE_CONFIG_FILE": str(config_file), "NURTURE_SHOPIFY_SHOP": "acme-audio.myshopify.com",
        "NURTURE_SHOPIFY_ADMIN_TOKEN": shopify_double[0].token, "NURTURE_SHOPIFY_ADMIN_URL": shopify_double[1],
    }
    created: str | None = None
    if base.is_postgres:
        url, created = await create_database(base.database_url, "nurture_t")
        overrides["NURTURE_DATABASE_URL"] = url
    claimed: RedisClaim | None = None
    if base.redis_url.startswith("redis"):
        # A Redis database of this run's own: runs sharing a server must not flush each other's queues.
        claimed = await RedisClaim.take(base.redis_url)
        overrides["NURTURE_REDIS_URL"] = claimed.url
    config = load_settings(dotenv_path=None, overrides=overrides)
    await apply_migrations(config)
    yield config
    if claimed is not None:
        await claimed.release()
    if created:
        await drop_database(base.database_url, created)


class RedisClaim:
    """One of databases 1-15 of a shared Redis server, claimed with SET NX (not picked at random:
    two runs would share one about once in fifteen). The claim is a key, renewed after every flush."""

    KEY = "nurture:test-run"
    current: RedisClaim | None = None  # this run's, renewed by clean_state after each flush

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    @classmethod
    async def take(cls, server_url: str) -> RedisClaim:
        token = uuid.uuid4().hex
        parsed = urlparse(server_url)
        for database in range(1, 16):
            claim = cls(urlunparse(parsed._replace(path=f"/{database}")), token)
            if await claim.renew(only_if_free=True):
                cls.current = claim
                return claim
        raise RuntimeError("every Redis database 1-15 is claimed by another test run: try again when one ends")

    async def renew(self, only_if_free: bool = False) -> bool:
        client = redis.asyncio.Redis.from_url(self.url)
        try:
            return bool(await client.set(self.KEY, self.token, nx=only_if_free, ex=6 * 3600))
        finally:
            await client.aclose()

    async def release(self) -> None:
        client = redis.asyncio.Redis.from_url(self.url)
        try:
            if (await client.get(self.KEY) or b"").decode() == self.token:
                await client.delete(self.KEY)
        finally:
            await client.aclose()


@pytest.fixture(scope="session")
async def services(settings: Settings) -> AsyncIterator[Services]:
    async with open_services(settings) as built:
        await built.redis.flushdb()
        yield built


TABLES = [
    "attributions", "pending_jobs", "step_runs", "tasks", "coupons", "coupon_pools", "messages", "outbox",
    "trace_entries", "enrollments", "journey_versions", "journeys", "events", "orders", "checkouts",
    "product_interests", "suppressions", "inbound_deliveries", "contacts",
]


def _all_tables() -> list[str]:
    """TABLES (children before parents, for SQLite), then any table a new model added."""
    models = [model for app in Tortoise.apps.values() for model in app.values()]
    return TABLES + sorted({m._meta.db_table for m in models} - set(TABLES))


# What tests write under the var dir: each test starts with these empty, so none reads another's leftovers.
WRITTEN_DIRS = ("outbox", "exports", "previews", "emails")


def _remove_files_of_earlier_tests(var_dir: Path) -> None:
    for name in WRITTEN_DIRS:
        directory = var_dir / name
        for entry in directory.iterdir() if directory.is_dir() else ():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


@pytest.fixture(autouse=True)
async def clean_state(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Every test that touches the backend starts from empty tables and an empty queue."""
    if "services" not in request.fixturenames:
        yield
        return
    services: Services = request.getfixturevalue("services")
    connection = get_connection("default")
    if services.settings.is_postgres:
        await connection.execute_script(f"TRUNCATE {', '.join(_all_tables())} RESTART IDENTITY CASCADE")
    else:
        await connection.execute_script("".join(f"DELETE FROM {t};" for t in _all_tables()))
    await services.redis.flushdb()
    if RedisClaim.current is not None:  # the flush took this run's claim too
        await services.redis.set(RedisClaim.KEY, RedisClaim.current.token, ex=6 * 3600)
    _remove_files_of_earlier_tests(services.settings.var_dir)
    clear_caches()
    double: SlackApiDouble = request.getfixturevalue("slack_double")[0]
    double.reset()
    request.getfixturevalue("shopify_double")[0].reset()
    yield


@pytest.fixture
async def client(services: Services) -> AsyncIterator[TestClient]:
    server = TestServer(build_app(services))
    test_client = TestClient(server)
    await test_client.start_server()
    yield test_client
    await test_client.close()


@pytest.fixture
def shop(shopify_double: tuple[ShopifyAdminDouble, str]) -> ShopifyAdminDouble:
    return shopify_double[0]


@pytest.fixture
def slack(slack_double: tuple[SlackApiDouble, str]) -> SlackApiDouble:
    return slack_double[0]


@pytest.fixture
def run_worker(services: Services) -> Callable[[], Awaitable[int]]:
    """Runs a real arq Worker in burst mode until the queue is empty; returns jobs completed."""

    async def run() -> int:
        return await run_burst(services)

    return run


def app_with(services: Services) -> web.Application:
    return build_app(services)


__all__ = ["asyncio"]


@pytest.fixture
def outbox(services: Services) -> Callable[[], Awaitable[list[Any]]]:
    """What the embedded SMTP sink received, as parsed email messages (oldest first)."""
    import email
    import email.policy

    from emails.models import OutboxMessage

    async def received() -> list[Any]:
        rows = await OutboxMessage.all().order_by("id")
        return [email.message_from_bytes(Path(r.path).read_bytes(), policy=email.policy.default) for r in rows]

    return received


@pytest.fixture
def clock(services: Services) -> Iterator[ManualClock]:
    """Moves time by hand: journeys that wait days run in milliseconds."""
    manual = ManualClock(dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC))
    services.clock = manual
    yield manual
    services.clock = RealClock()


@pytest.fixture
def drive(services: Services) -> Callable[[], Awaitable[int]]:
    """Dispatch due timers and run the worker until nothing is due or queued; returns jobs run."""

    async def until_idle() -> int:
        return await drain(services)

    return until_idle


@pytest.fixture
def query_log() -> Iterator[QueryLog]:
    """The statements sent while the test runs (tortoise's debug log)."""
    handler, logger = QueryLog(), logging.getLogger("tortoise.db_client")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def restore_workspace(services: Services) -> Iterator[None]:
    """The services are shared by the session: a workspace a test sets goes back afterwards."""
    original = services.workspace
    yield
    services.workspace = original
