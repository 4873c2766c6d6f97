"""`nurture slack socket`: the Slack bot over Socket Mode, for installs without a public URL."""

from __future__ import annotations

import asyncio

import click
from rich.table import Table

from bot.app import build_bolt_app
from bot.home import refusals
from core.settings import Settings
from nurture.bootstrap import open_services
from nurture.cli.common import run, settings, with_services
from nurture.terminal import CliError, console


async def _socket(config: Settings) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler  # optional, loaded here

    async with open_services(config) as services:
        handler = AsyncSocketModeHandler(build_bolt_app(services), config.slack_app_token)
        console.print("Slack bot connected over Socket Mode (run `nurture worker` for alerts and tasks).")
        try:
            await handler.start_async()
        finally:
            await handler.close_async()


@click.group()
def slack() -> None:
    """The Slack bot."""


@slack.command()
def socket() -> None:
    """Connect the bot over Socket Mode (needs NURTURE_SLACK_APP_TOKEN, xapp-...)."""
    config = settings()
    if not (config.slack_app_token and config.slack_bot_token):
        raise CliError("Socket Mode needs NURTURE_SLACK_APP_TOKEN (xapp-...) and NURTURE_SLACK_BOT_TOKEN (xoxb-...)")
    run(_socket(config))


@slack.command()
def problems() -> None:
    """Tasks Slack refused to post (bot not in the channel, wrong channel, bad token) and the fix."""
    found = run(with_services(lambda _: refusals()))
    if not found:
        console.print("Slack has posted every task.")
        return
    table = Table("task", "kind", "contact", "channel", "Slack said", "fix")
    for r in found:
        table.add_row(str(r.task_id), r.kind, r.email, r.channel, r.error, r.fix)
    console.print(table)
    console.print("They are tried again every minute by `nurture worker` until they go through.")


def register(cli: click.Group) -> None:
    cli.add_command(slack)


__all__ = ["asyncio", "register"]
