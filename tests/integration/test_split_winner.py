"""A split with `winner_after` sends everyone to the winning arm once the rule's time has passed and
the verdict is decided; before that, or while undecided, arms are drawn by weight."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from contacts.models import Consent, Contact
from core.clock import ManualClock
from core.services import Services
from journeys.manual import start_for_contact
from journeys.models import Enrollment, EnrollmentState, JourneyVersion, TraceEntry
from journeys.store import import_spec, publish
from journeys.validation import load_spec

SPLIT = """
key: winner-takes
name: Winner takes all
trigger: {manual: true}
goal: {event: order.created}
steps:
  - split:
      winner_after: 7d
      arms:
        - {name: A, weight: 99, steps: [{wait: 30d}]}
        - {name: B, weight: 1, steps: [{wait: 30d}]}
"""


async def history(journey_id: int, version: JourneyVersion, arm: str, entered: int, converted: int) -> None:
    await Contact.bulk_create([Contact(email=f"old-{arm.lower()}-{i}@example.com") for i in range(entered)])
    people = await Contact.filter(email__startswith=f"old-{arm.lower()}-").order_by("id")
    await Enrollment.bulk_create([
        Enrollment(contact=person, journey_id=journey_id, version=version, entry_key=f"old:{arm}:{i}",
                   variant=arm, entered_at=version.published_at, state=EnrollmentState.EXITED,
                   exit_reason="converted" if i < converted else "")
        for i, person in enumerate(people)])


async def arm_of(services: Services, drive: Callable[[], Awaitable[int]], email: str) -> tuple[str, str]:
    await Contact.create(email=email, consent=Consent.SUBSCRIBED)
    enrollment = await start_for_contact(services, "winner-takes", email)
    await drive()
    await enrollment.refresh_from_db()
    trace = await TraceEntry.filter(enrollment_id_ref=enrollment.id, kind="split").values_list("message", flat=True)
    return enrollment.variant, " ".join(trace)


async def test_everyone_takes_the_decided_winner_after_the_set_time(
        services: Services, clock: ManualClock, drive: Callable[[], Awaitable[int]]) -> None:
    journey, _ = await import_spec(load_spec(SPLIT))
    version, _ = await publish("winner-takes")
    version.published_at = clock.now()  # went live on the test's clock
    await version.save(update_fields=["published_at"])
    await history(journey.id, version, "A", 200, 10)  # 5 %
    await history(journey.id, version, "B", 200, 40)  # 20 %: B is clearly better
    clock.advance(dt.timedelta(days=6))
    _, why = await arm_of(services, drive, "early@example.com")
    assert "split assigned arm" in why  # drawn by weight: 99 to 1 for A (seeded by the enrollment)
    clock.advance(dt.timedelta(days=2))
    late, why = await arm_of(services, drive, "late@example.com")
    assert (late, why) == ("B", "split: arm B won, everyone takes it now")
    assert (await JourneyVersion.get(id=version.id)).split_winners == {"0": "B"}
    # Newcomers sent to B have not converted yet: the figures alone would be undecided again, the
    # decision stands.
    await history(journey.id, version, "C", 400, 0)
    await Enrollment.filter(contact__email__startswith="old-c-").update(variant="B")
    later, why = await arm_of(services, drive, "later@example.com")
    assert (later, why) == ("B", "split: arm B won, everyone takes it now")


async def test_an_undecided_verdict_keeps_drawing_by_weight(
        services: Services, clock: ManualClock, drive: Callable[[], Awaitable[int]]) -> None:
    journey, _ = await import_spec(load_spec(SPLIT))
    version, _ = await publish("winner-takes")
    version.published_at = clock.now()  # went live on the test's clock
    await version.save(update_fields=["published_at"])
    await history(journey.id, version, "A", 200, 20)
    await history(journey.id, version, "B", 200, 22)  # no clear difference
    clock.advance(dt.timedelta(days=8))
    _, why = await arm_of(services, drive, "late@example.com")
    assert "split assigned arm" in why
