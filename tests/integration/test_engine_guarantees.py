"""Guarantees around the step commit that other paths must keep: exits from outside (archive,
publish with exit, events) win over a step decided a moment earlier, exclusive journeys let go
of what they paused however they end, the frequency cap holds inside one batch, a test run
changes nothing real, and a journey naming a missing email template does not validate."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable

import pytest

from contacts.events import NormalizedEvent
from contacts.models import Consent, Contact
from core.clock import ManualClock
from core.services import Services
from emails.models import Message
from journeys.commit import Step, commit_steps
from journeys.engine import Outcome
from journeys.manual import start_for_contact
from journeys.models import Enrollment, EnrollmentState, InFlightPolicy, JourneyStatus, TraceEntry
from journeys.runner import run_steps
from journeys.store import import_spec, publish, set_status
from journeys.validation import SpecError, load_spec
from pipeline.ingest import ingest

Drive = Callable[[], Awaitable[int]]
EMAIL = "mei.lin@example.com"


def _journey(key: str, steps: str, **extra: str) -> str:
    lines = [f"key: {key}", f"name: {key}", "trigger: {manual: true}", "entry: {policy: every_time}"]
    lines += [f"{name}: {value}" for name, value in extra.items()]
    return "\n".join(lines) + "\nsteps:\n" + steps


async def _live(text: str) -> None:
    await import_spec(load_spec(text))
    await publish(load_spec(text).key)


async def _contact() -> Contact:
    return await Contact.create(email=EMAIL, first_name="Mei", consent=Consent.SUBSCRIBED)


async def _started(services: Services, key: str, drive: Drive) -> Enrollment:
    enrollment = await start_for_contact(services, key, EMAIL)
    await drive()
    return await Enrollment.get(id=enrollment.id)


async def test_archiving_wins_over_a_step_decided_just_before(services: Services, clock: ManualClock,
                                                              drive: Drive) -> None:
    await _contact()
    await _live(_journey("slow", "  - wait: 3d\n  - update: {add_tags: [late]}\n"))
    enrollment = await _started(services, "slow", drive)
    contact = await Contact.get(email=EMAIL)
    decided = Outcome(enrollment.cursor, "update", None, "completed", "decided before the archive")
    await set_status("slow", JourneyStatus.ARCHIVED)
    assert await commit_steps(services, [Step(enrollment, contact, "slow", decided)], clock.now()) == []
    enrollment = await Enrollment.get(id=enrollment.id)
    assert (enrollment.state, enrollment.exit_reason) == (EnrollmentState.EXITED, "journey archived")


@pytest.mark.parametrize("ending", ["archive", "publish-exit", "stopped-by-another"])
async def test_an_exclusive_journey_releases_what_it_paused_however_it_ends(
    services: Services, clock: ManualClock, drive: Drive, ending: str
) -> None:
    await _contact()
    await _live(_journey("newsletter", "  - wait: 30d\n  - update: {add_tags: [read]}\n", priority="1"))
    await _live(_journey("reengage", "  - wait: 10d\n  - update: {add_tags: [back]}\n", priority="5",
                         exclusive="true"))
    await _live(_journey("stopper", "  - stop_journeys: [reengage]\n", priority="9"))
    low = await _started(services, "newsletter", drive)
    high = await _started(services, "reengage", drive)
    assert (await Enrollment.get(id=low.id)).state == EnrollmentState.PAUSED
    if ending == "archive":
        await set_status("reengage", JourneyStatus.ARCHIVED)
    elif ending == "publish-exit":
        await import_spec(load_spec(_journey("reengage", "  - wait: 20d\n", priority="5", exclusive="true")))
        await publish("reengage", InFlightPolicy.EXIT)
    else:
        await _started(services, "stopper", drive)
    assert (await Enrollment.get(id=high.id)).state == EnrollmentState.EXITED
    low = await Enrollment.get(id=low.id)
    assert (low.state, low.paused_by) == (EnrollmentState.WAITING, None)
    clock.advance(dt.timedelta(days=31))
    await drive()
    assert "read" in (await Contact.get(email=EMAIL)).tags  # and it really goes on


@pytest.mark.parametrize("end", ["completed", "exited"])
async def test_an_exclusive_journey_that_runs_to_its_end_releases_what_it_paused(
    services: Services, clock: ManualClock, drive: Drive, end: str,
) -> None:
    await _contact()
    await _live(_journey("newsletter", "  - wait: 30d\n  - update: {add_tags: [read]}\n", priority="1"))
    last = "  - update: {add_tags: [back]}\n" if end == "completed" else "  - exit: done\n"
    await _live(_journey("reengage", "  - wait: 10d\n" + last, priority="5", exclusive="true"))
    low = await _started(services, "newsletter", drive)
    high = await _started(services, "reengage", drive)
    assert (await Enrollment.get(id=low.id)).state == EnrollmentState.PAUSED
    clock.advance(dt.timedelta(days=11))
    await drive()  # the exclusive run ends by its own last step
    assert (await Enrollment.get(id=high.id)).state == EnrollmentState(end)
    low = await Enrollment.get(id=low.id)
    assert (low.state, low.paused_by) == (EnrollmentState.WAITING, None)


async def test_the_frequency_cap_holds_for_two_emails_due_in_one_batch(services: Services, clock: ManualClock,
                                                                       drive: Drive) -> None:
    await _contact()
    for key, template in (("one", "cart-reminder"), ("two", "lead-nurture-1")):
        await _live(_journey(key, f"  - wait: 1d\n  - email: {template}\n"))
    first = await _started(services, "one", drive)
    second = await _started(services, "two", drive)
    clock.advance(dt.timedelta(days=1, minutes=1))
    await run_steps(services, [(first.id, first.seq), (second.id, second.seq)])
    assert await Message.filter(to_email=EMAIL).count() == 1  # one per 24 h, not one per journey
    capped = await TraceEntry.filter(message__contains="capped by the 1-per-24h rule").count()
    assert capped == 1


async def test_an_event_makes_exit_when_leave_a_long_wait_at_once(services: Services, clock: ManualClock,
                                                                  drive: Drive) -> None:
    await _contact()
    await _live(_journey("patient", "  - wait: 30d\n  - email: cart-reminder\n",
                         exit_when='["contact.unsubscribed"]'))
    enrollment = await _started(services, "patient", drive)
    assert enrollment.state == EnrollmentState.WAITING
    unsubscribe = NormalizedEvent(type="consent.updated", source="test", idempotency_key=uuid.uuid4().hex,
                                  occurred_at=clock.now(), email=EMAIL, consent=Consent.UNSUBSCRIBED)
    await ingest(services, [unsubscribe])
    enrollment = await Enrollment.get(id=enrollment.id)
    assert (enrollment.state, enrollment.exit_reason) == (EnrollmentState.EXITED, "exit_when: contact.unsubscribed")


async def test_a_test_run_changes_nothing_real(services: Services, clock: ManualClock, drive: Drive) -> None:
    await _contact()
    await _live(_journey("tagger", "  - update: {add_tags: [vip], score: 50, unsubscribe: true}\n"
                                   "  - stop_journeys: [all]\n"))
    run = await start_for_contact(services, "tagger", EMAIL, test=True)
    await drive()
    contact = await Contact.get(email=EMAIL)
    assert (contact.tags, contact.lead_score, contact.consent) == ([], 0, Consent.SUBSCRIBED)
    notes = await TraceEntry.filter(enrollment_id_ref=run.id, message__contains="test run: would").count()
    assert notes == 2
    assert (await Enrollment.get(id=run.id)).state == EnrollmentState.COMPLETED


def test_a_missing_email_template_is_a_validation_error() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(_journey("typo", "  - email: cart-remindr\n"))
    assert caught.value.problems == ["steps[0].email: no email template named 'cart-remindr' "
                                     "(did you mean 'cart-reminder'?)"]
