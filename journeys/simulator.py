"""Simulate a journey on synthetic or recorded contacts with a virtual clock: the real engine, no I/O.

Recorded contacts are `Facts` the caller loaded (the CLI samples them from the database); the
simulator only reads copies of them. Each contact enters at a random time in the first third of the
period with a plausible trigger event (an NPS score, a usage summary, a tier change...); every email
it is sent may be opened, clicked and followed by a purchase with the modelled rates, and those
events flow back into `wait_for` steps and goals exactly as live events do. A `wait_for` on another
event (a form, a survey answer) gets it with `Rates.respond`.
Nothing is sent and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.workspace import AttributionConfig
from journeys.engine import (
    Facts,
    Outcome,
    State,
    decide,
    exit_on_event,
    goal_reached,
    resume_on_decision,
    resume_on_event,
)
from journeys.program import Program
from journeys.spec import JourneySpec
from journeys.touches import TOUCHES, Touch, chosen_touch

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
ZONES = ("UTC", "Europe/Berlin", "Europe/Istanbul", "Asia/Tokyo", "Asia/Shanghai", "America/New_York")


@dataclass(frozen=True)
class Rates:
    open: float = 0.35
    click: float = 0.25  # of opens
    purchase: float = 0.04  # per email, higher after a click
    purchase_after_click: float = 0.2
    approve: float = 0.85
    respond: float = 0.2  # a form, survey or other non-email event a `wait_for` waits on arrives


@dataclass
class SimResult:
    key: str
    contacts: int
    days: int
    entered: int = 0
    emails: int = 0
    tasks: int = 0
    converted: int = 0
    completed: int = 0
    in_flight: int = 0
    reached: Counter[str] = field(default_factory=Counter)
    exits: Counter[str] = field(default_factory=Counter)
    arms: Counter[str] = field(default_factory=Counter)
    arm_conversions: Counter[str] = field(default_factory=Counter)
    emails_by_template: Counter[str] = field(default_factory=Counter)
    # Per email step, as `journeys stats` reports them (orders attributed with the default windows).
    sent: Counter[str] = field(default_factory=Counter)
    opened: Counter[str] = field(default_factory=Counter)
    clicked: Counter[str] = field(default_factory=Counter)
    orders: Counter[str] = field(default_factory=Counter)
    arm_orders: Counter[str] = field(default_factory=Counter)

    @property
    def goal_rate(self) -> float:
        return self.converted / self.entered if self.entered else 0.0


@dataclass
class _Run:
    state: State
    facts: Facts
    sends: list[dt.datetime] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    done: bool = False
    touches: list[Touch] = field(default_factory=list)  # opens and clicks: (kind, when, email step)


# Events the simulation produces itself from email engagement; any other `wait_for` event
# (a form, a survey answer, a custom tracking event) arrives with `Rates.respond`.
MODELLED_EVENTS = frozenset({"email.opened", "email.clicked", "order.created"})
WINDOWS = AttributionConfig()  # a dry run has no workspace of its own: Klaviyo's defaults


def trigger_event(spec: JourneySpec, rng: random.Random, at: dt.datetime) -> dict[str, Any]:
    """A plausible entry event, so branches on `event.properties` take realistic paths."""
    kind = spec.trigger.event or "sim"
    properties: dict[str, Any] = {}
    if kind == "survey.answered":
        score = rng.choices(range(11), weights=[2, 1, 1, 2, 2, 3, 4, 8, 12, 16, 14])[0]
        properties = {"score": score, "category": "promoter" if score >= 9 else "passive" if score >= 7
                      else "detractor", "comment": "", "response_id": f"sim{rng.randrange(10**9)}"}
    elif kind == "usage.summary":
        properties = {"active_days_30d": rng.randint(0, 30), "features_used": rng.randint(1, 12)}
    elif kind == "form.submitted":
        # Forms that carry a date (event registrations) get one a few days to weeks ahead.
        properties = {"form_key": "sim", "fields": {
            "event_date": (at + dt.timedelta(days=rng.uniform(2, 30))).isoformat()}}
    elif kind == "engagement.tag_changed":
        properties = {"from_tag": "active", "to_tag": rng.choice(["engaged", "active", "inactive"])}
    elif kind == "loyalty.tier_changed":
        before, after = rng.choice([("", "bronze"), ("bronze", "silver"), ("silver", "gold"), ("silver", "bronze")])
        properties = {"from_tier": before, "to_tier": after, "points": rng.randint(0, 3000)}
    elif kind.startswith(("order.", "checkout.")):
        properties = {"total_price": "49.00", "line_items": [{"title": "Sim product", "price": "49.00",
                                                              "quantity": 1}]}
    return {"type": kind, "properties": properties}


# Tags the library templates branch on, with how common they are among contacts on a typical list,
# so `'engaged' in contact.tags` and lead-nurture's second-offer branch take both paths.
SYNTHETIC_TAGS: tuple[tuple[str, float], ...] = (
    ("newsletter", 0.6), ("engaged", 0.35), ("blog", 0.25), ("offer-converted", 0.4), ("power-user", 0.1),
)


def synthetic_tags(rng: random.Random) -> list[str]:
    return sorted(tag for tag, share in SYNTHETIC_TAGS if rng.random() < share)


def _contact(rng: random.Random, index: int) -> Facts:
    orders = rng.choice([0, 0, 1, 2, 5])
    data = {"id": index, "email": f"sim{index}@example.com", "first_name": "Sim", "lead_score": rng.randint(0, 100),
            "engagement_score": rng.randint(0, 100), "orders_count": orders, "total_spent": orders * 60.0,
            "tags": synthetic_tags(rng), "attributes": {"industry": rng.choice(["retail", "health", "logistics"])},
            "unsubscribed": False, "consent": "subscribed", "lifecycle_stage": "subscriber", "loyalty_points": 0}
    suppressed = rng.random() < 0.01
    return Facts(data=data, timezone=rng.choice(ZONES), marketable=not suppressed,
                 why_not_marketable="suppressed (hard bounce)" if suppressed else "",
                 best_send_hour=rng.choice([8, 10, 12, 18, 20]))


def private_copy(facts: Facts) -> Facts:
    """A run's own copy: `update` steps change tags and score, which must not leak into the caller's
    recorded contacts; the send history starts empty because the virtual clock has its own."""
    data = {**facts.data, "tags": list(facts.data.get("tags") or [])}
    return Facts(**{**facts.__dict__, "data": data, "recent_marketing_sends": ()})


class Simulation:
    def __init__(self, spec: JourneySpec, program: Program, contacts: int, days: int, seed: int,
                 rates: Rates = Rates(), recorded: Sequence[Facts] | None = None) -> None:
        """With `recorded`, those contacts enter (one each, `contacts` is ignored) instead of synthetic ones."""
        self.spec, self.program, self.rates = spec, program, rates
        self.recorded = list(recorded) if recorded is not None else None
        contacts = len(self.recorded) if self.recorded is not None else contacts
        self.rng = random.Random(seed)
        self.end = START + dt.timedelta(days=days)
        self.result = SimResult(spec.key, contacts, days)
        self.queue: list[tuple[dt.datetime, int, int, str, dict[str, Any]]] = []
        self.runs: dict[int, _Run] = {}
        self._tie = 0
        for index in range(contacts):
            at = START + dt.timedelta(seconds=self.rng.uniform(0, days * 86400 / 3))
            self._push(at, index, "enter", {})

    def _push(self, at: dt.datetime, index: int, kind: str, data: dict[str, Any]) -> None:
        if at <= self.end:
            self._tie += 1
            heapq.heappush(self.queue, (at, self._tie, index, kind, data))

    def run(self, progress: Callable[[int], None] = lambda _: None) -> SimResult:
        handled = 0
        while self.queue:
            at, _, index, kind, data = heapq.heappop(self.queue)
            self._handle(at, index, kind, data)
            handled += 1
            if handled % 1000 == 0:
                progress(handled)
        self.result.in_flight = sum(1 for r in self.runs.values() if not r.done)
        return self.result

    def _handle(self, at: dt.datetime, index: int, kind: str, data: dict[str, Any]) -> None:
        if kind == "enter":
            event = trigger_event(self.spec, self.rng, at)
            self.runs[index] = _Run(State(node=self.program.start, context={"event": event}),
                                    self._facts(index))
            self.result.entered += 1
            self._step(at, index)
            return
        run = self.runs[index]
        if kind == "event" and data.get("step"):
            self._engaged(at, run, data)  # attribution does not care whether the run is still going
        if run.done:
            return
        if kind == "step" and data.get("seq") == id(run.state):
            self._step(at, index)
        elif kind == "event":
            self._event(at, index, data)
        elif kind == "decision":
            self._apply(at, index, resume_on_decision(self.program, run.state, data["decision"], "USIM"))
        elif kind == "respond" and run.state.waiting == "event" and run.state.node == data["node"]:
            node = self.program.node(data["node"])
            self._apply(at, index, Outcome(node.id, node.kind, node.exits["event"], "active",
                                           f"{node.step.wait_for.event} arrived (simulated response)"))

    def _facts(self, index: int) -> Facts:
        if self.recorded is None:
            return _contact(self.rng, index)
        return private_copy(self.recorded[index])

    def _step(self, at: dt.datetime, index: int) -> None:
        run = self.runs[index]
        run.facts = Facts(**{**run.facts.__dict__, "recent_marketing_sends": tuple(run.sends[-3:])})
        rand = self.rng.random()
        self._apply(at, index, decide(self.program, self.spec, run.state, run.facts, at, rand))

    def _event(self, at: dt.datetime, index: int, event: dict[str, Any]) -> None:
        run = self.runs[index]
        if goal_reached(self.spec, run.state, event, run.facts):
            self._finish(run, "converted")
            self.result.converted += 1
            if run.state.variant:
                self.result.arm_conversions[run.state.variant] += 1
            return
        self._apply(at, index, exit_on_event(self.spec, run.state, event)
                    or resume_on_event(self.program, run.state, event, run.facts))

    def _apply(self, at: dt.datetime, index: int, outcome: Outcome | None) -> None:
        if outcome is None:
            return
        run = self.runs[index]
        if outcome.node and not outcome.deferred and outcome.node not in run.seen:
            run.seen.add(outcome.node)  # a wait_for runs twice (park, then resume): count it once
            self.result.reached[outcome.node] += 1
        for action in outcome.actions:
            self._act(at, index, action.kind, action.params, outcome.node or "")
        if outcome.variant:
            self.result.arms[outcome.variant] += 1
        waiting = outcome.waiting if outcome.status == "waiting" and not outcome.deferred else None
        run.state = State(node=outcome.next_node, waiting=waiting, deadline=outcome.deadline,
                          context=run.state.context, variant=outcome.variant or run.state.variant)
        if outcome.status in ("completed", "exited"):
            self._finish(run, outcome.exit_reason or "completed")
            return
        if waiting == "event" and outcome.wait_event not in MODELLED_EVENTS and outcome.deadline \
                and self.rng.random() < self.rates.respond:
            delay = self.rng.uniform(0, (outcome.deadline - at).total_seconds())
            self._push(at + dt.timedelta(seconds=delay), index, "respond", {"node": outcome.node})
        self._push(outcome.run_at or at, index, "step", {"seq": id(run.state)})

    def _finish(self, run: _Run, reason: str) -> None:
        run.done = True
        if reason == "completed":
            self.result.completed += 1
        elif reason != "converted":
            self.result.exits[reason] += 1

    def _act(self, at: dt.datetime, index: int, kind: str, params: dict[str, Any], node: str) -> None:
        if kind == "send_email":
            self._email(at, index, params["template"], node)
        elif kind in ("create_task", "request_approval"):
            self.result.tasks += 1
            if kind == "request_approval":
                decision = "approved" if self.rng.random() < self.rates.approve else "rejected"
                self._push(at + dt.timedelta(hours=self.rng.uniform(0.5, 30)), index, "decision",
                           {"decision": decision})
        elif kind == "update_contact":
            data = self.runs[index].facts.data
            data["lead_score"] = data.get("lead_score", 0) + int(params.get("score", 0))
            data["tags"] = sorted(set(data.get("tags", [])) | set(params.get("add_tags", [])))

    def _email(self, at: dt.datetime, index: int, template: str, node: str) -> None:
        self.result.emails += 1
        self.result.emails_by_template[template] += 1
        self.result.sent[node] += 1
        self.runs[index].sends.append(at)
        rates, rng = self.rates, self.rng
        opened = rng.random() < rates.open
        clicked = opened and rng.random() < rates.click
        if opened:
            self._push(at + dt.timedelta(hours=rng.uniform(0.2, 20)), index, "event",
                       {"type": "email.opened", "step": node})
        if clicked:
            self._push(at + dt.timedelta(hours=rng.uniform(0.3, 22)), index, "event",
                       {"type": "email.clicked", "step": node})
        if rng.random() < (rates.purchase_after_click if clicked else rates.purchase):
            self._push(at + dt.timedelta(hours=rng.uniform(1, 72)), index, "event",
                       {"type": "order.created", "step": node})

    def _engaged(self, at: dt.datetime, run: _Run, event: dict[str, Any]) -> None:
        """Per-email counts, and the order attributed as `journeys stats` would (journeys/attribution.py)."""
        kind = event["type"]
        if kind in TOUCHES:
            run.touches.append(Touch(TOUCHES[kind], at, event["step"]))
            (self.result.clicked if kind == "email.clicked" else self.result.opened)[event["step"]] += 1
        elif kind == "order.created" and (touch := chosen_touch(run.touches, at, WINDOWS)) is not None:
            self.result.orders[touch.ref] += 1
            if run.state.variant:
                self.result.arm_orders[run.state.variant] += 1


def simulate(spec: JourneySpec, program: Program, contacts: int, days: int, seed: int = 1,
             progress: Callable[[int], None] = lambda _: None,
             recorded: Sequence[Facts] | None = None) -> SimResult:
    return Simulation(spec, program, contacts, days, seed, recorded=recorded).run(progress)
