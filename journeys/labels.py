"""Readable step labels: the step's `name` from the YAML, else one derived from what it does.

Node ids are document paths (`0/else/0/else/2`) that say where a step sits, not what it is;
reports, Slack and diagrams show these labels instead ("Email: cart reminder", "Wait 1 day",
"If contact.lead_score >= 50"). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from journeys.program import Node, Program
from journeys.spec import JourneySpec

MAX_LABEL = 60


def _words(key: str) -> str:
    return key.replace("-", " ").replace("_", " ")


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" + ("" if number == 1 else "s")


def span(text: str) -> str:
    """`3d` -> "3 days", `12h` -> "12 hours", `2w` -> "2 weeks"; anything else as written."""
    units = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week"}
    number, unit = text[:-1], text[-1:]
    return _count(int(number), units[unit]) if number.isdigit() and unit in units else text


def _wait(step: Any) -> str:
    wait = step.wait
    if isinstance(wait, str):
        return f"Wait {span(wait)}"
    if wait.best_hour:
        return "Wait for the best send hour"
    if wait.until:
        return f"Wait until {wait.until}" + (f" ({wait.offset})" if wait.offset not in ("0s", "0") else "")
    return f"Wait until {wait.at}" if wait.at else "Wait"


def _split(step: Any) -> str:
    return "Split: " + " / ".join(arm.name for arm in step.split.arms)


def _update(step: Any) -> str:
    update = step.update
    if update.add_tags:
        return "Tag: " + ", ".join(update.add_tags)
    if update.unsubscribe:
        return "Unsubscribe"
    return "Update contact"


DERIVED: dict[str, Callable[[Any], str]] = {
    "wait": _wait,
    "wait_for": lambda s: f"Wait for {s.wait_for.event} (up to {span(s.wait_for.timeout)})",
    "email": lambda s: f"Email: {_words(s.email)}",
    "branch": lambda s: f"If {s.branch.if_}",
    "split": _split,
    "update": _update,
    "slack_notify": lambda s: f"Slack message to {s.slack_notify.to}",
    "slack_task": lambda s: f"Slack task: {_words(s.slack_task.kind)}",
    "approval": lambda s: f"Approval: {_words(s.approval.email)}",
    "coupon": lambda s: f"Coupon: {_words(s.coupon)}",
    "webhook": lambda s: "Webhook",
    "start_journey": lambda s: f"Start journey {s.start_journey}",
    "stop_journeys": lambda s: "Stop journeys: " + ", ".join(s.stop_journeys),
    "exit": lambda s: f"Exit ({s.exit})",
}


def step_label(node: Node) -> str:
    if getattr(node.step, "name", None):
        return str(node.step.name)
    label = DERIVED.get(node.kind, lambda s: node.kind)(node.step)
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def in_flow_order(program: Program) -> Iterator[Node]:
    """Every node once, as a reader follows the flow: each step, then what hangs off its exits."""
    seen: set[str] = set()

    def walk(node_id: str | None, stop: str | None) -> Iterator[Node]:
        # A branch's arms run on into the step after the branch: that one is the parent's to show.
        while node_id is not None and node_id != stop and node_id not in seen:
            seen.add(node_id)
            node = program.node(node_id)
            yield node
            for exit_id in node.exits.values():
                yield from walk(exit_id, node.next)
            node_id = node.next

    yield from walk(program.start, None)
    yield from (node for node_id, node in program.nodes.items() if node_id not in seen)  # unreachable


def labelled_counts(counts: Mapping[str, int], program: Program | None) -> list[tuple[str, str, int]]:
    """(label, id, count) for every step in flow order, then the step ids runs recorded that this
    version no longer has (an older version's), as "(not in this version) ID"."""
    rows = [(step_label(node), node.id, counts.get(node.id, 0)) for node in in_flow_order(program)] \
        if program else []
    known = {step_id for _, step_id, _ in rows}
    return rows + [(f"(not in this version) {step_id}", step_id, counts[step_id]) for step_id in sorted(counts)
                   if step_id not in known]


def trigger_text(spec: JourneySpec) -> str:
    """Who enters, in a few words (a diagram's first box)."""
    trigger = spec.trigger
    if trigger.event:
        return f"When {trigger.event}" + (f"\nif {_short(str(trigger.where))}" if trigger.where else "")
    if trigger.segment:
        return f"On entering: {_short(str(trigger.segment))}"
    if trigger.date is not None or trigger.inactivity is not None:
        kind = "date" if trigger.date is not None else "inactivity"
        shown = getattr(trigger, kind).model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        return f"On {kind}: " + ", ".join(f"{k} {v}" for k, v in shown.items())
    return "Started by hand"


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"
