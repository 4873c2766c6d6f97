"""The time-trigger scan: candidates from SQL, the exact rule in the contact's own time zone, and a
large backlog worked off a page (or a time budget) at a time without starving anyone."""

from __future__ import annotations

import datetime as dt

from contacts.models import Contact
from core.clock import ManualClock
from core.services import Services
from journeys import library
from journeys.models import Enrollment, Journey
from journeys.store import Loaded, latest_version, loaded, publish
from journeys.time_triggers import candidate_ids, scan_time_triggers

DAY = dt.timedelta(days=1)


async def _live(*keys: str) -> None:
    for key in keys:
        await library.install(key)
        await publish(key)


async def _entered(key: str) -> set[str]:
    journey = await Journey.get(key=key)
    return {e.contact.email for e in await Enrollment.filter(journey=journey).prefetch_related("contact")}


async def test_a_backlog_is_worked_off_a_page_at_a_time(services: Services, clock: ManualClock) -> None:
    await _live("win-back")
    idle = clock.now() - 100 * DAY
    for n in range(7):
        await Contact.create(email=f"idle{n}@example.com", last_activity_at=idle)
    await Contact.create(email="recent@example.com", last_activity_at=clock.now() - 10 * DAY)
    assert [await scan_time_triggers(services, clock.now(), limit=3) for _ in range(4)] == [3, 3, 1, 0]
    assert await _entered("win-back") == {f"idle{n}@example.com" for n in range(7)}
    assert await scan_time_triggers(services, clock.now(), limit=3) == 0  # entered: no longer candidates


async def test_out_of_time_the_scan_resumes_where_it_stopped(services: Services, clock: ManualClock) -> None:
    await _live("win-back")
    for n in range(4):
        await Contact.create(email=f"idle{n}@example.com", last_activity_at=clock.now() - 100 * DAY)
    runs = [await scan_time_triggers(services, clock.now(), budget=0.0) for _ in range(5)]
    assert runs == [1, 1, 1, 1, 0]  # one enrollment per run, none skipped, none twice
    assert len(await _entered("win-back")) == 4


async def test_a_new_idle_spell_is_a_new_candidate(services: Services, clock: ManualClock) -> None:
    await _live("win-back")
    contact = await Contact.create(email="back@example.com", last_activity_at=clock.now() - 100 * DAY)
    assert await scan_time_triggers(services, clock.now()) == 1
    clock.advance(DAY)
    await Contact.filter(id=contact.id).update(last_activity_at=clock.now())  # came back
    clock.advance(400 * DAY)  # past the entry period, and idle again for long
    assert await scan_time_triggers(services, clock.now()) == 1
    assert await Enrollment.filter(contact_id=contact.id).count() == 2


async def test_inside_the_re_entry_window_a_contact_is_not_a_candidate(services: Services,
                                                                        clock: ManualClock) -> None:
    await _live("win-back")  # once per 365 days
    contact = await Contact.create(email="back@example.com", last_activity_at=clock.now() - 100 * DAY)
    assert await scan_time_triggers(services, clock.now()) == 1
    clock.advance(DAY)
    await Contact.filter(id=contact.id).update(last_activity_at=clock.now())
    clock.advance(100 * DAY)  # idle again, but only 101 days after entering
    plan = await _plan("win-back")
    assert await candidate_ids(plan[0], plan[1], clock.now()) == []


async def _plan(key: str) -> tuple[Journey, Loaded]:
    journey = await Journey.get(key=key)
    return journey, loaded(await latest_version(journey))


async def test_a_birthday_is_the_contacts_own_day(services: Services, clock: ManualClock) -> None:
    await _live("birthday-anniversary")
    clock.set(dt.datetime(2026, 3, 10, 20, 0, tzinfo=dt.UTC))  # 11 March 05:00 in Tokyo, noon in Portland
    people = {
        "tokyo@example.com": ("Asia/Tokyo", "1990-03-11"),
        "london@example.com": ("Europe/London", "1990-03-11"),  # still the 10th there
        "portland@example.com": ("America/Los_Angeles", "1985-03-10"),
        "basic@example.com": ("UTC", "19700310"),  # ISO basic format: decided in Python, not by SQL
        "tomorrow@example.com": ("America/Los_Angeles", "1990-03-11"),
    }
    for email, (zone, birthday) in people.items():
        await Contact.create(email=email, timezone=zone, attributes={"birthday": birthday})
    assert await scan_time_triggers(services, clock.now()) == 3
    assert await _entered("birthday-anniversary") == {"tokyo@example.com", "portland@example.com",
                                                       "basic@example.com"}
    assert await scan_time_triggers(services, clock.now()) == 0  # once a day
