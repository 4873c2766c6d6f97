"""nurture shopify ...: connect a store through its Admin API, see what is subscribed, import its history."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from catalog.shops import current_shop
from core.errors import ShopRefused, ShopUnavailable
from core.services import Services
from nurture.cli.common import run, with_services
from nurture.terminal import CliError, console
from shopify.connect import TOPICS, Connection, connect, read_shop
from shopify.importer import RESOURCES, Outcome, import_store

T = TypeVar("T")


def _shop_call(work: Callable[[Services], Awaitable[T]]) -> T:
    try:
        return run(with_services(work))
    except ShopRefused as refused:
        raise CliError(str(refused)) from None
    except ShopUnavailable as unavailable:
        raise CliError(f"{unavailable} (nothing was lost: run the command again)") from None


@click.group("shopify")
def shopify() -> None:
    """Connect a Shopify store (Admin API), check its webhooks, import its customers, orders and products."""


def _print_connection(connection: Connection, title: str) -> None:
    shop = connection.shop
    console.print(f"[bold]{shop['name']}[/] ({shop['domain']}): currency {shop['currency']}, "
                  f"time zone {shop['timezone']}, storefront {shop['primary_url'] or '-'}")
    table = Table("topic", "subscribed to", "state", title=title)
    for topic in TOPICS:
        uri = connection.subscribed.get(topic, "")
        state = ("[green]ok[/]" if uri == connection.endpoint
                 else "[red]missing[/]" if not uri else "[yellow]elsewhere[/]")
        table.add_row(topic.lower(), uri or "-", state)
    console.print(table)
    for scope, why in connection.optional_missing.items():
        console.print(f"[yellow]note[/]: without the {scope} scope, no {why}")
    console.print("Privacy topics (customers/data_request, customers/redact, shop/redact) are set in the app's "
                  f"configuration in Shopify: point them at {connection.endpoint}")


@shopify.command("connect")
def connect_command() -> None:
    """Check the token and scopes, record the shop, subscribe every webhook topic we use (again: no change)."""
    connection = _shop_call(connect)
    _print_connection(connection, "Webhook subscriptions")
    changes = len(connection.created) + int(connection.shop_changed)
    console.print(f"Connected: {len(connection.created)} subscription(s) created"
                  + (", shop details updated" if connection.shop_changed else "")
                  + ("; nothing to change" if not changes else ""))


@shopify.command("status")
def status_command() -> None:
    """What is subscribed and what is missing (changes nothing)."""
    connection = _shop_call(read_shop)
    _print_connection(connection, "Webhook subscriptions")
    missing = connection.missing_topics
    if connection.missing_scopes:
        console.print(f"[red]missing scopes[/]: {', '.join(connection.missing_scopes)}")
    console.print(f"[red]{len(missing)} topic(s) missing[/]: run `nurture shopify connect`" if missing
                  else "[green]every topic is subscribed[/]")


@shopify.command("import")
@click.option("--days", default=365, show_default=True, type=click.IntRange(1, 36500),
              help="Orders created in this many days before now.")
@click.option("--only", "only", multiple=True, type=click.Choice(RESOURCES),
              help="Import only this resource (repeatable).")
def import_command(days: int, only: tuple[str, ...]) -> None:
    """Backfill products, customers (with consent) and orders; resumable, and idempotent with webhooks.

    Imported history sets orders count, total spent, interests and segments, but starts no journey."""
    chosen = tuple(r for r in RESOURCES if r in only) if only else RESOURCES
    # Counted in lines of Shopify's bulk file: an order's line items are lines of their own.
    columns = (TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TextColumn("lines"),
               TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        bars: dict[str, TaskID] = {}

        def report(resource: str, done: int, total: int) -> None:
            if resource not in bars:
                bars[resource] = progress.add_task(resource, total=max(total, 1))
            progress.update(bars[resource], completed=done, total=max(total, 1))

        async def work(services: Services) -> list[Outcome]:
            if await current_shop() is None:
                raise CliError("run `nurture shopify connect` first: webhooks must be subscribed before the import, "
                               "so nothing that happens meanwhile is missed")
            return await import_store(services, days=days, resources=chosen, report=report)

        outcomes = _shop_call(work)
    table = Table("resource", "read", "new", "resumed at line", title="Import")
    for outcome in outcomes:
        table.add_row(outcome.resource, f"{outcome.objects:,}", f"{outcome.applied:,}", str(outcome.resumed_at))
    console.print(table)


def register(group: click.Group) -> None:
    group.add_command(shopify)
