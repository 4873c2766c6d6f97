"""Steps due together commit together (journeys/commit.py), and batching keeps every guarantee:
a stale step is skipped, one broken step does not hold up the rest, a step's contact change
never overwrites a concurrent one, and the scheduler hands out steps in jobs of a batch."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable

import pytest
from arq.connections import ArqRedis
from arq.constants import default_queue_name
from redis.exceptions import RedisError

from contacts.models import Consent, Contact, SuppressionReason
from contacts.suppression import suppress
from core.clock import ManualClock
from core.services import Services
from emails.models import Message
from jobs.scheduler import MAX_QUEUED_STEPS, STEPS_PER_JOB, dispatch_due
from journeys.commit import Step, commit_steps, sweep_pending_jobs
from journeys.engine import Action, Outcome
from journeys.models import Enrollment, EnrollmentState, Journey, PendingJob, StepRun, TraceEntry
from journeys.runner import run_steps
from journeys.store import import_spec, latest_version, loaded, publish
from journeys.validation import load_spec
from tests.support import QueryLog

Drive = Callable[[], Awaitable[int]]
NOTIFY = """
key: notify-once
name: Notify once
trigger: {manual: true}
entry: {policy: every_time}
steps:
  - slack_notify: {to: sales, text: "{{ contact.email }} is here"}
"""
SCORE = """
key: score-twice
name: Score twice
trigger: {manual: true}
entry: {policy: every_time}
steps:
  - update: {score: 1, add_tags: [first]}
  - update: {score: 1, add_tags: [second]}
"""


async def _enrollments(count: int, now: dt.datetime, *, per_contact: int = 1) -> list[Enrollment]:
    await import_spec(load_spec(SCORE))
    await publish("score-twice")
    journey = await Journey.get(key="score-twice")
    version = await latest_version(journey)
    start = loaded(version).program.start or ""
    contacts = [await Contact.create(email=f"batch{i}@example.com") for i in range(count // per_contact)]
    rows = [Enrollment(contact=contacts[i % len(contacts)], journey=journey, version=version, entry_key=f"b:{i}",
                       cursor=start, state=EnrollmentState.ACTIVE, next_run_at=now, entered_at=now)
            for i in range(count)]
    await Enrollment.bulk_create(rows)
    return list(await Enrollment.all().order_by("id"))


async def test_a_batch_runs_every_step_once_and_skips_stale_ones(services: Services, clock: ManualClock) -> None:
    enrollments = await _enrollments(30, clock.now(), per_contact=3)
    wanted = [(e.id, e.seq) for e in enrollments]
    wanted[0] = (enrollments[0].id, 7)  # a stale job: this enrollment is not at seq 7
    assert await run_steps(services, wanted) == 29 * 2
    assert await StepRun.all().count() == 58
    assert await Enrollment.filter(state=EnrollmentState.COMPLETED).count() == 29
    # Three enrollments per contact, decided in the same rounds: no change of a sibling is lost.
    for contact in await Contact.all():
        mine = await Enrollment.filter(contact=contact, state=EnrollmentState.COMPLETED).count()
        assert contact.lead_score == 2 * mine and {"first", "second"} <= set(contact.tags)
    # The same jobs again (a redelivery) change nothing.
    assert await run_steps(services, wanted) == 0
    assert await StepRun.all().count() == 58


async def test_one_broken_step_does_not_hold_up_its_batch(services: Services, clock: ManualClock) -> None:
    enrollments = await _enrollments(10, clock.now())
    broken = enrollments[4]
    # A row that should not exist (as if written by hand) makes this one step's insert fail.
    await StepRun.create(enrollment_id=broken.id, seq=0, step_id="x", started_at=clock.now())
    assert await run_steps(services, [(e.id, e.seq) for e in enrollments]) == 9 * 2
    await broken.refresh_from_db()
    assert broken.seq == 0 and broken.state == EnrollmentState.ACTIVE  # left for the lease to retry
    assert await Enrollment.filter(state=EnrollmentState.COMPLETED).count() == 9


async def test_after_a_broken_batch_each_step_still_hands_over_its_jobs(services: Services,
                                                                        clock: ManualClock) -> None:
    _, enrollments = await _notify_enrollments(clock, 4)
    await StepRun.create(enrollment_id=enrollments[1].id, seq=0, step_id="x", started_at=clock.now())
    await services.redis.flushdb()
    assert await run_steps(services, [(e.id, e.seq) for e in enrollments]) == 3
    # The three good steps' notifications are queued at once, not left for the sweeper.
    assert await services.redis.zcard(default_queue_name) == 3
    assert await PendingJob.all().count() == 0


async def _notify_enrollments(clock: ManualClock, count: int, spec: str = NOTIFY,
                              **contact: object) -> tuple[Journey, list[Enrollment]]:
    """`count` contacts enrolled in `spec`'s journey, all due now."""
    await import_spec(load_spec(spec))
    journey = await Journey.get(key=load_spec(spec).key)
    await publish(journey.key)
    version = await latest_version(journey)
    contacts = [await Contact.create(email=f"m{i}@example.com", **contact) for i in range(count)]
    await Enrollment.bulk_create([
        Enrollment(contact=c, journey=journey, version=version, entry_key=f"m:{c.id}", state=EnrollmentState.ACTIVE,
                   cursor=loaded(version).program.start or "", next_run_at=clock.now(), entered_at=clock.now())
        for c in contacts])
    return journey, list(await Enrollment.all().order_by("id"))


