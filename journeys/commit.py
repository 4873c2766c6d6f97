"""Commit decided steps: each happens at most once, many share one transaction.

A job may be delivered twice, a worker may die mid-step, two workers may claim the same
timer: each step commits with compare-and-set on the enrollment's `seq`, so exactly one
of them wins, and every row a step creates is keyed by (enrollment, seq). Jobs for outside
effects are recorded in the same transaction and enqueued only after the commit.

Steps due together commit together: the enrollments are locked (in id order, so two
batches never deadlock), the ones whose `seq` moved on are dropped, the contacts are
re-read under lock so a step's tag or score change never overwrites a concurrent
webhook's, and the whole batch pays one commit. If anything in a batch fails, it is rolled
back and its steps are committed one by one, so one bad step cannot hold up the others.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from contacts.models import Contact
from contacts.rows import write_all
from core.queue import enqueue_many
from core.services import Services
from journeys.effects import StepEffects, StepScope, apply_actions
from journeys.engine import Outcome
from journeys.models import Enrollment, EnrollmentState, PendingJob, StepRun, TraceEntry
from journeys.store import release_paused

log = logging.getLogger(__name__)
Job = tuple[str, dict[str, Any], str]
STATES = {"active": EnrollmentState.ACTIVE, "waiting": EnrollmentState.WAITING,
          "completed": EnrollmentState.COMPLETED, "exited": EnrollmentState.EXITED}


@dataclass
class Step:
    """One enrollment's decided move, and after commit the enrollment's new field values."""

    enrollment: Enrollment
    contact: Contact
    journey_key: str
    outcome: Outcome
    fields: dict[str, Any] | None = None


class LostRace(Exception):
    """A CAS update matched nothing although its row was locked: roll the batch back."""


def fields_after(enrollment: Enrollment, outcome: Outcome, now: dt.datetime, effects: StepEffects) -> dict[str, Any]:
    context = {**enrollment.context, **effects.context_updates}
    context.pop("_waiting", None)
    if outcome.status == "waiting" and outcome.waiting and not outcome.deferred:
        context["_waiting"] = outcome.waiting
    finished = outcome.status in ("completed", "exited")
    return {
        "seq": enrollment.seq + 1, "cursor": outcome.next_node or "", "state": STATES[outcome.status],
        "context": context, "next_run_at": None if finished else (outcome.run_at or now),
        "wait_event": outcome.wait_event if outcome.waiting and not outcome.deferred else None,
        "wait_deadline": outcome.deadline, "variant": outcome.variant or enrollment.variant,
        "finished_at": now if finished else None,
        "exit_reason": outcome.exit_reason or ("completed" if outcome.status == "completed" else ""),
    }


def trace_row(contact_id: int, enrollment_id: int | None, journey_key: str, at: dt.datetime, kind: str,
              message: str, **data: Any) -> TraceEntry:
    return TraceEntry(contact_id=contact_id, enrollment_id_ref=enrollment_id, journey_key=journey_key, at=at,
                      kind=kind, message=message, data=data)


async def commit_steps(services: Services, steps: list[Step], now: dt.datetime) -> list[Step]:
    """Commit what can be; returns the steps that won (their `fields` set), in the given order."""
    if not steps:
        return []
    try:
        won, jobs = await _commit_batch(steps, now)
    except LostRace:
        if len(steps) == 1:
            return []
        return await _commit_singly(services, steps, now)
    except Exception:
        if len(steps) == 1:
            raise
        log.warning("a batch of %d steps failed; committing them one by one", len(steps), exc_info=True)
        return await _commit_singly(services, steps, now)
    await dispatch_jobs(services, jobs)
    return won


async def _commit_singly(services: Services, steps: list[Step], now: dt.datetime) -> list[Step]:
    won: list[Step] = []
    for step in steps:
        try:
            won += await commit_steps(services, [step], now)
        except Exception:  # its lease runs out and the scheduler tries it again
            log.exception("step of enrollment %s failed", step.enrollment.id)
    return won


async def _commit_batch(steps: list[Step], now: dt.datetime) -> tuple[list[Step], list[Job]]:
    async with in_transaction():
        won = await _still_current(steps)
        fresh = await _locked_contacts({s.contact.id for s in won if s.outcome.actions})
        runs, traces, jobs, changed = [], [], [], set()
        for step in won:
            contact = fresh.get(step.contact.id, step.contact)
            effects = StepEffects()
            scope = StepScope(step.enrollment, contact, step.journey_key, step.enrollment.seq, now,
                              step.outcome.node or "")
            await apply_actions(scope, step.outcome.actions, effects)
            step.fields = fields_after(step.enrollment, step.outcome, now, effects)
            runs.append(_step_run(step, now))
            traces.append(trace_row(contact.id, step.enrollment.id, step.journey_key, now, step.outcome.kind,
                                    "; ".join([step.outcome.trace, *effects.notes]), step=step.outcome.node))
            jobs += effects.jobs
            if effects.contact_changed:
                changed.add(contact.id)
        await _advance(won)
        await write_all([fresh[contact_id] for contact_id in sorted(changed)])
        await release_paused([s.enrollment.id for s in won if s.outcome.status in ("completed", "exited")])
        await StepRun.bulk_create(runs)
        await TraceEntry.bulk_create(traces)
        await record_jobs(jobs)
    _hand_back(won, fresh)
    return won, jobs


async def _advance(won: list[Step]) -> None:
    """Move every won step's enrollment on by one prepared UPDATE for the round, then check that
    each is at its new `seq` (one read). `_still_current` locked the rows at the decided `seq`, so
    no other writer can have moved one in between: the check is a second guard, as the
    compare-and-set of a single step was."""
    if not won:
        return
    rows = []
    for step in won:
        row = copy.copy(step.enrollment)  # the caller's object changes only once the round committed
        for name, value in (step.fields or {}).items():
            setattr(row, name, value)
        rows.append(row)
    await write_all(rows, tuple(won[0].fields or {}))
    moved = dict(await Enrollment.filter(id__in=[row.id for row in rows]).values_list("id", "seq"))
    for row in rows:
        if moved.get(row.id) != row.seq:
            raise LostRace(row.id)


async def _still_current(steps: list[Step]) -> list[Step]:
    """Lock the steps' enrollments; keep the steps whose enrollment is still at the decided `seq`."""
    ids = sorted({s.enrollment.id for s in steps})
    rows = await Enrollment.filter(id__in=ids).order_by("id").select_for_update().values_list("id", "seq")
    current = {int(row[0]): int(row[1]) for row in rows}
    return [s for s in steps if current.get(s.enrollment.id) == s.enrollment.seq]


