"""`nurture demo`: the whole product on the embedded stack, a store's month in a couple of minutes.

Starts a local Slack Web API double, the HTTP server, the SMTP sink and the workers in
this process, installs six journey templates, plays the month through signed requests
(nurture.demo.month), and prints funnels, Slack messages and the emails as HTML files.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from rich.progress import BarColumn, Progress, TextColumn

from console.auth import login_link
from core.clock import ManualClock
from core.services import Services
from core.settings import Settings
from core.workspace import FormConfig, PersonConfig, QuoteConfig, SlackConfig, Workspace
from journeys.coupons import upsert_pool
from journeys.library import install
from journeys.store import publish
from nurture.bootstrap import open_services
from nurture.demo import images
from nurture.demo.month import STEPS, play_month
from nurture.demo.report import (
    Exported,
    email_table,
    export_emails,
    funnel_table,
    funnels,
    print_email_paths,
    slack_table,
)
from nurture.demo.store import FORM_SECRET, SHOP, DemoStore
from nurture.migrate import apply_migrations
from nurture.slack_double import SlackApiDouble
from nurture.terminal import CliError, console
from nurture.web import build_app

DEMO_ADMIN = "UADMIN"  # the Slack user the demo signs in to the console as
TEMPLATES = ("welcome-series", "abandoned-cart", "hot-lead-alert", "quote-request", "nps-follow-up", "win-back")


class DemoFailed(CliError):
    """An endpoint refused one of the demo's requests: printed as one line, exit code 2."""


@dataclass
class DemoResult:
    services: Services
    slack: SlackApiDouble
    emails: list[Exported]
    failures: list[str]  # requests an endpoint answered non-2xx; the demo fails if any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_settings(base: Settings, slack_url: str) -> Settings:
    var_dir = base.var_dir / "demo"
    port = free_port()  # links in the emails must reach this run's server
    return replace(base, var_dir=var_dir, http_host="127.0.0.1", http_port=port, public_url=f"http://127.0.0.1:{port}",
                   database_url=f"sqlite://{(var_dir / 'demo.sqlite3').resolve()}",
                   redis_url="embedded", smtp_url="embedded", slack_api_url=slack_url,
                   shopify_webhook_secret="demo-shopify", tracking_write_key="wk_demo", survey_secret="demo-survey",
                   slack_bot_token="xoxb-demo", slack_signing_secret="demo-slack-signing")


def demo_workspace() -> Workspace:
    return Workspace(
        brand={"name": "Acme Audio", "url": SHOP, "address": "Acme Audio GmbH, Torstrasse 1, 10119 Berlin"},
        forms={"newsletter": FormConfig(allowed_origins=(SHOP,), tags=("newsletter",)),
               "quote-request": FormConfig(secret=FORM_SECRET, tags=("quote",))},
        slack=SlackConfig(admins=(DEMO_ADMIN,), journey_editors=(DEMO_ADMIN,), sales_channel="C0SALES",
                          sales_reps=("UREP1", "UREP2"),
                          people={"UREP1": PersonConfig(title="Account Executive", phone="+49 30 901820")}),
        # A Berlin shop: prices in euros, 19% VAT on top for its business customers.
        quotes=QuoteConfig(currency="EUR", tax_rate=Decimal(19), tax_label="VAT"),
    )


async def install_templates() -> None:
    for key in TEMPLATES:
        await install(key, created_by="demo")
        await publish(key)
    await upsert_pool("cart10", "10% off", generate_prefix="CART10-")
    await upsert_pool("sorry15", "15% off, with our apologies", generate_prefix="SORRY15-")


Serving = Callable[[Services, str], Awaitable[None]]


async def run_scenario(settings: Settings, slack: SlackApiDouble, progress_to_console: bool = True,
                       while_serving: Serving | None = None) -> DemoResult:
    """Play the month and print what happened; then, the server still up, `while_serving` gets the
    services and a console sign-in link (an admin's) and the demo stops when it returns."""
    async with open_services(settings) as services:
        services.workspace = demo_workspace()
        clock = ManualClock()
        services.clock = clock
        await install_templates()
        app = build_app(services)
        images.add_routes(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, settings.http_host, settings.http_port).start()
        async with aiohttp.ClientSession() as session:
            store = DemoStore(session, settings.public_url, services.settings, slack)
            with Progress(TextColumn("{task.description}"), BarColumn(), console=console,
                          disable=not progress_to_console) as progress:
                bar = progress.add_task("a store's month", total=STEPS)
                await play_month(services, store, clock,
                                 lambda n, what: progress.update(bar, completed=n, description=what))
        emails = await export_emails(settings.var_dir / "emails")
        results = await funnels()
        console.print(funnel_table(results))
        console.print(slack_table(slack.calls))
        console.print(email_table(emails))
        print_email_paths(console, emails)
        link = login_link(services, DEMO_ADMIN)
        console.print(f"The console (journeys as diagrams, contacts, inbox), signed in as the demo's admin:\n  {link}",
                      soft_wrap=True, highlight=False)
        if while_serving is not None:
            await while_serving(services, link)
        await runner.cleanup()
        return DemoResult(services, slack, emails, store.failures())


async def until_enter(services: Services, link: str) -> None:
    """In a terminal the demo's server stays up (for the console link) until Enter is pressed."""
    console.print("[bold]The demo's server stays up for the console: press Enter to stop it.[/]")
    await asyncio.to_thread(sys.stdin.readline)


async def run_demo(base: Settings) -> None:
    slack = SlackApiDouble()
    slack_server = TestServer(slack.app())
    await slack_server.start_server()
    settings = demo_settings(base, str(slack_server.make_url("/api/")))
    shutil.rmtree(settings.var_dir, ignore_errors=True)  # every run starts from an empty store
    await apply_migrations(settings)
    try:
        result = await run_scenario(settings, slack, while_serving=until_enter if sys.stdin.isatty() else None)
    finally:
        await slack_server.close()
    if result.failures:
        # A refused webhook means the month did not happen as shown: say so instead of exiting 0.
        raise DemoFailed(f"{len(result.failures)} demo request(s) were refused: " + "; ".join(result.failures[:5]))
    console.print(f"[bold green]Demo finished.[/] {len(result.emails)} emails are in "
                  f"{(settings.var_dir / 'emails').resolve()}; the demo's database is {settings.database_url}.",
                  soft_wrap=True)


__all__ = ["DemoResult", "run_demo", "run_scenario"]