async def test_every_step_of_a_batch_hands_over_its_jobs_and_records_what_it_did(
    services: Services, clock: ManualClock,
) -> None:
    journey, enrollments = await _notify_enrollments(clock, 4)
    await services.redis.flushdb()
    assert await run_steps(services, [(e.id, e.seq) for e in enrollments]) == 4
    assert await services.redis.zcard(default_queue_name) == 4  # one notification per step, none dropped
    runs = await StepRun.filter(kind="slack_notify")
    assert len(runs) == 4 and {(r.journey_ref, r.step_id, r.outcome, r.variant, r.started_at, r.finished_at)
                               for r in runs} == {(journey.id, "0", "completed", "", clock.now(), clock.now())}
    traces = await TraceEntry.filter(kind="slack_notify")
    assert len(traces) == 4 and {(t.journey_key, t.data.get("step")) for t in traces} == {("notify-once", "0")}
    finished = await Enrollment.all().values_list("state", "finished_at", "next_run_at")
    assert set(finished) == {(EnrollmentState.COMPLETED, clock.now(), None)}


async def test_a_batch_email_knows_its_journey(services: Services, clock: ManualClock) -> None:
    mail = NOTIFY.replace("notify-once", "mail-once").replace(
        '  - slack_notify: {to: sales, text: "{{ contact.email }} is here"}', "  - email: cart-reminder")
    journey, enrollments = await _notify_enrollments(clock, 2, mail, consent=Consent.SUBSCRIBED)
    assert await run_steps(services, [(e.id, e.seq) for e in enrollments]) == 2
    assert {(m.context.get("journey"), m.journey_ref) for m in await Message.all()} == {("mail-once", journey.id)}


async def test_a_round_of_email_steps_reads_their_send_history_once(
        services: Services, clock: ManualClock, query_log: QueryLog) -> None:
    """Suppressions, recent sends and higher-priority steps due: read for all the round's email
    steps' contacts together, and each step still decided on its own contact's (one suppressed)."""
    mail = NOTIFY.replace("notify-once", "mail-many").replace(
        '  - slack_notify: {to: sales, text: "{{ contact.email }} is here"}', "  - email: cart-reminder")
    _, enrollments = await _notify_enrollments(clock, 5, mail, consent=Consent.SUBSCRIBED)
    first = await Contact.get(id=enrollments[0].contact_id)
    await suppress(services.settings.secret_key, first.email or "", SuppressionReason.HARD_BOUNCE)
    query_log.queries.clear()
    assert await run_steps(services, [(e.id, e.seq) for e in enrollments]) == 5
    reads = [sql for sql, _ in query_log.queries if sql.startswith("SELECT")]
    # (Queuing each message checks its address again, as sending does: those are not the decision's.)
    assert sum(1 for sql in reads if 'FROM "suppressions"' in sql and '"email_hash" IN' in sql) == 1
    assert sum(1 for sql in reads if 'FROM "messages"' in sql and '"marketing"=' in sql) == 1  # the cap's sends
    assert sum(1 for sql in reads if 'FROM "enrollments"' in sql and '"next_run_at"<=' in sql) == 1  # due ones
    sent = {m.contact_id for m in await Message.all()}
    assert len(sent) == 4 and first.id not in sent  # the suppressed one was skipped, the rest sent


