"""`nurture shopify import` against the Admin API double: bulk operations read to the end, derived
fields set, no journey started by history, nothing doubled by a second run, a webhook of an
imported order, or a kill half-way."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from aiohttp.test_utils import TestClient

from catalog.models import Product, Variant
from contacts.models import Consent, Contact, Event, Order
from core.services import Services
from emails.models import Message
from jobs.models import JobRun, RunStatus
from journeys.library import install
from journeys.models import Enrollment
from journeys.store import publish
from shopify.connect import connect
from shopify.importer import import_store
from tests.doubles.shopify_admin import ShopifyAdminDouble
from tests.support import shopify_headers

NOW = dt.datetime.now(dt.UTC)


async def counts() -> dict[str, int]:
    return {"contacts": await Contact.all().count(), "orders": await Order.all().count(),
            "events": await Event.all().count(), "products": await Product.all().count(),
            "variants": await Variant.all().count()}


def in_window(shop: ShopifyAdminDouble, days: int = 365) -> list[dict]:
    since = (NOW - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [o for o in shop.orders if o["createdAt"] >= since]


async def test_import_backfills_history_without_starting_journeys(services: Services, shop: ShopifyAdminDouble,
                                                                 run_worker) -> None:  # type: ignore[no-untyped-def]
    shop.populate(customers=120, orders=300, products=15, now=NOW)
    for key in ("new-customer-onboarding", "post-purchase-feedback"):  # both start on orders
        await publish((await install(key)).key)
    await connect(services)
    seen: dict[str, tuple[int, int]] = {}
    outcomes = await import_store(services, days=365, report=lambda r, done, total: seen.__setitem__(r, (done, total)),
                                  poll_every=0.01)
    assert [o.resource for o in outcomes] == ["products", "customers", "orders"]
    assert all(done == total > 0 for done, total in seen.values())  # progress reached the end of each file
    recent = in_window(shop)
    assert 0 < len(recent) < 300  # the double's orders span 400 days: older ones stay out
    assert await Order.all().count() == len(recent)
    assert await Product.all().count() == 15
    # Derived fields, as live orders would set them.
    buyers = {o["customer"]["email"] for o in recent}
    contact = await Contact.get(email=sorted(buyers)[0])
    mine = [o for o in recent if o["customer"]["email"] == contact.email]
    assert contact.orders_count == len(mine)
    assert contact.total_spent == sum(Decimal(o["totalPriceSet"]["shopMoney"]["amount"]) for o in mine)
    assert contact.last_order_at is not None
    # Consent and time zone from the customer records.
    first = shop.customers[0]
    imported = await Contact.get(email=first["email"])
    state = first["emailMarketingConsent"]["marketingState"]
    assert imported.consent == {"SUBSCRIBED": Consent.SUBSCRIBED, "UNSUBSCRIBED": Consent.UNSUBSCRIBED}.get(
        state, Consent.UNKNOWN)
    without_address = next(c for c in shop.customers if not c["defaultAddress"])
    assert (await Contact.get(email=without_address["email"])).timezone == "America/Los_Angeles"  # the shop's
    # History starts nothing: no run, no email, nothing queued for the worker.
    await run_worker()
    assert await Enrollment.all().count() == 0 and await Message.all().count() == 0
    assert all(e.properties.get("imported") for e in await Event.filter(source="shopify").limit(50))

    before = await counts()
    again = await import_store(services, days=365, poll_every=0.01)
    assert [o.applied for o in again] == [0, 0, 0] and await counts() == before


async def test_an_imported_order_arriving_as_a_webhook_counts_once(services: Services, shop: ShopifyAdminDouble,
                                                                    client: TestClient, run_worker) -> None:  # type: ignore[no-untyped-def]
    shop.populate(customers=5, orders=8, products=3, now=NOW)
    await connect(services)
    await import_store(services, days=500, poll_every=0.01)
    node = shop.orders[0]
    contact = await Contact.get(email=node["email"])
    body = {"id": int(node["legacyResourceId"]), "email": node["email"], "created_at": node["createdAt"],
            "total_price": node["totalPriceSet"]["shopMoney"]["amount"], "currency": "USD", "line_items": []}
    raw = json.dumps(body).encode()
    headers = shopify_headers(raw, services.settings.shopify_webhook_secret, "orders/create")
    assert (await client.post("/webhooks/shopify", data=raw, headers=headers)).status == 200
    await run_worker()
    after = await Contact.get(id=contact.id)
    assert (after.orders_count, after.total_spent) == (contact.orders_count, contact.total_spent)
    assert await Order.filter(shopify_id=body["id"]).count() == 1


def _import_env(services: Services, var_dir: Path, double_url: str) -> dict[str, str]:
    settings = services.settings
    socket = services.redis_endpoint.settings.unix_socket_path
    env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
    env.update(
        NURTURE_DATABASE_URL=settings.database_url, NURTURE_SECRET_KEY=settings.secret_key,
        NURTURE_REDIS_URL=f"unix://{socket}" if socket else settings.redis_url, NURTURE_VAR_DIR=str(var_dir),
        NURTURE_SMTP_URL="embedded", NURTURE_SHOPIFY_SHOP=settings.shopify_shop_domain,
        NURTURE_SHOPIFY_ADMIN_TOKEN=settings.shopify_admin_token, NURTURE_SHOPIFY_ADMIN_URL=double_url,
        NURTURE_CONFIG_FILE=str(settings.config_file),
    )
    return env


async def test_a_killed_import_resumes_where_it_stopped_without_duplicates(
        services: Services, shopify_double: tuple[ShopifyAdminDouble, str], tmp_path: Path) -> None:
    shop, url = shopify_double
    shop.populate(customers=2000, orders=5000, products=200, now=NOW)
    await connect(services)
    log = (tmp_path / "import.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "nurture", "shopify", "import"],
                               env=_import_env(services, tmp_path / "var", url), stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while not await JobRun.filter(name="shopify-import:orders", cursor__gt=0).exists():
            assert process.poll() is None, (tmp_path / "import.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the import never reached the orders"
            await asyncio.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    stopped = await JobRun.get(name="shopify-import:orders")
    assert stopped.status == RunStatus.RUNNING and stopped.cursor > 0, "killed before or after the orders"
    held = await Order.all().count()
    assert 0 < held < len(in_window(shop)), "the kill came too late to test anything"

    outcomes = await import_store(services, days=365, poll_every=0.01)
    orders = outcomes[-1]
    assert orders.resumed_at == stopped.cursor  # read on from the committed cursor, same bulk operation
    assert orders.objects == len(in_window(shop)) - stopped.processed  # nothing before it was read again
    assert len(shop.called("NurtureBulkRun")) == 5  # three before the kill; customers and products again now
    assert await Order.all().count() == len(in_window(shop))
    assert await Product.all().count() == 200
    assert await Event.filter(type="order.created").count() == len(in_window(shop))
    assert (await JobRun.get(id=stopped.id)).status == RunStatus.COMPLETED


async def test_orders_outside_the_window_stay_out(services: Services, shop: ShopifyAdminDouble) -> None:
    days = 30
    shop.populate(customers=20, orders=60, products=4, now=NOW)
    # Placed after the import started (in a real shop: while it runs): it comes as a webhook, a new event.
    later = {**shop.orders[0], "legacyResourceId": "9999999", "id": "gid://shopify/Order/9999999",
             "createdAt": (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    shop.orders.append(later)
    await connect(services)
    await import_store(services, days=days, resources=("orders",), poll_every=0.01)
    assert await Order.all().count() == len(in_window(shop, days)) - 1
    assert not await Order.exists(shopify_id=9999999)
    query = shop.called("NurtureBulkRun")[0].variables["query"]
    assert "created_at:>=" in query and "created_at:<" in query


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nurture", "shopify", *args], env={**env, "COLUMNS": "160"},
                          capture_output=True, text=True, timeout=120)


async def test_the_cli_connects_imports_with_progress_and_says_what_is_wrong(
        services: Services, shopify_double: tuple[ShopifyAdminDouble, str], tmp_path: Path) -> None:
    shop, url = shopify_double
    shop.populate(customers=30, orders=40, products=5, now=NOW)
    env = _import_env(services, tmp_path / "var", url)

    async def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(_cli, env, *args)  # the double answers from this loop meanwhile

    early = await cli("import")
    assert early.returncode == 2 and "run `nurture shopify connect` first" in early.stderr
    assert "Traceback" not in early.stderr
    connected = await cli("connect")
    assert connected.returncode == 0, connected.stderr
    assert "13 subscription(s) created" in connected.stdout and "America/Los_Angeles" in connected.stdout
    assert "nothing to change" in (await cli("connect")).stdout
    imported = await cli("import", "--days", "500")
    assert imported.returncode == 0, imported.stderr
    for resource in ("products", "customers", "orders"):
        assert resource in imported.stdout
    for resource in ("products", "customers", "orders"):  # a bar per resource, each run to its end
        assert re.search(rf"{resource}\s+━+\s+(\d+)/\1\s+lines", imported.stdout), imported.stdout
    assert await Order.all().count() == 40
    status = await cli("status")
    assert "every topic is subscribed" in status.stdout
    shop.token = "shpat_rotated"  # the store rotated the token
    refused = await cli("status")
    assert refused.returncode == 2 and "NURTURE_SHOPIFY_ADMIN_TOKEN" in refused.stderr
    assert "Traceback" not in refused.stderr
