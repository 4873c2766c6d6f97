"""What the console's pages show, gathered from the database (the handlers in pages.py stay thin)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tortoise.functions import Count

from journeys.analytics import IN_FLIGHT, funnel
from journeys.diagrams import DrawingUnavailable, live_diagram, render
from journeys.labels import in_flow_order, step_label
from journeys.models import Enrollment, Journey, JourneyVersion
from journeys.outcomes import JourneyStats, journey_stats
from journeys.store import latest_version, live_version, loaded

WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class JourneyRow:
    key: str
    name: str
    status: str
    version: int | None  # the live version; None for a journey never published
    in_flight: int
    week: JourneyStats  # the last 7 days


@dataclass(frozen=True)
class StepRow:
    id: str
    kind: str
    label: str
    settings: dict[str, object]
    passed: int
    waiting: int
    template: str  # the email a step sends or asks approval for ("" for other steps)


@dataclass(frozen=True)
class JourneyPage:
    journey: Journey
    version: JourneyVersion
    svg: str  # the drawn diagram, or "" when Graphviz is not installed
    dot: str
    drawing_problem: str
    steps: list[StepRow]
    versions: list[JourneyVersion]
    stats: JourneyStats


async def in_flight() -> dict[int, int]:
    """People in flight per journey, in one grouped count (not a funnel per journey)."""
    counted = await Enrollment.filter(state__in=IN_FLIGHT, is_test=False).annotate(n=Count("id")).group_by(
        "journey_id").values_list("journey_id", "n")
    return {int(journey_id): int(n) for journey_id, n in counted}


async def journey_rows(now: dt.datetime) -> list[JourneyRow]:
    rows = []
    flying = await in_flight()
    for journey in await Journey.all().order_by("key"):
        version = await live_version(journey) or await latest_version(journey)
        week = await journey_stats(await funnel(journey, now - WEEK), journey.id, loaded(version).program, now - WEEK)
        rows.append(JourneyRow(journey.key, journey.name, journey.status.value, journey.live_version_number,
                               flying.get(journey.id, 0), week))
    return rows


def _template_of(step: object) -> str:
    email = getattr(step, "email", None)
    if isinstance(email, str):
        return email
    approval = getattr(step, "approval", None)
    return str(getattr(approval, "email", "") or "")


async def journey_page(journey: Journey) -> JourneyPage:
    dot, result, version = await live_diagram(journey)
    try:
        svg, problem = _inline(render(dot, "svg")), ""
    except DrawingUnavailable as error:
        svg, problem = "", str(error)
    program = loaded(version).program
    steps = [StepRow(node.id, node.kind, step_label(node), node.step.model_dump(exclude_none=True, by_alias=True),
                     result.steps.get(node.id, 0), result.waiting.get(node.id, 0), _template_of(node.step))
             for node in in_flow_order(program)]
    versions = await JourneyVersion.filter(journey_id=journey.id).order_by("-number")
    return JourneyPage(journey, version, svg, dot, problem, steps, list(versions),
                       await journey_stats(result, journey.id, program))


def _inline(svg: bytes) -> str:
    """The <svg> element alone (Graphviz writes an XML declaration and a DOCTYPE before it)."""
    text = svg.decode("utf-8")
    return text[text.index("<svg"):]
