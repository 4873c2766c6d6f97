"""The journey engine: pure decisions from (enrollment state, journey, contact facts, now).

No I/O here. `decide` runs one node and says what should happen (actions for the job
layer to apply, where the cursor goes, when to continue, and why, in words);
`resume_on_event`, `resume_on_decision` and `goal_reached` react to the outside world.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.expressions import evaluate, value_of
from core.workspace import QuietWindow, SendingConfig
from journeys.durations import format_duration, parse_duration
from journeys.program import Node, Program
from journeys.spec import JourneySpec, QuietHours, WaitUntil


@dataclass(frozen=True)
class Facts:
    """What the engine may know about the contact when it decides."""

    data: dict[str, Any]
    timezone: str = "UTC"
    marketable: bool = True
    why_not_marketable: str = ""
    best_send_hour: int | None = None
    # Marketing sends that count toward this email's cap: manual ones and those of journeys with
    # the same or a higher priority (journeys/facts.py).
    recent_marketing_sends: tuple[dt.datetime, ...] = ()
    sending: SendingConfig = field(default_factory=SendingConfig)  # the cap, default quiet hours, blackouts
    higher_priority_due: bool = False  # another journey's step of higher priority is due for the contact now
    topics_off: frozenset[str] = frozenset()  # email topics the contact switched off (preferences page)
    # Splits whose `winner_after` rule has picked a winner: node id -> the arm everyone takes now.
    split_winners: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class State:
    node: str | None
    waiting: str | None = None  # "event" or "approval" while parked on a node
    deadline: dt.datetime | None = None
    context: dict[str, Any] = field(default_factory=dict)
    variant: str = ""
    object_key: str = ""


@dataclass(frozen=True)
class Action:
    kind: str  # send_email, update_contact, notify, create_task, request_approval, coupon, webhook, ...
    params: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    node: str | None
    kind: str
    next_node: str | None
    status: str  # active (continue now), waiting, completed, exited
    trace: str
    actions: tuple[Action, ...] = ()
    run_at: dt.datetime | None = None
    waiting: str | None = None
    wait_event: str | None = None
    deadline: dt.datetime | None = None
    variant: str | None = None
    exit_reason: str = ""
    deferred: bool = False


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def expression_context(state: State, facts: Facts, now: dt.datetime) -> dict[str, Any]:
    return {"contact": facts.data, "event": state.context.get("event", {}), "now": now,
            "coupon": state.context.get("coupon", {}), "variant": state.variant}


def _exit_condition(spec: JourneySpec, state: State, facts: Facts, now: dt.datetime) -> str | None:
    for expression in spec.exit_when:
        if evaluate(expression, expression_context(state, facts, now))[0]:
            return expression
    return None


def exit_outcome(spec: JourneySpec, state: State, facts: Facts, now: dt.datetime) -> Outcome | None:
    """The exit an `exit_when` condition calls for now, if any: checked at every step and every event."""
    condition = _exit_condition(spec, state, facts, now)
    if not condition:
        return None
    return Outcome(state.node, "exit", None, "exited", f"exited because `{condition}` became true",
                   exit_reason=f"exit_when: {condition}")


def decide(
    program: Program, spec: JourneySpec, state: State, facts: Facts, now: dt.datetime, rand: float = 0.5
) -> Outcome:
    """Run the node under the cursor (or finish). `rand` in [0, 1) drives splits reproducibly."""
    if state.node is None:
        return Outcome(None, "end", None, "completed", "completed: reached the end of the journey")
    exited = exit_outcome(spec, state, facts, now)
    if exited:
        return exited
    node = program.node(state.node)
    return DECIDERS[node.kind](node, spec, state, facts, now, rand)


def _next(node: Node, trace: str, **changes: Any) -> Outcome:
    return Outcome(node.id, node.kind, node.next, "active", trace, **changes)


# --- waiting -----------------------------------------------------------------------------------


def _local_at(day: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, at, tzinfo=tz).astimezone(dt.UTC)


def next_local_time(now: dt.datetime, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    local = now.astimezone(tz)
    candidate = _local_at(local.date(), at, tz)
    return candidate if candidate > now else _local_at(local.date() + dt.timedelta(days=1), at, tz)


def as_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    if isinstance(value, str) and value:
        try:
            return as_datetime(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _until(spec: WaitUntil, state: State, facts: Facts, now: dt.datetime) -> tuple[dt.datetime, str]:
    tz = zone(facts.timezone)
    if spec.best_hour:
        hour = facts.best_send_hour if facts.best_send_hour is not None else 10
        return next_local_time(now, dt.time(hour), tz), f"the contact's best send hour ({hour}:00 {tz.key})"
    base = as_datetime(value_of(spec.until, expression_context(state, facts, now))) if spec.until else now
    if base is None:
        return now, f"`{spec.until}` has no date: not waiting"
    target = base + parse_duration(spec.offset)
    if spec.at:
        target = _local_at(target.astimezone(tz).date(), dt.time.fromisoformat(spec.at), tz)
    return target, f"{target.isoformat()} (`{spec.until or 'now'}` {spec.offset})"


def _wait(node: Node, spec: JourneySpec, state: State, facts: Facts, now: dt.datetime, rand: float) -> Outcome:
    if isinstance(node.step.wait, str):
        until = now + parse_duration(node.step.wait)
        why = f"waited {node.step.wait}"
    else:
        until, what = _until(node.step.wait, state, facts, now)
        why = f"waited until {what}"
    if until <= now:
        return _next(node, f"{why}: already due")
    return Outcome(node.id, node.kind, node.next, "waiting", why, run_at=until)


def _wait_for(node: Node, spec: JourneySpec, state: State, facts: Facts, now: dt.datetime, rand: float) -> Outcome:
    wanted = node.step.wait_for
    if state.waiting == "event":
        # The deadline passed without the event: take the timeout path.
        return Outcome(node.id, node.kind, node.exits["timeout"], "active",
                       f"no {wanted.event} within {wanted.timeout}: took the timeout path")
    deadline = now + parse_duration(wanted.timeout)
    return Outcome(node.id, node.kind, node.id, "waiting", f"waiting up to {wanted.timeout} for {wanted.event}",
                   run_at=deadline, waiting="event", wait_event=wanted.event, deadline=deadline)


# --- email -------------------------------------------------------------------------------------


def in_quiet_hours(now: dt.datetime, quiet: QuietHours | QuietWindow, tz: ZoneInfo) -> dt.datetime | None:
    """When quiet hours end, if `now` falls inside them in the contact's timezone."""
    start, end = quiet.window()
    local = now.astimezone(tz).time()
    inside = (start <= local or local < end) if start > end else (start <= local < end)
    return next_local_time(now, end, tz) if inside else None


