"""A store's month, played through the real HTTP endpoints on a hand-moved clock.

Customers subscribe, browse, abandon and complete checkouts, buy, ask for a quote and
answer an NPS survey; a sales rep claims a hot lead and approves the quote in Slack.
The workers run between moments on the same clock, so three days of waiting take
milliseconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

from contacts.models import Contact
from core.clock import ManualClock
from core.services import Services
from emails.filters import money
from emails.models import OutboxMessage
from jobs.checkouts import detect_abandoned_checkouts
from journeys.models import Task, TaskKind
from journeys.quote_models import Quote
from journeys.time_triggers import scan_time_triggers
from nurture.demo.store import SHOP, DemoStore, checkout, customer, order, product
from nurture.slack_double import modal_values
from nurture.worker import drain
from pipeline.ingest import ingest

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
# Subscribers who then open an account in the shop (Shopify customers/create): n, email, first, last.
ACCOUNTS = [(1, "hana.sato@example.com", "Hana", "Sato"), (10, "jonas.berg@example.com", "Jonas", "Berg"),
            (11, "li.wei@example.com", "Li", "Wei")]
SUBSCRIBERS = [("ravi.kumar@example.com", "Ravi"), ("hana.sato@example.com", "Hana"),
               ("mehmet.yilmaz@example.com", "Mehmet"), ("li.wei@example.com", "Li"),
               ("ana.souza@example.com", "Ana"), ("jonas.berg@example.com", "Jonas")]
# Hana reads Japanese: her browser says so when she signs up, and so does her Shopify order.
BROWSER_LANGUAGES = {"hana.sato@example.com": "ja-JP,ja;q=0.9,en;q=0.5"}
HEADPHONES = [("Studio Headphones Pro", "189.00")]
EARBUDS = [("Wireless Earbuds", "129.00"), ("Charging Case", "29.00")]
Progress = Callable[[int, str], None]


async def pass_time(services: Services, clock: ManualClock, until: dt.datetime, step: dt.timedelta) -> None:
    await drain(services)  # what already arrived is processed "now", before time moves on
    while clock.now() < until:
        day = clock.now().date()
        clock.set(min(until, clock.now() + step))
        await detect_abandoned_checkouts(services)
        if clock.now().date() != day:  # once a day: birthdays, inactivity
            await scan_time_triggers(services, clock.now())
        await drain(services)


async def wait_for_task(kind: TaskKind, email: str) -> Task:
    for _ in range(200):
        task = await Task.filter(kind=kind, contact__email=email).first()
        if task is not None and task.slack_ts:
            return task
        await asyncio.sleep(0.02)
    raise RuntimeError(f"no {kind.value} task was posted for {email}")


async def click_first_link(store: DemoStore, email: str) -> None:
    """The customer clicks the product link in their cart reminder."""
    rows = [r for r in await OutboxMessage.all().order_by("-id") if email in r.recipients]
    if not rows:
        return
    parsed = message_from_bytes(Path(rows[0].path).read_bytes(), policy=email_policy.default)
    html = parsed.get_body(preferencelist=("html",))
    match = re.search(r"https?://[^\"'\s>]+/c/[A-Za-z0-9_.\-=]+", html.get_content() if html else "")
    if match:
        await store.follow(match.group(0))


async def week_one(services: Services, store: DemoStore, clock: ManualClock, step: Callable[[str], None]) -> None:
    for email, name in SUBSCRIBERS:
        await store.newsletter(email, name, BROWSER_LANGUAGES.get(email, "en-GB,en;q=0.9"))
    step("6 newsletter signups")
    await drain(services)
    for title, price in HEADPHONES + EARBUDS:  # the shop's catalog: pictures, variants, product pages
        await store.shopify("products/create", product(title, price, f"{store.base_url}/demo/images", clock.now()))
    for n, email, first, last in ACCOUNTS:  # Hana's account is the customer on her order below
        await store.shopify("customers/create", customer(n, email, first, last, clock.now()))
    await store.shopify("orders/create", order(1, "hana.sato@example.com", "Hana", "Sato", clock.now(), HEADPHONES,
                                               locale="ja"))
    for token, email in (("demo-cart-1", "jonas.berg@example.com"), ("demo-cart-2", "li.wei@example.com"),
                         ("demo-cart-3", "ana.souza@example.com")):
        await store.shopify("checkouts/create", checkout(token, email, clock.now(), EARBUDS))
    step("3 products in the catalog, 3 shop accounts opened, 1 order, 3 checkouts started")
    await pass_time(services, clock, clock.now() + dt.timedelta(minutes=30), dt.timedelta(minutes=30))
    await store.shopify("orders/create", order(2, "ana.souza@example.com", "Ana", "Souza", clock.now(), EARBUDS,
                                               checkout_token="demo-cart-3"))
    step("Ana completed her checkout; two carts left open")
    # The reminders wait for the welcome emails' 24-hour frequency cap, then go out next morning.
    await pass_time(services, clock, START + dt.timedelta(days=1, hours=2), dt.timedelta(hours=1))
    await click_first_link(store, "li.wei@example.com")
    step("Li clicked the cart reminder")
    await pass_time(services, clock, START + dt.timedelta(days=3), dt.timedelta(hours=6))


async def hot_lead_and_quote(services: Services, store: DemoStore, clock: ManualClock,
                             step: Callable[[str], None]) -> None:
    await store.track([
        {"type": "page", "anonymous_id": "anon-maria", "url": f"{SHOP}/products/studio-headphones-pro",
         "title": "Studio Headphones Pro"},
        {"type": "identify", "anonymous_id": "anon-maria", "email": "maria.rossi@example.com",
         "traits": {"first_name": "Maria", "company": "Rossi Logistica"}},
        {"type": "page", "anonymous_id": "anon-maria", "url": f"{SHOP}/pricing", "title": "Pricing for teams"},
    ])
    await drain(services)
    lead = await wait_for_task(TaskKind.HOT_LEAD, "maria.rossi@example.com")
    await store.slack_click("task_claim", f"task:{lead.id}", "UREP1", lead.slack_channel or "C0SALES",
                            lead.slack_ts or "")
    await _until_owner("maria.rossi@example.com", "UREP1")
    step("Maria looked at pricing: hot-lead alert, claimed by Kenji in Slack")
    await store.quote_request({"email": "maria.rossi@example.com", "first_name": "Maria", "company": "Rossi Logistica",
                               "product": "Studio Headphones Pro", "quantity": "25",
                               "message": "Quote for 25 Studio Headphones Pro for our dispatch team, please."})
    await drain(services)
    task = await wait_for_task(TaskKind.QUOTE_APPROVAL, "maria.rossi@example.com")
    await price_quote(store, task)
    await store.slack_click("quote_approve", f"task:{task.id}", "UREP1", task.slack_channel or "", task.slack_ts or "")
    await _until_decided(task.id)
    await drain(services)
    quote = await Quote.get(task_id=task.id)
    step(f"Kenji priced quote {quote.number} in Slack's quote builder (catalog price, 10% off, engraving added) "
         "and approved it: sent as from him")
    await accept_quote(store, "maria.rossi@example.com")
    await drain(services)
    step(f"Maria accepted {quote.number} ({money(quote.total, quote.currency)}): the quote journey's goal")


async def price_quote(store: DemoStore, task: Task) -> None:
    """Kenji opens the quote builder: 10% off the catalog price, and a second line for the engraving."""
    modal = await store.slack_modal("quote_build", f"task:{task.id}", "UREP1", task.slack_channel or "",
                                    task.slack_ts or "")
    modal = {"id": "VDEMO", **modal}
    values = modal_values(modal, {"l0_discount": "10"})
    with_line = await store.slack_modal_update("quote_add_line", "add", "UREP1", modal, values)
    values = modal_values(with_line, {"l0_discount": "10", "l1_title": "Laser engraving with your logo",
                                      "l1_qty": "25", "l1_price": "6.00"})
    await store.slack_submit("quote_build", values, "UREP1", with_line["private_metadata"])
    for _ in range(200):
        if await Quote.filter(task_id=task.id).exclude(priced_by="").exists():
            return
        await asyncio.sleep(0.02)
    raise RuntimeError("the quote builder did not save the quote")


async def accept_quote(store: DemoStore, email: str) -> None:
    """The customer presses "Accept this quote" in the quote email, then the page's button."""
    rows = [r for r in await OutboxMessage.all().order_by("id") if email in r.recipients]
    parsed = message_from_bytes(Path(rows[0].path).read_bytes(), policy=email_policy.default)
    text = parsed.get_body(preferencelist=("plain",))
    found = re.search(r"Accept this quote \((\S+)\)", text.get_content() if text else "")
    if found is None:
        raise RuntimeError("the quote email has no accept link")
    await store.accept(found.group(1))


