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
import time
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from contacts.models import Contact
from journeys.effects import StepEffects, StepScope, apply_actions
from journeys.engine import Facts, Outcome, State, decide, settle
from journeys.facts import contact_view, gather_facts
from journeys.models import (
    Enrollment,
    EnrollmentState,
    Journey,
    JourneyStatus,
    JourneyVersion,
    PendingJob,
    StepRun,
    TraceEntry,
)
from journeys.store import loaded
from nurture.bootstrap import Services
from nurture.queue import enqueue_many

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
) -> dict[str, Any]:
    """Apply one decision atomically; raises _Lost when another run already advanced this enrollment."""
    effects = StepEffects()
    scope = StepScope(enrollment, contact, journey_key, enrollment.seq, now)
    async with in_transaction():
        await apply_actions(scope, outcome.actions, effects)
        fields = _fields_after(enrollment, outcome, now, effects)
        changed = await Enrollment.filter(id=enrollment.id, seq=enrollment.seq).update(**fields)
        if not changed:
            raise _Lost
        if effects.contact_changed:
            await contact.save()
        await StepRun.create(enrollment_id=enrollment.id, seq=enrollment.seq, step_id=outcome.node or "(end)",
                             kind=outcome.kind, outcome=outcome.status, variant=outcome.variant or "",
                             started_at=now, finished_at=now)
        message = "; ".join([outcome.trace, *effects.notes])
        await trace(contact.id, enrollment, journey_key, now, outcome.kind, message, step=outcome.node)
        await record_jobs(effects)
    await dispatch_jobs(services, [job_id for _, _, job_id in effects.jobs], effects.jobs)
    return fields


class _Lost(Exception):
    """The CAS update matched nothing: roll the step back."""


async def record_jobs(effects: StepEffects) -> None:
    if effects.jobs:
        await PendingJob.bulk_create(
            [PendingJob(job_id=job_id, name=name, kwargs=kwargs) for name, kwargs, job_id in effects.jobs],
            ignore_conflicts=True,
        )


async def dispatch_jobs(services: Services, job_ids: list[str], jobs: list[tuple[str, dict[str, Any], str]]) -> None:
    """Enqueue committed jobs, then forget them; a crash in between leaves them to the sweeper."""
    if not jobs:
        return
    await enqueue_many(services.redis, jobs)
    await PendingJob.filter(job_id__in=job_ids).delete()


async def sweep_pending_jobs(services: Services, older_than: dt.timedelta) -> int:
    cutoff = dt.datetime.now(dt.UTC) - older_than
    rows = await PendingJob.filter(created_at__lt=cutoff).order_by("id").limit(1000)
    await dispatch_jobs(services, [r.job_id for r in rows], [(r.name, r.kwargs, r.job_id) for r in rows])
    return len(rows)


async def advance(services: Services, enrollment: Enrollment, contact: Contact, journey_key: str,
                  outcome: Outcome, now: dt.datetime) -> dict[str, Any] | None:
    """Commit one outcome; returns the enrollment's new field values, or None when another run won."""
    outcome = settle(outcome)
    try:
        return await commit_outcome(services, enrollment, contact, journey_key, outcome, now)
    except _Lost:
        return None


@dataclass(frozen=True)
class JourneyInfo:
    key: str
    live: bool
    exclusive: bool


# Journey status changes (pause/resume) take effect within this long on every worker.
INFO_TTL = 1.0
_info_cache: dict[int, tuple[float, JourneyInfo]] = {}


async def journey_info(journey_id: int) -> JourneyInfo:
    cached = _info_cache.get(journey_id)
    if cached and time.monotonic() - cached[0] < INFO_TTL:
        return cached[1]
    journey = await Journey.get(id=journey_id)
    info = JourneyInfo(journey.key, journey.status == JourneyStatus.LIVE, journey.exclusive)
    _info_cache[journey_id] = (time.monotonic(), info)
    return info


_versions: dict[int, JourneyVersion] = {}


async def version_by_id(version_id: int) -> JourneyVersion:
    """Versions never change once written, so each is read once per process."""
    if version_id not in _versions:
        _versions[version_id] = await JourneyVersion.get(id=version_id)
    return _versions[version_id]


def clear_caches() -> None:
    """For when the database is reset under a running process (tests): ids may be reused."""
    _info_cache.clear()
    _versions.clear()


async def facts_for(services: Services, node_kind: str | None, contact: Contact, now: dt.datetime) -> Facts:
    # Only email steps need consent, suppression and send history: other steps skip those queries.
    if node_kind == "email":
        return await gather_facts(services.settings.secret_key, contact, now)
    return Facts(data=contact_view(contact), timezone=contact.timezone, best_send_hour=contact.best_send_hour)


def _apply_fields(enrollment: Enrollment, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(enrollment, name, value)


async def run_step(services: Services, enrollment_id: int, seq: int) -> int:
    """Run due nodes of one enrollment, starting at `seq`; returns how many committed."""
    enrollment = await Enrollment.filter(id=enrollment_id).select_related("contact").first()
    # No "is it due" check: jobs are only enqueued for due timers, and a stale job for an
    # old seq is a no-op through the seq comparison.
    if enrollment is None or enrollment.seq != seq:
        return 0
    info = await journey_info(enrollment.journey_id)
    plan = loaded(await version_by_id(enrollment.version_id))
    contact: Contact = enrollment.contact
    ran = 0
    while ran < MAX_NODES_PER_JOB and enrollment.state in RUNNABLE and (info.live or enrollment.is_test):
        now = services.clock.now()
        node = plan.program.nodes.get(enrollment.cursor)
        facts = await facts_for(services, node.kind if node else None, contact, now)
        outcome = decide(plan.program, plan.spec, state_of(enrollment), facts, now,
                         split_random(enrollment.id, enrollment.cursor))
        outcome = settle(outcome)
        fields = await advance(services, enrollment, contact, info.key, outcome, now)
        if fields is None:
            break
        _apply_fields(enrollment, fields)
        ran += 1
        if outcome.status in ("completed", "exited") and info.exclusive:
            await resume_paused_by(services, enrollment.id, now)
        if outcome.status != "active":
            break
    return ran


async def resume_paused_by(services: Services, enrollment_id: int, now: dt.datetime) -> None:
    """An exclusive journey finished: the journeys it paused for this contact go on."""
    await Enrollment.filter(paused_by=enrollment_id, state=EnrollmentState.PAUSED).update(
        state=EnrollmentState.WAITING, paused_by=None
    )