PRIORITY_PAUSE = dt.timedelta(minutes=1)
PRIORITY_WAIT = "waits for a higher-priority journey's step due now"  # the trace's words (counted in facts.py)


def _cap_frees_at(facts: Facts, now: dt.datetime) -> dt.datetime | None:
    window, count = facts.sending.cap_window, facts.sending.cap_count
    recent = sorted(t for t in facts.recent_marketing_sends if now - t < window)
    return recent[-count] + window if len(recent) >= count else None


def _blackout_ends(now: dt.datetime, days: frozenset[dt.date], tz: ZoneInfo) -> dt.datetime | None:
    """The same local time on the first day that is not a blackout date, if today (local) is one:
    deferred sends spread as they were, not all at midnight."""
    local = now.astimezone(tz)
    day = local.date()
    if day not in days:
        return None
    while day in days:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, local.time(), tzinfo=tz).astimezone(dt.UTC)


def _held_back(spec: JourneySpec, facts: Facts, now: dt.datetime, email: str) -> tuple[dt.datetime, str] | None:
    """Why a marketing email waits now (blackout date, quiet hours, the cap) and until when: it is
    deferred, never dropped; each check runs again when it comes due."""
    tz, sending = zone(facts.timezone), facts.sending
    if sending.blackout_dates and (ends := _blackout_ends(now, sending.blackout, tz)):
        return ends, f"{email} deferred by a blackout date to {ends.astimezone(tz):%Y-%m-%d %H:%M} {tz.key}"
    quiet = spec.quiet_hours or sending.quiet_hours
    if quiet and (quiet_end := in_quiet_hours(now, quiet, tz)):
        return quiet_end, f"{email} deferred by quiet hours to {quiet_end.astimezone(tz):%H:%M} {tz.key}"
    if facts.higher_priority_due:
        return now + PRIORITY_PAUSE, f"{email} {PRIORITY_WAIT}"
    if frees := _cap_frees_at(facts, now):
        hours = sending.cap_window.total_seconds() / 3600
        rule = f"{sending.cap_count}-per-{hours:g}h" if hours == int(hours) else \
            f"{sending.cap_count}-per-{format_duration(sending.cap_window)}"
        return frees, f"{email} capped by the {rule} rule until {frees:%Y-%m-%d %H:%M} UTC"
    return None


