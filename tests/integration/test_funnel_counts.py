"""A journey's funnel counts people: a step an enrollment ran twice (deferred by quiet hours, then
sent) counts once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from contacts.models import Consent, Contact
from core.clock import ManualClock
from core.services import Services
from journeys.analytics import funnel
from journeys.manual import start_for_segment
from journeys.models import Journey, StepRun
from journeys.store import import_spec, publish
from journeys.validation import load_spec

WAITING = """
key: funnel-people
name: Funnel people
trigger: {manual: true}
quiet_hours: {start: "08:00", end: "10:00"}
steps:
  - email: test-email
"""


async def test_steps_count_each_enrollment_once(services: Services, clock: ManualClock,
                                                drive: Callable[[], Awaitable[int]]) -> None:
    await Contact.bulk_create([Contact(email=f"f{i}@example.com", consent=Consent.SUBSCRIBED) for i in range(3)])
    await import_spec(load_spec(WAITING))
    await publish("funnel-people")
    await start_for_segment(services, "funnel-people", "contact.email")
    await drive()  # 09:00: deferred to the end of quiet hours
    clock.advance(dt.timedelta(hours=1, seconds=1))
    await drive()  # 10:00: sent
    journey = await Journey.get(key="funnel-people")
    runs = await StepRun.filter(journey_ref=journey.id).values_list("enrollment_id", "step_id")
    assert len(runs) > len(set(runs)), "the wait step ran twice per enrollment: the case this guards"
    result = await funnel(journey)
    assert result.entered == 3
    assert result.steps and all(n <= result.entered for n in result.steps.values()), result.steps
    assert sorted(result.steps.values()) == [3] * len(result.steps)
