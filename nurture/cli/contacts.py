"""nurture contacts ..."""

from __future__ import annotations

import json

import click
from rich.table import Table

from contacts.export import contact_profile
from contacts.models import Contact
from core.addresses import fold_address
from core.services import Services
from journeys.models import TraceEntry
from nurture.cli.common import run, with_services
from nurture.terminal import CliError, console


@click.group()
def contacts() -> None:
    """Look up contacts and what happened to them."""


@contacts.command("show")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print the profile as JSON.")
def show(email: str, as_json: bool) -> None:
    """Show one contact's profile and latest events."""

    async def work(services: Services) -> dict:
        contact = await Contact.get_or_none(email=fold_address(email))
        if contact is None:
            raise CliError(
                f"no contact with email {email!r}: check the spelling, or see what arrived with `nurture inbox list`"
            )
        return await contact_profile(contact, events=20)

    profile = run(with_services(work))
    if as_json:
        click.echo(json.dumps(profile, indent=2, default=str))
        return
    _print_profile(profile)


def _print_profile(profile: dict) -> None:
    table = Table(show_header=False, box=None)
    for key in (
        "email", "first_name", "last_name", "lifecycle_stage", "owner", "consent", "tags",
        "lead_score", "engagement_score", "loyalty_points", "loyalty_tier", "orders_count",
        "total_spent", "first_order_at", "last_order_at", "last_activity_at",
    ):
        table.add_row(f"[bold]{key}[/]", str(profile.get(key, "")))
    console.print(table)
    events = Table("when", "event", "source", title="Latest events")
    for event in profile["events"]:
        events.add_row(str(event["occurred_at"]), event["type"], event["source"])
    console.print(events)


def register(group: click.Group) -> None:
    group.add_command(contacts)


@contacts.command("trace")
@click.argument("email")
@click.option("--journey", "journey_key", default=None, help="Only this journey's decisions.")
@click.option("--limit", default=200, show_default=True)
def trace(email: str, journey_key: str | None, limit: int) -> None:
    """Why everything did or did not happen to a contact, as a timeline."""

    async def work(services: Services) -> list[TraceEntry]:
        contact = await Contact.get_or_none(email=fold_address(email))
        if contact is None:
            raise CliError(f"no contact with email {email!r}")
        query = TraceEntry.filter(contact=contact)
        if journey_key:
            query = query.filter(journey_key=journey_key)
        return list(reversed(await query.order_by("-at", "-id").limit(limit)))

    entries = run(with_services(work))
    table = Table("when (UTC)", "journey", "what", "why", title=f"Trace for {email}")
    for entry in entries:
        table.add_row(entry.at.strftime("%Y-%m-%d %H:%M"), entry.journey_key, entry.kind, entry.message)
    console.print(table if entries else "Nothing recorded for this contact yet.")