def _email(node: Node, spec: JourneySpec, state: State, facts: Facts, now: dt.datetime, rand: float) -> Outcome:
    step = node.step
    send = Action("send_email", {"template": step.email, "subject": step.subject or "", "sender": step.sender,
                                 "marketing": not step.transactional, "recommend": step.recommend,
                                 "locale": spec.locale or ""})
    if step.transactional:
        return _next(node, f"sent {step.email} (transactional)", actions=(send,))
    if not facts.marketable:
        return _next(node, f"skipped {step.email} because {facts.why_not_marketable}")
    topic = step.topic or spec.topic
    if topic and topic in facts.topics_off:
        return _next(node, f"skipped {step.email} because the contact switched off the {topic!r} topic")
    held = _held_back(spec, facts, now, step.email)
    if held is not None:
        return Outcome(node.id, node.kind, node.id, "waiting", held[1], deferred=True, run_at=held[0])
    return _next(node, f"sent {step.email}", actions=(send,))


# --- logic and effects -------------------------------------------------------------------------


def _branch(node: Node, spec: JourneySpec, state: State, facts: Facts, now: dt.datetime, rand: float) -> Outcome:
    expression = node.step.branch.if_
    context = expression_context(state, facts, now)
    truth, error = evaluate(expression, context)
    path = "then" if truth else "else"
    shown = value_of(expression.split(" ")[0], context) if not error else None
    detail = f" ({error})" if error else (f" (`{expression.split(' ')[0]}` was {shown!r})" if shown is not None else "")
    return Outcome(node.id, node.kind, node.exits[path], "active", f"branch took `{path}` because "
                   f"`{expression}` was {str(truth).lower()}{detail}")


def pick_arm(arms: list[Any], rand: float) -> Any:
    total = sum(arm.weight for arm in arms)
    point, running = rand * total, 0.0
    for arm in arms:
        running += arm.weight
        if point < running:
            return arm
    return arms[-1]


def _split(node: Node, spec: JourneySpec, state: State, facts: Facts, now: dt.datetime, rand: float) -> Outcome:
    winner = facts.split_winners.get(node.id)
    if winner is not None and f"arm:{winner}" in node.exits:
        return Outcome(node.id, node.kind, node.exits[f"arm:{winner}"], "active",
                       f"split: arm {winner} won, everyone takes it now", variant=winner)
    arm = pick_arm(node.step.split.arms, rand)
    return Outcome(node.id, node.kind, node.exits[f"arm:{arm.name}"], "active",
                   f"split assigned arm {arm.name}", variant=arm.name)


def _effect(kind: str, describe: Callable[[Any], tuple[dict[str, Any], str]]) -> Callable[..., Outcome]:
    def decider(node: Node, spec: JourneySpec, state: State, facts: Facts, now: dt.datetime, rand: float) -> Outcome:
        params, trace = describe(node.step)
        return _next(node, trace, actions=(Action(kind, params),))

    return decider


def _approval(node: Node, spec: JourneySpec, state: State, facts: Facts, now: dt.datetime, rand: float) -> Outcome:
    approval = node.step.approval
    if state.waiting == "approval":
        return Outcome(node.id, node.kind, node.exits["timeout"], "active",
                       f"nobody decided on {approval.email} within {approval.timeout}: took the timeout path")
    deadline = now + parse_duration(approval.timeout)
    request = Action("request_approval", {"email": approval.email, "to": approval.to,
                                          "remind_after": approval.remind_after})
    return Outcome(node.id, node.kind, node.id, "waiting", f"waiting for {approval.to} to approve {approval.email}",
                   actions=(request,), run_at=deadline, waiting="approval", wait_event="approval.decided",
                   deadline=deadline)


def _exit(node: Node, spec: JourneySpec, state: State, facts: Facts, now: dt.datetime, rand: float) -> Outcome:
    return Outcome(node.id, node.kind, None, "exited", f"exited: {node.step.exit}", exit_reason=node.step.exit)


