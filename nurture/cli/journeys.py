"""nurture journeys ...: validate, import, publish and watch journeys."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import BaseModel
from rich.table import Table

from core.errors import NurtureError
from core.expressions import ExpressionError, validate_expression
from core.services import Services
from core.workspace import parse_window
from journeys.analytics import funnel
from journeys.labels import in_flow_order, step_label
from journeys.library import install, templates
from journeys.manual import start_for_contact, start_for_segment
from journeys.models import InFlightPolicy, Journey, JourneyStatus
from journeys.outcomes import JourneyStats, journey_stats
from journeys.program import Node
from journeys.store import get_journey, import_spec, latest_version, live_version, loaded, publish, set_status
from journeys.validation import SpecError, load_spec
from nurture.cli.common import run, with_services
from nurture.cli.stats_view import print_stats
from nurture.terminal import CliError, console


@click.group()
def journeys() -> None:
    """Journeys: timed sequences of emails, waits, branches and Slack tasks."""


def _read_spec(path: Path):  # type: ignore[no-untyped-def]
    try:
        return load_spec(path.read_text())
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror}") from None


@journeys.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
def validate(file: Path) -> None:
    """Check a journey YAML file; prints every problem with its path, exit 2 if any."""
    try:
        spec = _read_spec(file)
    except SpecError as error:
        for problem in error.problems:
            click.echo(f"{file}: {problem}", err=True)
        raise SystemExit(2) from None
    console.print(f"{file}: [green]valid[/] journey {spec.key!r} with {len(spec.steps)} top-level steps")


def _guard(work):  # type: ignore[no-untyped-def]
    async def guarded(services: Services):  # type: ignore[no-untyped-def]
        try:
            return await work(services)
        except NurtureError as error:
            raise CliError(str(error)) from None

    return guarded


@journeys.command("import")
@click.argument("file", type=click.Path(path_type=Path))
def import_(file: Path) -> None:
    """Store a journey file as a draft (a changed file becomes a new version)."""
    try:
        spec = _read_spec(file)
    except SpecError as error:
        raise CliError(f"{file} is not valid: {error.problems[0]} (see `nurture journeys validate {file}`)") from None

    async def work(services: Services) -> tuple[Journey, bool]:
        return await import_spec(spec, created_by="cli")

    journey, created = run(with_services(_guard(work)))
    console.print(f"{journey.key}: {'new version stored' if created else 'unchanged'} ({journey.status.value})")


@journeys.command("list")
def list_() -> None:
    """All journeys with their status and live version."""

    async def work(services: Services) -> list[Journey]:
        return await Journey.all().order_by("key")

    table = Table("key", "name", "status", "live version", "priority")
    for journey in run(with_services(work)):
        table.add_row(journey.key, journey.name, journey.status.value, str(journey.live_version_number or "-"),
                      str(journey.priority))
    console.print(table)


@journeys.command("show")
@click.argument("key")
def show(key: str) -> None:
    """The newest version's steps, as the engine sees them."""

    async def work(services: Services) -> tuple[Journey, int, list[tuple[str, str, str, str, str]]]:
        journey = await get_journey(key)
        version = await latest_version(journey)
        program = loaded(version).program
        return journey, version.number, [(step_label(n), n.id, n.kind, describe_node(n), _exits(n))
                                         for n in in_flow_order(program)]

    journey, number, nodes = run(with_services(_guard(work)))
    console.print(f"[bold]{journey.name}[/] ({journey.key}) — {journey.status.value}, newest version {number}")
    table = Table("step", "id", "kind", "what", "then")
    for row in nodes:  # in flow order: each step, then the steps hanging off its exits
        table.add_row(*row)
    console.print(table)


def describe_node(node: Node) -> str:
    """The step's own settings in one line (nested steps are rows of their own)."""
    value = getattr(node.step, node.kind, None)
    settings = node.step.model_dump(exclude_defaults=True, mode="json")
    if isinstance(value, BaseModel):
        settings = {**value.model_dump(exclude_defaults=True, mode="json"), **settings}
        value = None
    shown = [str(value)] if value is not None else []
    shown += [f"{name.rstrip('_')}={setting}" for name, setting in settings.items()
              if name not in ("kind", "id", "name", node.kind) and not _is_steps(setting)]
    text = " ".join(shown)
    return text if len(text) <= 70 else text[:69] + "…"


