"""nurture simulate: a journey's funnel on synthetic contacts, on a virtual clock, sending nothing."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from journeys.program import compile_program
from journeys.simulator import SimResult, Simulation
from journeys.spec import JourneySpec
from journeys.validation import SpecError, load_spec
from nurture.bootstrap import Services
from nurture.cli.common import CliError, console, run, with_services

TEMPLATES = Path(__file__).resolve().parents[2] / "journeys" / "templates"


def _spec_from_database(key: str) -> JourneySpec:
    from journeys.store import get_journey, latest_version, loaded
    from nurture.errors import NotFound

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
            ("still in flight", result.in_flight)]
    for label, value in rows:
        table.add_row(label, f"{value:,}")
    table.add_row("goal rate", f"{result.goal_rate:.1%}")
    for reason, count in result.exits.most_common():
        table.add_row(f"exited: {reason}", f"{count:,}")
    for step, count in sorted(result.reached.items(), key=lambda kv: -kv[1]):
        table.add_row(f"reached step {step}", f"{count:,}")
    for arm, count in sorted(result.arms.items()):
        table.add_row(f"arm {arm}", f"{count:,}")
    for template, count in result.emails_by_template.most_common():
        table.add_row(f"email {template}", f"{count:,}")
    return table


@click.command()
@click.argument("journey")
@click.option("--contacts", default=1000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3650))
@click.option("--seed", default=1, show_default=True, help="Same seed, same result.")
def simulate(journey: str, contacts: int, days: int, seed: int) -> None:
    """Run JOURNEY (a file, a template key or a stored journey) on synthetic contacts and print its funnel."""
    spec = resolve_spec(journey)
    simulation = Simulation(spec, compile_program(spec), contacts, days, seed)
    total = len(simulation.queue)
    with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.completed:,} events"),
                  console=console, transient=True) as progress:
        task = progress.add_task("sim", total=None)
        result = simulation.run(lambda handled: progress.update(task, completed=handled))
    console.print(result_table(result))
    console.print(f"[dim]{total:,} contacts entered at random times in the first {days // 3} days; "
                  "modelled open 35%, click 25% of opens, purchase 4% per email (20% after a click).[/]")


def register(group: click.Group) -> None:
    group.add_command(simulate)
