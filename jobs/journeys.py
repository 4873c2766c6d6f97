"""Jobs around journeys: starting one from a step, and the time-based trigger scan."""

from __future__ import annotations

import datetime as dt
from typing import Any

from contacts.models import Contact
from core.services import Services
from journeys.models import Journey, JourneyStatus
from journeys.store import live_version
from journeys.time_triggers import scan_time_triggers
from journeys.triggers import enroll


async def start_journey(ctx: dict[str, Any], *, key: str, contact_id: int, reason: str) -> str:
    services: Services = ctx["services"]
    journey = await Journey.get_or_none(key=key, status=JourneyStatus.LIVE)
    contact = await Contact.get_or_none(id=contact_id)
    version = await live_version(journey) if journey else None
    if journey is None or contact is None or version is None:
        return "not live"
    enrollment = await enroll(services, journey, version, contact, reason=reason)
    return "entered" if enrollment else "not allowed by entry policy"


async def scan_time_triggers_job(ctx: dict[str, Any]) -> int:
    services: Services = ctx["services"]
    return await scan_time_triggers(services, services.clock.now(), budget=services.settings.cron_budget)


__all__ = ["dt", "scan_time_triggers_job", "start_journey"]
