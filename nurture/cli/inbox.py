"""nurture inbox ...: every webhook delivery we received, and replay of failed ones."""

from __future__ import annotations

import click
from rich.table import Table

from core.services import Services
from inbox.models import DeliveryStatus, InboundDelivery
from nurture.cli.common import run, with_services
from nurture.terminal import CliError, console
from webhooks.inbox import replay_delivery


@click.group()
def inbox() -> None:
    """Inspect stored webhook deliveries and replay failed ones."""


def _table(rows: list[InboundDelivery]) -> Table:
    table = Table("id", "provider", "topic", "status", "received", "error")
    for row in rows:
        table.add_row(
            str(row.id), row.provider, row.topic, row.status.value,
            row.received_at.strftime("%Y-%m-%d %H:%M:%S"), row.error[:80],
        )
    return table


def _list(status: DeliveryStatus | None, limit: int) -> None:
    async def work(_: Services) -> list[InboundDelivery]:
        query = InboundDelivery.all() if status is None else InboundDelivery.filter(status=status)
        return await query.order_by("-id").limit(limit)

    rows = run(with_services(work))
    if not rows:
        console.print("No deliveries." if status is None else f"No {status.value} deliveries.")
        return
    console.print(_table(rows))


@inbox.command("list")
@click.option("--limit", default=50, show_default=True, help="How many of the newest to show.")
def list_deliveries(limit: int) -> None:
    """List the newest deliveries of every status."""
    _list(None, limit)


@inbox.command("failed")
@click.option("--limit", default=50, show_default=True)
def failed(limit: int) -> None:
    """List deliveries that verified but could not be processed, with their errors."""
    _list(DeliveryStatus.FAILED, limit)


@inbox.command("replay")
@click.argument("delivery_id", type=int)
def replay(delivery_id: int) -> None:
    """Process a stored delivery again (after fixing what made it fail)."""

    async def work(services: Services) -> InboundDelivery:
        delivery = await InboundDelivery.get_or_none(id=delivery_id)
        if delivery is None:
            raise CliError(f"no delivery with id {delivery_id}: see `nurture inbox list`")
        return await replay_delivery(services, delivery)

    delivery = run(with_services(work))
    console.print(f"delivery {delivery.id} is now [bold]{delivery.status.value}[/] {delivery.error}")


def register(group: click.Group) -> None:
    group.add_command(inbox)
