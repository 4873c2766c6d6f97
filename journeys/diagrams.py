"""A journey as a diagram: DOT built from the same program the engine runs, laid out by Graphviz.

`journey_dot` is pure; `live_diagram` reads the counts, and `render` runs Graphviz's `dot` (Debian's
graphviz package) to draw SVG or PNG.
Each step shows its words and its live counts: how many passed it and how many wait there now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import graphviz

from journeys.analytics import Funnel, funnel
from journeys.labels import in_flow_order, step_label, trigger_text
from journeys.models import Journey, JourneyVersion
from journeys.program import Node, Program
from journeys.store import latest_version, live_version, loaded

# shape and fill per kind of step: emails stand out, waits recede, decisions are diamonds
STYLES: dict[str, dict[str, str]] = {
    "email": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e3f1ec"},
    "wait": {"shape": "box", "style": "rounded,dashed", "fillcolor": "white"},
    "wait_for": {"shape": "box", "style": "rounded,dashed", "fillcolor": "white"},
    "branch": {"shape": "diamond", "style": "filled", "fillcolor": "#fff4d6"},
    "split": {"shape": "diamond", "style": "filled", "fillcolor": "#f3e8ff"},
    "approval": {"shape": "hexagon", "style": "filled", "fillcolor": "#fde8e8"},
    "slack_task": {"shape": "component", "style": "filled", "fillcolor": "#e8f0fe"},
    "slack_notify": {"shape": "component", "style": "filled", "fillcolor": "#e8f0fe"},
    "exit": {"shape": "doubleoctagon", "style": "filled", "fillcolor": "#eeeeee"},
}
DEFAULT_STYLE = {"shape": "box", "style": "filled", "fillcolor": "#f6f6f6"}
# Steps whose named exits are every way on (a branch's then/else, a split's arms, wait_for's event
# and timeout); an approval's exits are reject/timeout and approving goes on to the next step.
ROUTED_BY_EXITS = frozenset({"branch", "split", "wait_for"})


@dataclass(frozen=True)
class Counts:
    """Live counts of one journey (journeys.analytics.Funnel): people who passed each step, people
    waiting at each step now, and the run's ends."""

    passed: Mapping[str, int] = field(default_factory=dict)
    waiting: Mapping[str, int] = field(default_factory=dict)
    entered: int = 0
    converted: int = 0
    completed: int = 0
    exited: int = 0


def _label(node: Node, counts: Counts) -> str:
    words = step_label(node)
    numbers = f"passed {counts.passed.get(node.id, 0)}"
    if counts.waiting.get(node.id):
        numbers += f" · waiting {counts.waiting[node.id]}"
    return f"{words}\n{numbers}"


def journey_dot(name: str, trigger: str, program: Program, counts: Counts, link: str = "#step-{id}") -> str:
    """The DOT source: the trigger, every step in flow order with its counts, the exits' labels."""
    graph = graphviz.Digraph(name="journey", graph_attr={"rankdir": "TB", "fontname": "Helvetica", "bgcolor": "white",
                                                         "label": name, "labelloc": "t", "fontsize": "16"},
                             node_attr={"fontname": "Helvetica", "fontsize": "11", "margin": "0.15,0.06"},
                             edge_attr={"fontname": "Helvetica", "fontsize": "10", "color": "#777777"})
    graph.node("trigger", f"{trigger}\nentered {counts.entered}", shape="cds", style="filled", fillcolor="#1f6f5c",
               fontcolor="white")
    graph.node("finish", f"done\nconverted {counts.converted} · completed {counts.completed} · "
                         f"exited {counts.exited}", shape="box", style="rounded,bold")
    for node in in_flow_order(program):
        graph.node(node.id, _label(node, counts), id=f"step_{node.id}", URL=link.format(id=node.id),
                   tooltip=step_label(node), **STYLES.get(node.kind, DEFAULT_STYLE))
    graph.edge("trigger", program.start or "finish")
    for node in program.nodes.values():
        for exit_name, target in node.exits.items():
            graph.edge(node.id, target or node.next or "finish", label=exit_name)
        if node.kind == "exit":
            graph.edge(node.id, "finish")
        elif node.kind not in ROUTED_BY_EXITS:
            graph.edge(node.id, node.next or "finish", label="approved" if node.kind == "approval" else "")
    return graph.source


class DrawingUnavailable(RuntimeError):
    """Graphviz's `dot` is not installed: the page shows the DOT source instead."""


async def live_diagram(journey: Journey) -> tuple[str, Funnel, JourneyVersion]:
    """The DOT of the journey's live version (else its newest) with everyone's counts now."""
    version = await live_version(journey) or await latest_version(journey)
    plan = loaded(version)
    result = await funnel(journey)
    counts = Counts(passed=dict(result.steps), waiting=dict(result.waiting), entered=result.entered,
                    converted=result.converted, completed=result.completed, exited=sum(result.exits.values()))
    return journey_dot(f"{journey.name} (v{version.number})", trigger_text(plan.spec), plan.program, counts), \
        result, version


def render(dot: str, fmt: str = "svg") -> bytes:
    try:
        return bytes(graphviz.Source(dot).pipe(format=fmt))
    except graphviz.ExecutableNotFound:
        raise DrawingUnavailable("Graphviz is not installed: `apt install graphviz` draws the diagram") from None