DECIDERS: dict[str, Callable[..., Outcome]] = {
    "wait": _wait,
    "wait_for": _wait_for,
    "email": _email,
    "branch": _branch,
    "split": _split,
    "approval": _approval,
    "exit": _exit,
    "update": _effect("update_contact", lambda s: (s.update.model_dump(mode="json"), "updated the contact")),
    "slack_notify": _effect("notify", lambda s: (s.slack_notify.model_dump(), f"notified {s.slack_notify.to}")),
    "slack_task": _effect("create_task", lambda s: (s.slack_task.model_dump(),
                                                    f"created a {s.slack_task.kind} task for {s.slack_task.to}")),
    "coupon": _effect("coupon", lambda s: ({"pool": s.coupon}, f"assigned a coupon from {s.coupon}")),
    "webhook": _effect("webhook", lambda s: (s.webhook.model_dump(), f"called {s.webhook.url}")),
    "start_journey": _effect("start_journey", lambda s: ({"key": s.start_journey}, f"started {s.start_journey}")),
    "stop_journeys": _effect("stop_journeys", lambda s: ({"keys": s.stop_journeys},
                                                         f"stopped {', '.join(s.stop_journeys)}")),
}


# --- the outside world -------------------------------------------------------------------------


def event_matches(
    wanted_type: str | list[str], where: str | None, same_key: bool, state: State, event: dict[str, Any],
    facts: Facts,
) -> bool:
    wanted = [wanted_type] if isinstance(wanted_type, str) else wanted_type
    if event.get("type") not in wanted:
        return False
    if same_key and state.object_key and event.get("object_key") and event["object_key"] != state.object_key:
        return False
    if where:
        return evaluate(where, {"contact": facts.data, "event": event, "trigger": state.context.get("event", {})})[0]
    return True


def resume_on_event(program: Program, state: State, event: dict[str, Any], facts: Facts) -> Outcome | None:
    """A waiting `wait_for` whose event arrived continues on its event path."""
    if state.waiting != "event" or state.node is None:
        return None
    node = program.node(state.node)
    wanted = node.step.wait_for
    if not event_matches(wanted.event, wanted.where, wanted.same_key, state, event, facts):
        return None
    return Outcome(node.id, node.kind, node.exits["event"], "active", f"{wanted.event} arrived")


def resume_on_decision(
    program: Program, state: State, decision: str, decided_by: str, email: dict[str, Any] | None = None
) -> Outcome | None:
    """`email` carries what the approver set: subject, body (edited text), from_name, reply_to."""
    if state.waiting != "approval" or state.node is None:
        return None
    node = program.node(state.node)
    if decision == "approved":
        send = Action("send_email", {"template": node.step.approval.email, "subject": "", "sender": "approver",
                                     "marketing": False, "approved_by": decided_by, **(email or {})})
        return Outcome(node.id, node.kind, node.next, "active", f"{decided_by} approved {node.step.approval.email}",
                       actions=(send,))
    return Outcome(node.id, node.kind, node.exits["reject"], "active", f"{decided_by} rejected: {decision}")


def goal_reached(spec: JourneySpec, state: State, event: dict[str, Any], facts: Facts) -> bool:
    goal = spec.goal
    return goal is not None and event_matches(goal.event, goal.where, goal.same_key, state, event, facts)


def exit_on_event(spec: JourneySpec, state: State, event: dict[str, Any]) -> Outcome | None:
    """An `exit_on` event ends the run without counting as a conversion (a win-back's reader opening
    an email has re-engaged; only an order is the outcome the journey is for)."""
    if event.get("type") not in spec.exit_on:
        return None
    return Outcome(state.node, "exit", None, "exited", f"exited: {event['type']} arrived (exit_on)",
                   exit_reason=f"exit_on: {event['type']}")


def entry_bucket(spec: JourneySpec, now: dt.datetime, object_key: str, event_key: str) -> str:
    """The part of the entry key that encodes the entry policy (unique per allowed entry)."""
    policy = spec.entry.policy
    if policy == "every_time":
        return f"every:{event_key}"
    if policy == "once_per" and spec.entry.period:
        period = parse_duration(spec.entry.period).total_seconds()
        return f"per:{format_duration(parse_duration(spec.entry.period))}:{int(now.timestamp() // period)}"
    return "once"


def with_cursor(state: State, outcome: Outcome) -> State:
    """The state after applying an outcome (used by the simulator and tests)."""
    waiting = outcome.waiting if outcome.status == "waiting" and not outcome.deferred else None
    return replace(
        state, node=outcome.next_node, waiting=waiting, deadline=outcome.deadline,
        variant=outcome.variant if outcome.variant is not None else state.variant,
    )


def settle(outcome: Outcome) -> Outcome:
    """A step that moves past the last node completes the run in the same commit."""
    if outcome.status == "active" and outcome.next_node is None:
        return replace(outcome, status="completed", trace=f"{outcome.trace}; completed the journey",
                       exit_reason=outcome.exit_reason or "completed")
    return outcome
