"""Runs enrollments: decides each one's next node with the pure engine, then commits the
decisions of a whole batch together (journeys/commit.py: compare-and-set on `seq`, so
each step happens once).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from dataclasses import dataclass, replace
from typing import Any

from contacts.models import Contact
from contacts.view import contact_view
from core.services import Services
from journeys.commit import Step, commit_steps, trace_row
from journeys.engine import Facts, Outcome, State, decide, settle
from journeys.facts import SendHistory, gather_facts
from journeys.models import (
    Enrollment,
    EnrollmentState,
    Journey,
    JourneyStatus,
    JourneyVersion,
)
from journeys.outcomes import split_winner
from journeys.program import Node
from journeys.store import clear_plan_cache, loaded

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
    await trace_row(contact_id, enrollment.id if enrollment else None, journey_key, at, kind, message, **data).save()


async def advance(services: Services, enrollment: Enrollment, contact: Contact, journey_key: str,
                  outcome: Outcome, now: dt.datetime) -> dict[str, Any] | None:
    """Commit one outcome; returns the enrollment's new field values, or None when another run won."""
    won = await commit_steps(services, [Step(enrollment, contact, journey_key, settle(outcome))], now)
    return won[0].fields if won else None


@dataclass(frozen=True)
class JourneyInfo:
    key: str
    live: bool
    exclusive: bool
    priority: int = 0


# Journey status changes (pause/resume) take effect within this long on every worker.
INFO_TTL = 1.0
_info_cache: dict[int, tuple[float, JourneyInfo]] = {}


async def journey_info(journey_id: int) -> JourneyInfo:
    cached = _info_cache.get(journey_id)
    if cached and time.monotonic() - cached[0] < INFO_TTL:
        return cached[1]
    journey = await Journey.get(id=journey_id)
    info = JourneyInfo(journey.key, journey.status == JourneyStatus.LIVE, journey.exclusive, journey.priority)
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
    clear_plan_cache()


async def facts_for(services: Services, node_kind: str | None, contact: Contact, now: dt.datetime,
                    priority: int = 0, enrollment_id: int | None = None, history: SendHistory | None = None) -> Facts:
    # Only email steps need consent, suppression and send history: other steps skip those queries.
    if node_kind == "email":
        return await gather_facts(services.settings.secret_key, contact, now, services.workspace.consent.policy,
                                  services.workspace.sending, priority, enrollment_id, history)
    return Facts(data=contact_view(contact), timezone=contact.timezone, best_send_hour=contact.best_send_hour)


async def run_step(services: Services, enrollment_id: int, seq: int) -> int:
    """Run due nodes of one enrollment, starting at `seq`; returns how many committed."""
    return await run_steps(services, [(enrollment_id, seq)])


async def run_steps(services: Services, wanted: list[tuple[int, int]]) -> int:
    """Run due nodes of these enrollments, each from its `seq`; one transaction per round of nodes.

    No "is it due" check: jobs are only enqueued for due timers, and a stale job for an old
    seq is a no-op through the seq comparison.
    """
    seqs = dict(wanted)
    loaded_rows = await Enrollment.filter(id__in=list(seqs)).select_related("contact")
    running = [e for e in loaded_rows if e.seq == seqs[e.id]]
    _share_contacts(running)
    ran = 0
    for _ in range(MAX_NODES_PER_JOB):
        steps, held = await _decide_round(services, running)
        if not steps:
            break
        won = await commit_steps(services, steps, services.clock.now())
        ran += len(won)
        running = _after_round(won) + held
    return ran


def _share_contacts(enrollments: list[Enrollment]) -> None:
    """Enrollments of one contact decide on one object, so a round sees its siblings' changes."""
    by_id: dict[int, Contact] = {}
    for enrollment in enrollments:
        enrollment.contact = by_id.setdefault(enrollment.contact.id, enrollment.contact)


async def _send_history(services: Services, emailing: list[Contact]) -> SendHistory | None:
    """What the round's email steps read about their contacts, loaded for all of them at once."""
    if not emailing:
        return None
    return await SendHistory.load(services.settings.secret_key, emailing, services.clock.now(),
                                  services.workspace.sending.cap_window)


async def _decide_round(services: Services, enrollments: list[Enrollment]) -> tuple[list[Step], list[Enrollment]]:
    """One node per enrollment; returns the decided steps and the enrollments held for the next round.

    A contact's second email step in one round waits for the next: the frequency cap must see
    the first one's send, which only exists once the round has committed.
    """
    steps: list[Step] = []
    held: list[Enrollment] = []
    emailing: set[int] = set()
    winners: dict[tuple[int, str], str | None] = {}  # looked up once a round per split
    infos = {journey_id: await journey_info(journey_id) for journey_id in {e.journey_id for e in enrollments}}
    nodes = {e.id: loaded(await version_by_id(e.version_id)).program.nodes.get(e.cursor) for e in enrollments}
    history = await _send_history(services, [e.contact for e in enrollments
                                             if (node := nodes[e.id]) is not None and node.kind == "email"])
    # Higher-priority journeys first: when one contact has two emails due, the higher one goes now
    # and the other is held to the next round, where the cap sees the first send.
    for enrollment in sorted(enrollments, key=lambda e: -infos[e.journey_id].priority):
        info = infos[enrollment.journey_id]
        if enrollment.state not in RUNNABLE or not (info.live or enrollment.is_test):
            continue
        plan = loaded(await version_by_id(enrollment.version_id))
        now = services.clock.now()
        node = nodes[enrollment.id]
        if node is not None and node.kind == "email":
            if enrollment.contact.id in emailing:
                held.append(enrollment)
                continue
            emailing.add(enrollment.contact.id)
        facts = await facts_for(services, node.kind if node else None, enrollment.contact, now, info.priority,
                                enrollment.id, history)
        if node is not None and node.kind == "split" and node.step.split.winner_after:
            facts = replace(facts, split_winners=await _winners(winners, enrollment, node, now))
        outcome = decide(plan.program, plan.spec, state_of(enrollment), facts, now,
                         split_random(enrollment.id, enrollment.cursor))
        steps.append(Step(enrollment, enrollment.contact, info.key, settle(outcome)))
    return steps, held


async def _winners(known: dict[tuple[int, str], str | None], enrollment: Enrollment, node: Node,
                   now: dt.datetime) -> dict[str, str]:
    key = (enrollment.version_id, node.id)
    if key not in known:
        version = await JourneyVersion.get(id=enrollment.version_id)  # not the cache: a decision may be new
        known[key] = version.split_winners.get(node.id) or await split_winner(
            enrollment.journey_id, version.published_at, node.step.split, now)
        if known[key] and node.id not in version.split_winners:
            version.split_winners = {**version.split_winners, node.id: known[key]}
            await version.save(update_fields=["split_winners"])
    winner = known[key]
    return {node.id: winner} if winner else {}


def _after_round(won: list[Step]) -> list[Enrollment]:
    """Apply committed fields; returns the enrollments that go straight on to their next node."""
    going_on = []
    for step in won:
        assert step.fields is not None
        for name, value in step.fields.items():
            setattr(step.enrollment, name, value)
        if step.outcome.status == "active":
            going_on.append(step.enrollment)
    return going_on
