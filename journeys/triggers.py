"""Who enters which journey, and what an incoming event does to running enrollments."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from contacts.models import Contact, Event
from contacts.view import contact_view
from core.expressions import evaluate
from core.queue import enqueue_many
from core.services import Services
from journeys.durations import parse_duration
from journeys.engine import (
    Facts,
    Outcome,
    State,
    entry_bucket,
    event_matches,
    exit_on_event,
    exit_outcome,
    goal_reached,
    resume_on_event,
)
from journeys.facts import gather_facts
from journeys.models import Enrollment, EnrollmentState, Journey, JourneyVersion
from journeys.runner import advance, state_of, trace
from journeys.spec import JourneySpec
from journeys.store import IN_FLIGHT, Loaded, live_plans, loaded

log = logging.getLogger(__name__)
RUN_STEPS = "run_steps"


def event_dict(event: Event) -> dict[str, Any]:
    return {"id": event.id, "type": event.type, "properties": event.properties, "object_key": event.object_key,
            "occurred_at": event.occurred_at.isoformat(), "source": event.source}


async def enqueue_step(services: Services, enrollment_id: int, seq: int) -> None:
    # Through the atomic script: arq's enqueue_job drops a job without a word if its connection dies.
    await enqueue_many(services.redis, [(RUN_STEPS, {"steps": [[enrollment_id, seq]]}, f"step:{enrollment_id}:{seq}")])


async def _recently_entered(journey: Journey, contact: Contact, spec: JourneySpec, object_key: str,
                            now: dt.datetime) -> bool:
    if spec.entry.policy != "once_per" or not spec.entry.period:
        return False

    since = now - parse_duration(spec.entry.period)
    return await Enrollment.exists(journey=journey, contact=contact, object_key=object_key, entered_at__gt=since,
                                   is_test=False)


async def _blocking_exclusive(contact: Contact, journey: Journey) -> Enrollment | None:
    return await Enrollment.filter(
        contact=contact, state__in=IN_FLIGHT, journey__exclusive=True, journey__priority__gt=journey.priority,
    ).first()


async def enroll(
    services: Services, journey: Journey, version: JourneyVersion, contact: Contact, *,
    reason: str, event: dict[str, Any] | None = None, is_test: bool = False,
) -> Enrollment | None:
    """Start a run if the entry policy allows; returns None when the contact may not enter now."""
    now = services.clock.now()
    plan = loaded(version)
    object_key = str((event or {}).get("object_key", "")) if plan.spec.trigger.keyed else ""
    if not is_test and await _recently_entered(journey, contact, plan.spec, object_key, now):
        return None
    bucket = f"test:{uuid.uuid4().hex}" if is_test else entry_bucket(
        plan.spec, now, object_key, str((event or {}).get("id", uuid.uuid4().hex)))
    blocker = await _blocking_exclusive(contact, journey)
    try:
        async with in_transaction():
            enrollment = await Enrollment.create(
                contact=contact, journey=journey, version=version, entry_key=f"{journey.id}:{contact.id}:"
                f"{object_key}:{bucket}", object_key=object_key, cursor=plan.program.start or "",
                state=EnrollmentState.PAUSED if blocker else EnrollmentState.ACTIVE, next_run_at=now,
                context={"event": event or {}}, is_test=is_test, entered_at=now,
                paused_by=blocker.id if blocker else None,
            )
            if journey.exclusive:
                await _pause_lower(contact, journey, enrollment)
            await trace(contact.id, enrollment, journey.key, now, "entered", f"entered {journey.key} because {reason}"
                        + (f"; paused behind exclusive enrollment {blocker.id}" if blocker else ""))
    except IntegrityError:
        return None  # the entry policy's key says this contact already entered
    if not blocker:
        await enqueue_step(services, enrollment.id, 0)
    return enrollment


async def _pause_lower(contact: Contact, journey: Journey, enrollment: Enrollment) -> None:
    await Enrollment.filter(
        contact=contact, state__in=(EnrollmentState.ACTIVE, EnrollmentState.WAITING),
        journey__priority__lt=journey.priority,
    ).exclude(id=enrollment.id).update(
        state=EnrollmentState.PAUSED, paused_by=enrollment.id, seq=F("seq") + 1)


async def _react(services: Services, enrollment: Enrollment, contact: Contact, event: dict[str, Any],
                 now: dt.datetime) -> None:
    version = await JourneyVersion.get(id=enrollment.version_id).prefetch_related("journey")
    plan = loaded(version)
    # Reacting decides goals, exits and resumes, never a send (the step that sends gathers its own).
    facts = await gather_facts(services.settings.secret_key, contact, now, services.workspace.consent.policy,
                               services.workspace.sending)
    state = state_of(enrollment)
    outcome: Outcome | None = None
    if goal_reached(plan.spec, state, event, facts):
        outcome = Outcome(state.node, "goal", None, "exited", f"converted: {event['type']} reached the goal",
                          exit_reason="converted")
        services.metrics.journey_conversions.labels(version.journey.key).inc()
    else:  # e.g. an unsubscribe leaves a 30-day wait now, not when the wait ends
        outcome = exit_on_event(plan.spec, state, event) or exit_outcome(plan.spec, state, facts, now)
    if outcome is None and enrollment.state != EnrollmentState.PAUSED:
        outcome = resume_on_event(plan.program, state, event, facts)
    if outcome is None:
        return
    # Exits release what an exclusive enrollment paused inside the commit (journeys/commit.py).
    if await advance(services, enrollment, contact, version.journey.key, outcome, now) and outcome.status == "active":
        await enqueue_step(services, enrollment.id, enrollment.seq + 1)


def _enters(plan: Loaded, event: dict[str, Any], facts_data: dict[str, Any]) -> str | None:
    trigger = plan.spec.trigger
    if trigger.event and event_matches(trigger.event, trigger.where, False, State(node=None), event,
                                       _facts(facts_data)):
        return f"{event['type']} arrived" + (f" and `{trigger.where}` held" if trigger.where else "")
    if trigger.segment and evaluate(trigger.segment, {"contact": facts_data, "event": event})[0]:
        return f"the contact entered segment `{trigger.segment}`"
    return None


def _facts(data: dict[str, Any]) -> Any:

    return Facts(data=data)


async def in_flight_by_contact(contact_ids: list[int]) -> dict[int, list[Enrollment]]:
    """The enrollments in flight of each contact, in one query."""
    found: dict[int, list[Enrollment]] = {contact_id: [] for contact_id in contact_ids}
    for enrollment in await Enrollment.filter(contact_id__in=contact_ids, state__in=IN_FLIGHT).order_by("id"):
        found[enrollment.contact_id].append(enrollment)
    return found


async def on_event(services: Services, contact: Contact, event: Event,
                   plans: list[tuple[Journey, JourneyVersion, Loaded]] | None = None,
                   in_flight: list[Enrollment] | None = None) -> None:
    """Goals, wait_for and triggers: every applied event passes through here once. `plans`: the live
    journeys, `in_flight`: the contact's enrollments in flight, when the caller read them already
    (one read for a whole batch of events)."""
    now = services.clock.now()
    data = event_dict(event)
    if in_flight is None:
        in_flight = await Enrollment.filter(contact=contact, state__in=IN_FLIGHT).order_by("id")
    for enrollment in in_flight:
        await _react(services, enrollment, contact, data, now)  # hands the committed contact back
    view = contact_view(contact)  # triggers look at the contact only: no send history needed
    for journey, version, plan in plans if plans is not None else await live_plans():
        reason = _enters(plan, data, view)
        if reason:
            await enroll(services, journey, version, contact, reason=reason, event=data)
