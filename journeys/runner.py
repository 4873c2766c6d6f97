"""Runs enrollments: each step commits with compare-and-set on `seq`, so it happens once.

A job may be delivered twice, a worker may die mid-step, two workers may claim the same
timer: the CAS update (`WHERE id = ? AND seq = ?`) lets exactly one of them commit, and
every row a step creates is keyed by (enrollment, seq). Jobs for outside effects are
enqueued only after the commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

from tortoise.transactions import in_transaction

from contacts.models import Contact
from journeys.effects import StepEffects, StepScope, apply_actions
from journeys.engine import Outcome, State, decide
from journeys.facts import gather_facts
from journeys.models import Enrollment, EnrollmentState, Journey, JourneyStatus, JourneyVersion, StepRun, TraceEntry
from journeys.store import loaded
from nurture.bootstrap import Services

log = logging.getLogger(__name__)
MAX_NODES_PER_JOB = 50
RUNNABLE = (EnrollmentState.ACTIVE, EnrollmentState.WAITING)


def state_of(enrollment: Enrollment) -> State:
    return State(
        node=enrollment.cursor or None, waiting=enrollment.context.get("_waiting"),
        deadline=enrollment.wait_deadline, context=enrollment.context, variant=enrollment.variant,
        object_key=enrollment.object_key,
    )


def split_random(enrollment_id: int, node: str) -> float:
    """Reproducible per enrollment and node: a retried split picks the same arm."""
    digest = hashlib.sha256(f"{enrollment_id}:{node}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


async def trace(contact_id: int, enrollment: Enrollment | None, journey_key: str, at: dt.datetime,
                kind: str, message: str, **data: Any) -> None:
    await TraceEntry.create(contact_id=contact_id, enrollment_id_ref=enrollment.id if enrollment else None,
                            journey_key=journey_key, at=at, kind=kind, message=message, data=data)


def _fields_after(enrollment: Enrollment, outcome: Outcome, now: dt.datetime,
                  effects: StepEffects) -> dict[str, Any]:
    context = {**enrollment.context, **effects.context_updates}
    context.pop("_waiting", None)
    if outcome.status == "waiting" and outcome.waiting and not outcome.deferred:
        context["_waiting"] = outcome.waiting
    finished = outcome.status in ("completed", "exited")
    state = {"active": EnrollmentState.ACTIVE, "waiting": EnrollmentState.WAITING,
             "completed": EnrollmentState.COMPLETED, "exited": EnrollmentState.EXITED}[outcome.status]
    return {
        "seq": enrollment.seq + 1, "cursor": outcome.next_node or "", "state": state, "context": context,
        "next_run_at": None if finished else (outcome.run_at or now),
        "wait_event": outcome.wait_event if outcome.waiting and not outcome.deferred else None,
        "wait_deadline": outcome.deadline, "variant": outcome.variant or enrollment.variant,
        "finished_at": now if finished else None,
        "exit_reason": outcome.exit_reason or ("completed" if outcome.status == "completed" else ""),
    }


async def commit_outcome(
    services: Services, enrollment: Enrollment, contact: Contact, journey_key: str, outcome: Outcome,
    now: dt.datetime,
) -> bool:
    """Apply one decision atomically; False when another run already advanced this enrollment."""
    effects = StepEffects()
    scope = StepScope(enrollment, contact, journey_key, enrollment.seq, now)
    async with in_transaction():
        await apply_actions(scope, outcome.actions, effects)
        fields = _fields_after(enrollment, outcome, now, effects)
        changed = await Enrollment.filter(id=enrollment.id, seq=enrollment.seq).update(**fields)
        if not changed:
            raise _Lost
        await contact.save()
        await StepRun.create(enrollment_id=enrollment.id, seq=enrollment.seq, step_id=outcome.node or "(end)",
                             kind=outcome.kind, outcome=outcome.status, variant=outcome.variant or "",
                             started_at=now, finished_at=now)
        message = "; ".join([outcome.trace, *effects.notes])
        await trace(contact.id, enrollment, journey_key, now, outcome.kind, message, step=outcome.node)
    await enqueue_jobs(services, effects)
    return True


class _Lost(Exception):
    """The CAS update matched nothing: roll the step back."""


async def enqueue_jobs(services: Services, effects: StepEffects) -> None:
    for name, kwargs, job_id in effects.jobs:
        await services.redis.enqueue_job(name, _job_id=job_id, **kwargs)


async def advance(services: Services, enrollment: Enrollment, contact: Contact, journey_key: str,
                  outcome: Outcome, now: dt.datetime) -> bool:
    try:
        return await commit_outcome(services, enrollment, contact, journey_key, outcome, now)
    except _Lost:
        return False


async def _journey_allows(enrollment: Enrollment) -> bool:
    if enrollment.is_test:
        return True
    return await Journey.exists(id=enrollment.journey_id, status=JourneyStatus.LIVE)


async def run_step(services: Services, enrollment_id: int, seq: int) -> int:
    """Run due nodes of one enrollment, starting at `seq`; returns how many committed."""
    ran = 0
    while ran < MAX_NODES_PER_JOB:
        enrollment = await Enrollment.get_or_none(id=enrollment_id)
        now = services.clock.now()
        if enrollment is None or enrollment.seq != seq or enrollment.state not in RUNNABLE:
            break
        # No "is it due" check: jobs are only enqueued for due timers, and a stale job for an
        # old seq is already a no-op through the seq comparison above.
        if not await _journey_allows(enrollment):
            break
        version = await JourneyVersion.get(id=enrollment.version_id).prefetch_related("journey")
        contact = await Contact.get(id=enrollment.contact_id)
        plan = loaded(version)
        facts = await gather_facts(services.settings.secret_key, contact, now)
        outcome = decide(plan.program, plan.spec, state_of(enrollment), facts, now,
                         split_random(enrollment.id, enrollment.cursor))
        if not await advance(services, enrollment, contact, version.journey.key, outcome, now):
            break
        ran, seq = ran + 1, seq + 1
        if outcome.status != "active":
            if outcome.status in ("completed", "exited"):
                await resume_paused_by(services, enrollment.id, now)
            break
    return ran


async def resume_paused_by(services: Services, enrollment_id: int, now: dt.datetime) -> None:
    """An exclusive journey finished: the journeys it paused for this contact go on."""
    await Enrollment.filter(paused_by=enrollment_id, state=EnrollmentState.PAUSED).update(
        state=EnrollmentState.WAITING, paused_by=None
    )
