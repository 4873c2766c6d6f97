"""nurture attribution ...: which emails earned which orders, decided again when the windows change."""

from __future__ import annotations

import click

from core.services import Services
from core.workspace import parse_window
from journeys.attribution import recompute
from nurture.cli.common import run, with_services
from nurture.terminal import CliError, console


@click.group()
def attribution() -> None:
    """Order attribution: the email each order is credited to (windows: `attribution` in nurture.yml)."""


@attribution.command("recompute")
@click.option("--since", help="Only orders placed in the last period, e.g. 30d (default: every order).")
def recompute_command(since: str | None) -> None:
    """Attribute orders again with the current windows (each order keeps its attribution otherwise)."""
    try:
        period = parse_window(since) if since else None
    except ValueError as error:
        raise CliError(f"--since: {error}") from None

    async def work(services: Services) -> str:
        config = services.workspace.attribution
        begin = services.clock.now() - period if period else None
        seen, attributed = await recompute(config, begin)
        return (f"{seen} orders looked at, {attributed} attributed to an email (last click within "
                f"{config.click_window}, else last open within {config.open_window})")

    console.print(run(with_services(work)))


def register(group: click.Group) -> None:
    group.add_command(attribution)