def _is_steps(value: object) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict) and ("kind" in value[0]
                                                                                     or "steps" in value[0])


def _exits(node: Node) -> str:
    named = [f"{name} → {target or 'end'}" for name, target in node.exits.items()]
    return ", ".join([*named, f"next → {node.next or 'end'}"]) if named else (node.next or "end")


@journeys.command("publish")
@click.argument("key")
@click.option("--in-flight", type=click.Choice([p.value for p in InFlightPolicy]), default="stay",
              show_default=True, help="What happens to contacts already in an older version.")
def publish_(key: str, in_flight: str) -> None:
    """Make the newest version live."""

    async def work(services: Services):  # type: ignore[no-untyped-def]
        return await publish(key, InFlightPolicy(in_flight))

    version, changed = run(with_services(_guard(work)))
    console.print(f"{key}: version {version.number} is live; in-flight contacts: {in_flight} ({changed} changed)")


def _status_command(name: str, status: JourneyStatus, help_text: str) -> click.Command:
    @click.command(name, help=help_text)
    @click.argument("key")
    def command(key: str) -> None:
        async def work(services: Services) -> Journey:
            return await set_status(key, status)

        journey = run(with_services(_guard(work)))
        console.print(f"{journey.key} is now {journey.status.value}")

    return command


@journeys.command("stats")
@click.argument("key")
@click.option("--since", help="Only the last period, e.g. 24h, 7d, 4w (default: all time).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables (schema: docs/stats.md).")
def stats(key: str, since: str | None, as_json: bool) -> None:
    """Results: the funnel (people per step), each email's opens, clicks and attributed revenue,
    each split arm with a verdict on the winner."""
    try:
        period = parse_window(since) if since else None
    except ValueError as error:
        raise CliError(f"--since: {error}") from None

    async def work(services: Services) -> JourneyStats:
        journey = await get_journey(key)
        version = await live_version(journey) or await latest_version(journey)
        begin = services.clock.now() - period if period else None
        return await journey_stats(await funnel(journey, begin), journey.id, loaded(version).program, begin)

    result = run(with_services(_guard(work)))
    if as_json:
        click.echo(result.model_dump_json(indent=2))
    else:
        print_stats(result)


for _name, _status, _help in (
    ("pause", JourneyStatus.PAUSED, "Stop running steps and admitting contacts (resume continues)."),
    ("resume", JourneyStatus.LIVE, "Continue a paused journey."),
    ("archive", JourneyStatus.ARCHIVED, "Retire a journey: in-flight contacts exit."),
):
    journeys.add_command(_status_command(_name, _status, _help))


def register(group: click.Group) -> None:
    group.add_command(journeys)


@journeys.command("start")
@click.argument("key")
@click.argument("email", required=False)
@click.option("--segment", help='Start everyone matching an expression, e.g. "contact.lead_score >= 50".')
@click.option("--test", is_flag=True, help="A test run (any version, kept out of statistics).")
def start(key: str, email: str | None, segment: str | None, test: bool) -> None:
    """Start a journey for one contact (EMAIL) or a segment."""

    if bool(email) == bool(segment):
        raise CliError("give either EMAIL or --segment EXPRESSION")
    if segment:
        try:
            validate_expression(segment)
        except ExpressionError as error:
            raise CliError(str(error)) from None

    async def work(services: Services) -> str:
        if segment:
            return f"{await start_for_segment(services, key, segment, 'cli')} contact(s) entered {key}"
        enrollment = await start_for_contact(services, key, email or "", test=test, started_by="cli")
        return f"{email} entered {key} (enrollment {enrollment.id})"

    console.print(run(with_services(_guard(work))))


@journeys.command("templates")
def templates_() -> None:
    """The template library: ready journeys to install."""

    table = Table("key", "name", "when to use it")
    for item in templates():
        table.add_row(item.key, item.name, item.description)
    console.print(table)


@journeys.command("install")
@click.argument("key")
@click.option("--as", "as_name", default=None, help="Install under a new name (and key) of your own.")
def install_(key: str, as_name: str | None) -> None:
    """Copy a template in as a draft; `nurture journeys publish` makes it live."""

    async def work(services: Services) -> Journey:
        return await install(key, as_name, created_by="cli")

    journey = run(with_services(_guard(work)))
    console.print(f"installed {journey.key!r} as a draft; publish it with `nurture journeys publish {journey.key}`")
