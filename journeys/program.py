"""Compile a journey's nested steps into a flat program of nodes with explicit successors.

Node ids are paths in the document (`2`, `3/timeout/0`, `4/then/1`, `5/arm:B/0`) unless a
step names its own `id`; they are stable across versions, which is what lets in-flight
contacts move to a new version "at the same step id".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from journeys.spec import (
    ApprovalStep,
    BranchStep,
    JourneySpec,
    SplitStep,
    Step,
    WaitForStep,
)


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    step: Any
    next: str | None
    # Named exits of this node: then/else for branches, timeout/event for wait_for,
    # reject/timeout for approvals, arm name -> first node for splits.
    exits: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Program:
    start: str | None
    nodes: dict[str, Node]

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]


def _children(step: Step) -> dict[str, list[Any]]:
    if isinstance(step, BranchStep):
        return {"then": step.branch.then, "else": step.branch.else_}
    if isinstance(step, WaitForStep):
        return {"event": step.then, "timeout": step.on_timeout}
    if isinstance(step, ApprovalStep):
        return {"reject": step.on_reject, "timeout": step.on_timeout}
    if isinstance(step, SplitStep):
        return {f"arm:{arm.name}": arm.steps for arm in step.split.arms}
    return {}


def _compile(steps: list[Any], prefix: str, after: str | None, nodes: dict[str, Node]) -> str | None:
    """Adds nodes for `steps`; returns the first node's id (or `after` when empty)."""
    ids = [step.id or f"{prefix}{index}" for index, step in enumerate(steps)]
    for index, step in enumerate(steps):
        successor = ids[index + 1] if index + 1 < len(ids) else after
        exits = {
            name: _compile(children, f"{ids[index]}/{name}/", successor, nodes)
            for name, children in _children(step).items()
        }
        if ids[index] in nodes:
            raise ValueError(f"step id {ids[index]!r} is used twice")
        nodes[ids[index]] = Node(ids[index], step.kind, step, successor, exits)
    return ids[0] if ids else after


def compile_program(spec: JourneySpec) -> Program:
    nodes: dict[str, Node] = {}
    start = _compile(list(spec.steps), "", None, nodes)
    return Program(start, nodes)
