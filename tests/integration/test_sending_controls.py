"""The workspace's sending controls: a cap that respects journey priorities (a cart reminder goes
before a newsletter, the newsletter waits for the next window, never dropped) and blackout dates
that move marketing sends to the next allowed day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import pytest

from contacts.models import Consent, Contact
from core.clock import ManualClock
from core.services import Services
from core.workspace import SendingConfig
from emails.models import Message
from journeys.facts import MAX_PRIORITY_WAITS
from journeys.manual import start_for_contact
from journeys.models import Enrollment, EnrollmentState, Journey, TraceEntry
from journeys.store import import_spec, live_version, loaded, publish
from journeys.validation import load_spec

pytestmark = pytest.mark.usefixtures("restore_workspace")


def journey(key: str, priority: int) -> str:
    return f"""
key: {key}
name: {key}
trigger: {{manual: true}}
priority: {priority}
steps:
  - email: test-email
"""


async def setup(services: Services, **sending: object) -> Contact:
    services.workspace = services.workspace.model_copy(update={"sending": SendingConfig.model_validate(sending)})
    for key, priority in (("newsletter", 10), ("cart", 90)):
        await import_spec(load_spec(journey(key, priority)))
        await publish(key)
    return await Contact.create(email="ana@example.com", consent=Consent.SUBSCRIBED)


async def sent_at(key: str) -> list[dt.datetime]:
    journey_row = await Journey.get(key=key)
    return [m.queued_at for m in await Message.filter(journey_ref=journey_row.id).order_by("id")]


async def test_the_higher_priority_email_goes_first_and_the_other_waits_a_window(
        services: Services, clock: ManualClock, drive: Callable[[], Awaitable[int]]) -> None:
    await setup(services, cap_count=1, cap_window="24h")
    start = clock.now()
    await start_for_contact(services, "newsletter", "ana@example.com")  # due first, but lower priority
    await start_for_contact(services, "cart", "ana@example.com")
    await drive()
    assert (await sent_at("cart"), await sent_at("newsletter")) == ([start], [])
    assert await TraceEntry.filter(message="test-email waits for a higher-priority journey's step due now").count() == 1
    clock.advance(dt.timedelta(minutes=1))
    await drive()
    assert await TraceEntry.filter(message__contains="capped by the 1-per-24h rule until 2026-03-11 09:00").count() == 1
    clock.set(start + dt.timedelta(hours=24, seconds=1))
    await drive()
    assert await sent_at("newsletter") == [clock.now()]  # waited for the next window, not dropped


async def test_a_newsletter_does_not_hold_back_a_cart_reminder(
        services: Services, clock: ManualClock, drive: Callable[[], Awaitable[int]]) -> None:
    await setup(services, cap_count=1, cap_window="24h")
    await start_for_contact(services, "newsletter", "ana@example.com")
    await drive()
    clock.advance(dt.timedelta(hours=1))
    await start_for_contact(services, "cart", "ana@example.com")
    await drive()
    assert await sent_at("cart") == [clock.now()]  # the lower-priority send does not count against it


async def test_a_blackout_date_moves_marketing_to_the_next_allowed_day(
        services: Services, clock: ManualClock, drive: Callable[[], Awaitable[int]]) -> None:
    contact = await setup(services, blackout_dates=["2026-03-10..2026-03-11"])
    contact.timezone = "Asia/Tokyo"  # 18:00 on the 10th there: inside the blackout
    await contact.save()
    await start_for_contact(services, "cart", "ana@example.com")
    await drive()
    assert await sent_at("cart") == []
    trace = await TraceEntry.filter(message__contains="blackout").values_list("message", flat=True)
    assert trace == ["test-email deferred by a blackout date to 2026-03-12 18:00 Asia/Tokyo"]  # same time of day
    clock.set(dt.datetime(2026, 3, 11, 15, 0, 1, tzinfo=dt.UTC))  # 00:00:01 on the 12th in Tokyo: not yet
    await drive()
    assert await sent_at("cart") == []
    clock.set(dt.datetime(2026, 3, 12, 9, 0, 1, tzinfo=dt.UTC))  # 18:00:01 there
    await drive()
    assert await sent_at("cart") == [clock.now()]


async def test_a_stuck_higher_priority_step_holds_a_lower_email_back_only_a_few_times(
        services: Services, clock: ManualClock, drive: Callable[[], Awaitable[int]]) -> None:
    contact = await setup(services, cap_count=1, cap_window="24h")
    journey_row = await Journey.get(key="cart")
    version = await live_version(journey_row)
    assert version is not None
    cart = await Enrollment.create(contact=contact, journey=journey_row, version=version, entry_key="stuck",
                                   cursor=loaded(version).program.start or "", state=EnrollmentState.ACTIVE,
                                   next_run_at=clock.now(), entered_at=clock.now())
    await start_for_contact(services, "newsletter", "ana@example.com")
    for _ in range(MAX_PRIORITY_WAITS + 2):
        # The cart step keeps failing: every retry renews its lease, so it always looks due.
        await Enrollment.filter(id=cart.id).update(next_run_at=clock.now() + dt.timedelta(seconds=90))
        await drive()
        clock.advance(dt.timedelta(seconds=61))
    assert len(await sent_at("newsletter")) == 1  # it stopped waiting, was not dropped
    assert await TraceEntry.filter(message__contains="waits for a higher-priority").count() == MAX_PRIORITY_WAITS
