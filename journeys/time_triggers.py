"""Triggers that fire with time, not events: dates (birthday, anniversary), inactivity, unopened streaks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from contacts.models import Contact
from core.services import Services
from journeys.durations import parse_duration
from journeys.engine import as_datetime
from journeys.models import Journey, JourneyVersion
from journeys.store import Loaded, live_plans
from journeys.triggers import enroll

BATCH = 1000


def _date_of(contact: Contact, attribute: str) -> dt.datetime | None:
    value: Any = getattr(contact, attribute, None) if attribute in {"first_order_at", "last_order_at",
                                                                     "created_at"} else None
    if value is None:
        value = contact.attributes.get(attribute)
    return as_datetime(value)


def date_due(base: dt.datetime, offset: dt.timedelta, annual: bool, now: dt.datetime) -> str | None:
    """The occurrence key (e.g. the year) when the dated moment falls on `now`'s day, else None."""
    if annual:
        for year in (now.year - 1, now.year, now.year + 1):
            try:
                moment = base.replace(year=year) + offset
            except ValueError:  # 29 February in a common year
                moment = base.replace(year=year, day=28) + offset
            if moment.date() == now.date():
                return str(year)
        return None
    return "once" if (base + offset).date() == now.date() else None


def _reason(plan: Loaded, contact: Contact, now: dt.datetime) -> tuple[str, str] | None:
    trigger = plan.spec.trigger
    if trigger.date:
        base = _date_of(contact, trigger.date.attribute)
        occurrence = date_due(base, parse_duration(trigger.date.offset), trigger.date.annual, now) if base else None
        return (f"{trigger.date.attribute} {trigger.date.offset} is today", f"date:{occurrence}") if occurrence \
            else None
    if trigger.inactivity and trigger.inactivity.days:
        last = contact.last_activity_at or contact.created_at
        if last <= now - dt.timedelta(days=trigger.inactivity.days):
            return f"no activity for {trigger.inactivity.days} days (last {last:%Y-%m-%d})", f"idle:{last:%Y%m%d}"
    if trigger.inactivity and trigger.inactivity.unopened and (
        contact.consecutive_unopened >= trigger.inactivity.unopened
    ):
        return f"{contact.consecutive_unopened} marketing emails in a row unopened", "unopened"
    return None


async def _scan_one(services: Services, journey: Journey, version: JourneyVersion, plan: Loaded,
                    now: dt.datetime) -> int:
    entered, last_id = 0, 0
    while True:
        contacts = await Contact.filter(id__gt=last_id, email__not_isnull=True).order_by("id").limit(BATCH)
        if not contacts:
            return entered
        for contact in contacts:
            found = _reason(plan, contact, now)
            if found and await enroll(services, journey, version, contact, reason=found[0],
                                      event={"type": "time", "object_key": found[1], "id": found[1]}):
                entered += 1
        last_id = contacts[-1].id


async def scan_time_triggers(services: Services, now: dt.datetime) -> int:
    entered = 0
    for journey, version, plan in await live_plans():
        trigger = plan.spec.trigger
        if trigger.date or trigger.inactivity:
            entered += await _scan_one(services, journey, version, plan, now)
    return entered
