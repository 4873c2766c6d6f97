"""`nurture demo`: a store's first day through the real HTTP endpoints, on the embedded stack.

Starts the server in-process, posts signed Shopify deliveries, a newsletter form,
a sales form and site tracking, drains the worker with a progress bar, runs the
abandoned-checkout scan, and prints what Nurture now knows.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from dataclasses import replace
from typing import Any

import aiohttp
from rich.progress import Progress
from rich.table import Table

from contacts.models import Contact
from jobs.checkouts import detect_abandoned_checkouts
from jobs.worker import build_worker
from nurture.bootstrap import Services, open_services
from nurture.cli.common import console
from nurture.settings import Settings
from nurture.workspace import FormConfig, Workspace
from webhooks.models import InboundDelivery

DEMO_SECRETS = {"shopify": "demo-shopify-secret", "tracking": "wk_demo_public", "form": "demo-form-secret"}
CUSTOMERS = [
    ("hana.sato@example.com", "Hana", "Sato", "JPY", "14080"),
    ("mehmet.yilmaz@example.com", "Mehmet", "Yilmaz", "TRY", "2450.00"),
    ("li.wei@example.com", "Li", "Wei", "CNY", "688.00"),
    ("ana.souza@example.com", "Ana", "Souza", "EUR", "89.90"),
]


def demo_settings(base: Settings) -> Settings:
    return replace(
        base,
        shopify_webhook_secret=base.shopify_webhook_secret or DEMO_SECRETS["shopify"],
        tracking_write_key=base.tracking_write_key or DEMO_SECRETS["tracking"],
        http_port=0,
    )


def demo_workspace(workspace: Workspace) -> Workspace:
    forms = {
        "newsletter": FormConfig(allowed_origins=("https://acme-audio.example",), tags=("newsletter",)),
        "contact-sales": FormConfig(secret=DEMO_SECRETS["form"], tags=("sales-inquiry",)),
        **workspace.forms,
    }
    return workspace.model_copy(update={"forms": forms})


def _order(n: int, email: str, first: str, last: str, currency: str, total: str) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).isoformat()
    return {
        "id": 9_000_000_000_000 + n, "name": f"#{1000 + n}", "email": email, "currency": currency,
        "total_price": total, "created_at": now, "updated_at": now, "financial_status": "paid",
        "customer": {"id": 7_000_000_000_000 + n, "email": email, "first_name": first, "last_name": last},
        "line_items": [{"product_id": 800 + n, "title": "Studio Headphones", "quantity": 1, "price": total}],
    }


def _checkout(n: int, email: str, hours_ago: float) -> dict[str, Any]:
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)).isoformat()
    return {
        "id": 30_000 + n, "token": f"demo-checkout-{n}", "email": email, "currency": "EUR",
        "total_price": "129.00", "created_at": at, "updated_at": at, "completed_at": None,
        "abandoned_checkout_url": f"https://acme-audio.example/checkouts/{n}/recover",
        "line_items": [{"product_id": 901, "title": "Wireless Earbuds", "quantity": 1, "price": "129.00"}],
    }


class DemoStore:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, settings: Settings) -> None:
        self.session, self.base_url, self.settings = session, base_url, settings

    async def shopify(self, topic: str, payload: dict[str, Any]) -> int:
        body = json.dumps(payload).encode()
        key = self.settings.shopify_webhook_secret.encode()
        signature = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
        headers = {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": signature,
                   "X-Shopify-Webhook-Id": str(uuid.uuid4()), "Content-Type": "application/json"}
        async with self.session.post(f"{self.base_url}/webhooks/shopify", data=body, headers=headers) as r:
            return r.status

    async def form(self, key: str, body: bytes, headers: dict[str, str]) -> int:
        async with self.session.post(f"{self.base_url}/webhooks/forms/{key}", data=body, headers=headers) as r:
            return r.status

    async def track(self, events: list[dict[str, Any]]) -> int:
        headers = {"X-Nurture-Write-Key": self.settings.tracking_write_key, "Content-Type": "application/json"}
        async with self.session.post(f"{self.base_url}/track", json={"batch": events}, headers=headers) as r:
            return r.status


async def play_day(store: DemoStore) -> list[int]:
    statuses = []
    for n, (email, first, last, currency, total) in enumerate(CUSTOMERS):
        statuses.append(await store.shopify("orders/create", _order(n, email, first, last, currency, total)))
    statuses.append(await store.shopify("checkouts/create", _checkout(1, "jonas.berg@example.com", 3)))
    statuses.append(await store.shopify("checkouts/create", _checkout(2, "ana.souza@example.com", 0.1)))
    statuses.append(await store.form(
        "newsletter", b"email=ravi.kumar%40example.com&first_name=Ravi&consent=yes&website=",
        {"Origin": "https://acme-audio.example", "Content-Type": "application/x-www-form-urlencoded"},
    ))
    statuses.append(await store.form(
        "contact-sales", json.dumps({"email": "maria.rossi@example.com", "first_name": "Maria",
                                     "company": "Rossi Logistica", "message": "Pricing for 25 units?"}).encode(),
        {"X-Nurture-Form-Secret": DEMO_SECRETS["form"], "Content-Type": "application/json"},
    ))
    statuses.append(await store.track([
        {"type": "page", "anonymous_id": "anon-demo", "url": "https://acme-audio.example/pricing", "title": "Pricing"},
        {"type": "identify", "anonymous_id": "anon-demo", "email": "maria.rossi@example.com"},
    ]))
    return statuses


async def drain(services: Services) -> None:
    total = await InboundDelivery.all().count()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("Worker processing deliveries", total=total)
        worker = build_worker(services, burst=True)
        await worker.async_run()
        await worker.close()
        progress.update(task, completed=total)


def contacts_table(contacts: list[Contact]) -> Table:
    table = Table("email", "name", "stage", "orders", "spent", "consent", "tags", title="Contacts")
    for c in contacts:
        table.add_row(c.email or f"anon:{c.anonymous_id}", f"{c.first_name} {c.last_name}".strip(),
                      c.lifecycle_stage.value, str(c.orders_count), str(c.total_spent), c.consent.value,
                      ", ".join(c.tags))
    return table


async def run_demo(settings: Settings) -> None:
    from aiohttp import web

    from webhooks.app import build_app

    async with open_services(demo_settings(settings)) as services:
        services.workspace = demo_workspace(services.workspace)
        runner = web.AppRunner(build_app(services), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        async with aiohttp.ClientSession() as session:
            statuses = await play_day(DemoStore(session, f"http://127.0.0.1:{port}", services.settings))
        console.print(f"Posted {len(statuses)} signed deliveries: answers {sorted(set(statuses))}")
        await drain(services)
        abandoned = await detect_abandoned_checkouts(services)
        console.print(f"Abandoned-checkout scan: {abandoned} checkout(s) left open for over an hour")
        console.print(contacts_table(await Contact.all().order_by("id")))
        await runner.cleanup()
    console.print("Journeys, emails and the Slack bot are not built yet: this demo covers ingestion.")
