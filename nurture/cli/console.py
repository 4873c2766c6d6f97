"""nurture console ...: sign-in links for the browser console, and signing everyone out."""

from __future__ import annotations

import re

import click

from console.auth import LINK_TTL, login_link, logout_all
from core.services import Services
from nurture.cli.common import run, with_services
from nurture.terminal import CliError, console

SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")


@click.group("console")
def console_group() -> None:
    """The browser console at /console: journeys as diagrams with live counts."""


@console_group.command("link")
@click.argument("slack_user_id")
def link(slack_user_id: str) -> None:
    """Print a single-use sign-in link for SLACK_USER_ID (valid 10 minutes; roles from nurture.yml)."""
    if not SLACK_USER.match(slack_user_id):
        raise CliError(f"{slack_user_id!r} is not a Slack user id (U0123ABCD: Slack profile, ⋮, Copy member ID)")

    async def work(services: Services) -> str:
        return login_link(services, slack_user_id)

    click.echo(run(with_services(work)))
    console.print(f"[dim]single use, valid {LINK_TTL // 60} minutes[/]", highlight=False)


@console_group.command("logout-all")
def logout_all_command() -> None:
    """End every console session now (everyone signs in again with a new link)."""
    generation = run(with_services(logout_all))
    console.print(f"every console session has ended (generation {generation})")


def register(group: click.Group) -> None:
    group.add_command(console_group)