async def _until_owner(email: str, owner: str) -> None:
    for _ in range(200):
        if await Contact.exists(email=email, owner=owner):
            return
        await asyncio.sleep(0.02)
    raise RuntimeError(f"{email} was not claimed by {owner}")


async def _until_decided(task_id: int) -> None:
    for _ in range(200):
        task = await Task.get(id=task_id)
        if task.decided_by:
            return
        await asyncio.sleep(0.02)
    raise RuntimeError(f"the quote task {task_id} was not decided")


async def later_weeks(services: Services, store: DemoStore, clock: ManualClock, step: Callable[[str], None]) -> None:
    await pass_time(services, clock, START + dt.timedelta(days=10), dt.timedelta(hours=12))
    for n, (email, score, comment) in enumerate((
        ("hana.sato@example.com", 10, "Best headphones I've owned."),
        ("ana.souza@example.com", 8, "Good, delivery was a bit slow."),
        ("mehmet.yilmaz@example.com", 3, "The earbuds stopped charging after a week."),
    )):
        await store.nps(email, score, comment, f"demo-nps-{n}")
    step("3 NPS answers: a promoter, a passive and a detractor")
    await drain(services)
    lapsed = order(3, "old.customer@example.com", "Olga", "Petrova", clock.now() - dt.timedelta(days=120), HEADPHONES)
    await store.shopify("orders/create", lapsed)
    step("an order from 4 months ago arrives late: a lapsed customer")
    await pass_time(services, clock, START + dt.timedelta(days=30), dt.timedelta(hours=12))
    step("the rest of the month passes")


async def play_month(services: Services, store: DemoStore, clock: ManualClock, progress: Progress) -> None:
    done = 0

    def step(what: str) -> None:
        nonlocal done
        done += 1
        progress(done, what)

    clock.set(START)
    await week_one(services, store, clock, step)
    await hot_lead_and_quote(services, store, clock, step)
    await later_weeks(services, store, clock, step)


STEPS = 11
__all__ = ["STEPS", "drain", "ingest", "play_month"]
