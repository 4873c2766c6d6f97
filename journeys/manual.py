"""Manual starts: one contact, or every contact a segment expression selects."""

from __future__ import annotations

from contacts.models import Contact
from contacts.view import contact_view
from core.addresses import fold_address
from core.errors import BadRequest, NotFound
from core.expressions import evaluate
from core.services import Services
from journeys.models import Enrollment, JourneyStatus
from journeys.store import get_journey, latest_version, live_version
from journeys.triggers import enroll


async def start_for_contact(services: Services, key: str, email: str, *, test: bool = False,
                            started_by: str = "") -> Enrollment:
    journey = await get_journey(key)
    contact = await Contact.get_or_none(email=fold_address(email))
    if contact is None:
        raise NotFound(f"no contact with email {email!r}")
    version = await latest_version(journey) if test else await live_version(journey)
    if version is None or (not test and journey.status != JourneyStatus.LIVE):
        raise BadRequest(f"journey {key!r} is {journey.status.value}: publish it first (or run a test)")
    enrollment = await enroll(services, journey, version, contact, is_test=test,
                              reason=f"{'test run' if test else 'manual start'} by {started_by or 'an operator'}")
    if enrollment is None:
        raise BadRequest(f"{email} may not enter {key!r} again now (entry policy)")
    return enrollment


async def start_for_segment(services: Services, key: str, segment: str, started_by: str = "") -> int:
    journey = await get_journey(key)
    version = await live_version(journey)
    if version is None or journey.status != JourneyStatus.LIVE:
        raise BadRequest(f"journey {key!r} is {journey.status.value}: publish it first")
    entered, last_id = 0, 0
    reason = f"segment `{segment}` started by {started_by or 'an operator'}"
    while True:
        batch = await Contact.filter(id__gt=last_id, email__not_isnull=True).order_by("id").limit(500)
        if not batch:
            return entered
        for contact in batch:
            if evaluate(segment, {"contact": contact_view(contact)})[0] and await enroll(
                services, journey, version, contact, reason=reason
            ):
                entered += 1
        last_id = batch[-1].id
