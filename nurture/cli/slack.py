"""`nurture slack socket`: the Slack bot over Socket Mode, for installs without a public URL."""

from __future__ import annotations

import asyncio

import click

from bot.app import build_bolt_app
from core.settings import Settings
from nurture.bootstrap import open_services
from nurture.cli.common import run, settings
from nurture.terminal import CliError, console


async def _socket(config: Settings) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler


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


def register(cli: click.Group) -> None:
    cli.add_command(slack)


__all__ = ["asyncio", "register"]
