"""nurture simulate: a journey's funnel on synthetic or recorded contacts, on a virtual clock, sending nothing."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeVar

import click
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from contacts.models import Contact
from contacts.view import contact_view
from core.errors import NotFound
from core.expressions import ExpressionError, evaluate, validate_expression
from core.services import Services
from journeys.engine import Facts
from journeys.facts import gather_facts
from journeys.labels import labelled_counts
from journeys.outcomes import verdict
from journeys.program import Program, compile_program
from journeys.simulator import SimResult, Simulation
from journeys.spec import JourneySpec
from journeys.store import get_journey, latest_version, loaded
from journeys.validation import SpecError, load_spec
from nurture.cli.common import run, with_services
from nurture.cli.stats_view import UNRELIABLE_OPENS
from nurture.terminal import CliError, console

TEMPLATES = Path(__file__).resolve().parents[2] / "journeys" / "templates"
BATCH = 1000  # contacts read per query while scanning for segment members
T = TypeVar("T")


def reservoir(items: Iterable[T], size: int, rng: random.Random) -> list[T]:
    """A uniform sample of up to `size` items in one pass; the same seed picks the same sample."""
    chosen: list[T] = []
    for seen, item in enumerate(items):
        if seen < size:
            chosen.append(item)
        elif (slot := rng.randrange(seen + 1)) < size:
            chosen[slot] = item
    return chosen


def checked_expression(expression: str) -> str:
    try:
        return validate_expression(expression)
    except ExpressionError as error:
        raise CliError(f"--from-segment: {error}") from None


def _recorded_contacts(expression: str, size: int, seed: int) -> list[Facts]:
    """Up to `size` real contacts matching `expression`, read only: their facts, with the send history
    left out (the simulation keeps its own on the virtual clock)."""

    async def matching_ids() -> list[int]:
        found: list[int] = []
        last_id = 0
        # Keyset pagination and only ids kept: memory stays small however many contacts there are.
        while batch := await Contact.filter(id__gt=last_id).order_by("id").limit(BATCH):
            found.extend(c.id for c in batch if evaluate(expression, {"contact": contact_view(c)})[0])
            last_id = batch[-1].id
        return found

    async def work(services: Services) -> list[Facts]:
        ids = sorted(reservoir(await matching_ids(), size, random.Random(seed)))
        now = services.clock.now()
        sample = await Contact.filter(id__in=ids).order_by("id") if ids else []
        facts = [await gather_facts(services.settings.secret_key, contact, now,
                                    services.workspace.consent.policy) for contact in sample]
        return [dataclasses.replace(f, recent_marketing_sends=()) for f in facts]

    recorded = run(with_services(work))
    if not recorded:
        raise CliError(f"--from-segment: no contact matches {expression!r}")
    return recorded


def _footer(contacts: int, days: int, recorded: Sequence[Facts] | None) -> str:
    who = f"{len(recorded):,} recorded contacts" if recorded is not None else f"{contacts:,} synthetic contacts"
    return (f"[dim]{who} entered at random times in the first {days // 3} days; "
            "modelled open 35%, click 25% of opens, purchase 4% per email (20% after a click).[/]")


def _spec_from_database(key: str) -> JourneySpec:

    async def work(services: Services) -> JourneySpec:
        try:
            return loaded(await latest_version(await get_journey(key))).spec
        except NotFound:
            raise CliError(f"{key!r} is not a file, a template (see nurture journeys templates) or a journey") from None

    return run(with_services(work))


def resolve_spec(journey: str) -> JourneySpec:
    path = Path(journey)
    template = TEMPLATES / f"{journey}.yml"
    source = path if path.is_file() else template if template.is_file() else None
    if source is None:
        return _spec_from_database(journey)
    try:
        return load_spec(source.read_text())
    except SpecError as error:
        raise CliError(f"{source}: {error.problems[0]}") from None


def result_table(result: SimResult) -> Table:
    table = Table("", "count", title=f"Simulated {result.key}: {result.contacts:,} contacts over {result.days} days")
    rows = [("entered", result.entered), ("emails sent", result.emails), ("Slack tasks", result.tasks),
            ("converted (goal)", result.converted), ("completed", result.completed),
            ("still in flight", result.in_flight), ("attributed orders", sum(result.orders.values()))]
    for label, value in rows:
        table.add_row(label, f"{value:,}")
    table.add_row("goal rate", f"{result.goal_rate:.1%}")
    for reason, count in result.exits.most_common():
        table.add_row(f"exited: {reason}", f"{count:,}")
    for template, count in result.emails_by_template.most_common():
        table.add_row(f"email {template}", f"{count:,}")
    return table


def steps_table(result: SimResult, program: Program) -> Table:
    """People per step in flow order, and each email's opens, clicks and attributed orders: the
    columns `journeys stats` reports for live runs."""
    table = Table("step", "reached", "sent", "opened*", "clicked", "orders", title="per step, in flow order")
    for label, step_id, count in labelled_counts(result.reached, program):
        sent = result.sent[step_id]
        table.add_row(label, f"{count:,}", *(f"{n:,}" if sent else "" for n in (
            sent, result.opened[step_id], result.clicked[step_id], result.orders[step_id])))
    return table


def arms_table(result: SimResult) -> Table:
    table = Table("arm", "entered", "converted", "conversion", "orders", title="split arms")
    for arm, entered in sorted(result.arms.items()):
        converted = result.arm_conversions[arm]
        table.add_row(arm, f"{entered:,}", f"{converted:,}", f"{converted / entered:.1%}" if entered else "-",
                      f"{result.arm_orders[arm]:,}")
    return table


@click.command()
@click.argument("journey")
@click.option("--contacts", default=1000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3650))
@click.option("--seed", default=1, show_default=True, help="Same seed, same result.")
@click.option("--from-segment", "segment", metavar="EXPR", default=None,
              help="Sample up to --contacts real contacts matching this contact expression (as in a segment "
                   "trigger, e.g. \"'engaged' in contact.tags\") and simulate with their real attributes. "
                   "Reads only.")
def simulate(journey: str, contacts: int, days: int, seed: int, segment: str | None) -> None:
    """Run JOURNEY (a file, a template key or a stored journey) on synthetic or recorded contacts and print
    its funnel."""
    spec = resolve_spec(journey)
    recorded = _recorded_contacts(checked_expression(segment), contacts, seed) if segment else None
    simulation = Simulation(spec, compile_program(spec), contacts, days, seed, recorded=recorded)
    with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.completed:,} events"),
                  console=console, transient=True) as progress:
        task = progress.add_task("sim", total=None)
        result = simulation.run(lambda handled: progress.update(task, completed=handled))
    console.print(result_table(result))
    console.print(steps_table(result, simulation.program))
    if result.emails:
        console.print(UNRELIABLE_OPENS)
    if result.arms:
        console.print(arms_table(result))
        decision = verdict({arm: (n, result.arm_conversions[arm]) for arm, n in result.arms.items()})
        if decision is not None:
            console.print(f"verdict: {decision.text}")
    console.print(_footer(contacts, days, recorded))


def register(group: click.Group) -> None:
    group.add_command(simulate)