async def test_a_broken_step_does_not_hold_up_the_one_beside_it(services: Services, clock: ManualClock) -> None:
    enrollments = await _enrollments(2, clock.now())
    await StepRun.create(enrollment_id=enrollments[0].id, seq=0, step_id="x", started_at=clock.now())
    assert await run_steps(services, [(e.id, e.seq) for e in enrollments]) == 2  # the other one's two steps
    assert (await Enrollment.get(id=enrollments[1].id)).state == EnrollmentState.COMPLETED


async def test_a_batch_records_its_jobs_with_its_commit(services: Services, clock: ManualClock) -> None:
    """Redis gone right after the commit: the jobs are in the database, and the sweeper hands them over."""
    _, enrollments = await _notify_enrollments(clock, 3)
    await services.redis.flushdb()
    cut_off = dataclasses.replace(services, redis=ArqRedis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    with pytest.raises(RedisError):
        await run_steps(cut_off, [(e.id, e.seq) for e in enrollments])
    assert await Enrollment.filter(seq=1).count() == 3  # the steps committed
    assert await PendingJob.all().count() == 3
    assert await sweep_pending_jobs(services, dt.timedelta(0)) == 3
    assert await services.redis.zcard(default_queue_name) == 3


async def test_a_step_never_overwrites_a_concurrent_contact_change(services: Services, clock: ManualClock) -> None:
    (enrollment,) = await _enrollments(1, clock.now())
    stale = await Contact.get(id=enrollment.contact_id)
    # A webhook updates the contact after the step loaded it and before the step commits.
    await Contact.filter(id=stale.id).update(orders_count=3, tags=["customer"])
    outcome = Outcome(enrollment.cursor, "update", None, "active", "test",
                      actions=(Action("update_contact", {"add_tags": ["nurtured"], "score": 5}),))
    (won,) = await commit_steps(services, [Step(enrollment, stale, "score-twice", outcome)], clock.now())
    fresh = await Contact.get(id=stale.id)
    assert fresh.orders_count == 3 and set(fresh.tags) == {"customer", "nurtured"} and fresh.lead_score == 5
    assert stale.orders_count == 3  # the caller's object now holds what was committed
    assert won.fields is not None and won.fields["seq"] == 1
    assert await TraceEntry.filter(enrollment_id_ref=enrollment.id).count() == 1


async def test_the_scheduler_hands_out_batches_and_stops_claiming_when_the_queue_is_full(
    services: Services, clock: ManualClock, drive: Drive
) -> None:
    await _enrollments(60, clock.now())
    assert await dispatch_due(services) == 60
    assert await services.redis.zcard(default_queue_name) == -(-60 // STEPS_PER_JOB)
    await drive()
    assert await Enrollment.filter(state=EnrollmentState.COMPLETED).count() == 60
    # Queue already full of due work: the next due timers stay in the database, unclaimed.
    for i in range(MAX_QUEUED_STEPS // STEPS_PER_JOB):
        await services.redis.enqueue_job("noop_filler", _job_id=f"filler:{i}")
    await Enrollment.filter().update(state=EnrollmentState.ACTIVE, next_run_at=clock.now())
    assert await dispatch_due(services) == 0
    assert await Enrollment.filter(next_run_at__gt=clock.now()).count() == 0  # nothing leased


async def test_two_workers_racing_for_the_same_steps_run_each_once(services: Services, clock: ManualClock) -> None:
    """The same due steps handed to two workers at once (a redelivered job, two schedulers): the
    compare-and-set on each enrollment's seq lets exactly one of them commit each step."""
    enrollments = await _enrollments(40, clock.now(), per_contact=2)
    wanted = [(e.id, e.seq) for e in enrollments]
    ran = await asyncio.gather(*(run_steps(services, list(chunk)) for chunk in (wanted, wanted[::-1], wanted)))
    assert sum(ran) == 40 * 2
    assert await StepRun.all().count() == 80
    assert await Enrollment.filter(state=EnrollmentState.COMPLETED).count() == 40
    for contact in await Contact.all():
        assert contact.lead_score == 4  # two enrollments, two points each: nothing twice, nothing lost