async def _locked_contacts(ids: set[int]) -> dict[int, Contact]:
    if not ids:
        return {}
    return {c.id: c for c in await Contact.filter(id__in=sorted(ids)).order_by("id").select_for_update()}


def _step_run(step: Step, now: dt.datetime) -> StepRun:
    outcome = step.outcome
    return StepRun(enrollment_id=step.enrollment.id, seq=step.enrollment.seq, journey_ref=step.enrollment.journey_id,
                   step_id=outcome.node or "(end)",
                   kind=outcome.kind, outcome=outcome.status, variant=outcome.variant or "", started_at=now,
                   finished_at=now)


def _hand_back(won: list[Step], fresh: dict[int, Contact]) -> None:
    """Callers keep deciding on their own contact objects: give them the committed values."""
    names = list(Contact._meta.fields_db_projection)
    for step in won:
        source = fresh.get(step.contact.id)
        if source is not None and source is not step.contact:
            for name in names:
                setattr(step.contact, name, getattr(source, name))


async def record_jobs(jobs: list[Job]) -> None:
    if jobs:
        await PendingJob.bulk_create([PendingJob(job_id=job_id, name=name, kwargs=kwargs)
                                      for name, kwargs, job_id in jobs], ignore_conflicts=True)


async def dispatch_jobs(services: Services, jobs: list[Job]) -> None:
    """Enqueue committed jobs, then forget them; a crash in between leaves them to the sweeper."""
    if not jobs:
        return
    await enqueue_many(services.redis, jobs)
    await PendingJob.filter(job_id__in=[job_id for _, _, job_id in jobs]).delete()


async def sweep_pending_jobs(services: Services, older_than: dt.timedelta) -> int:
    cutoff = dt.datetime.now(dt.UTC) - older_than
    rows = await PendingJob.filter(created_at__lt=cutoff).order_by("id").limit(1000)
    await dispatch_jobs(services, [(r.name, r.kwargs, r.job_id) for r in rows])
    return len(rows)
