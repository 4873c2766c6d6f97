"""Triggers that fire with time, not events: dates (birthday, anniversary), inactivity, unopened streaks.

Each journey's candidates come from one SQL statement (a superset: the date's month and day
within a day of today, idle since the cut-off, not entered since), and only candidates are
loaded; the exact rule (in the contact's own time zone) is then applied in Python. A run takes
at most `limit` candidates per journey and keeps its place (a cursor in Redis): the next run goes
on from there, so a large store is scanned over a few runs instead of being cut off by the timeout.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise import connections

from contacts.models import Contact
from core.services import Services
from journeys.durations import parse_duration
from journeys.engine import as_datetime
from journeys.models import Journey, JourneyVersion
from journeys.spec import DateTrigger
from journeys.store import Loaded, live_plans
from journeys.triggers import enroll

LIMIT = 2000  # candidates per journey per run: each run ends well inside the job timeout
COLUMNS = {"first_order_at", "last_order_at", "created_at"}
DAY = dt.timedelta(days=1)


def _date_of(contact: Contact, attribute: str) -> dt.datetime | None:
    value: Any = getattr(contact, attribute, None) if attribute in COLUMNS else None
    if value is None:
        value = contact.attributes.get(attribute)
    return as_datetime(value)


def local_now(now: dt.datetime, timezone: str) -> dt.datetime:
    try:
        return now.astimezone(ZoneInfo(timezone or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return now


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
        today = local_now(now, contact.timezone)  # a birthday is the contact's own day
        occurrence = date_due(base, parse_duration(trigger.date.offset), trigger.date.annual, today) if base else None
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


def _days_around(trigger: DateTrigger, now: dt.datetime) -> list[dt.date]:
    """Base dates whose moment (base + offset) is today somewhere on Earth (UTC-12 to UTC+14)."""
    base = (now - parse_duration(trigger.offset)).date()
    return [base + k * DAY for k in (-1, 0, 1)]


def _date_filter(trigger: DateTrigger, now: dt.datetime, postgres: bool) -> tuple[str, list[Any]]:
    name = trigger.attribute
    if name in COLUMNS:
        text = f"CAST({name} AS TEXT)" if postgres else name
    else:  # the name matched DateTrigger's pattern, so it is safe inside the JSON path
        text = f"(attributes->>'{name}')" if postgres else f"json_extract(attributes, '$.{name}')"
    days = _days_around(trigger, now)
    if trigger.annual:
        keys = {f"{d:%m-%d}" for d in days} | ({"02-29"} if any(f"{d:%m-%d}" == "02-28" for d in days) else set())
        wanted, part = sorted(keys), f"substr({text}, 6, 5)"
    else:
        wanted, part = sorted(f"{d:%Y-%m-%d}" for d in days), f"substr({text}, 1, 10)"
    marks = ", ".join("?" for _ in wanted)
    # Dates not written YYYY-MM-DD... (rare) are all candidates: Python decides them exactly.
    return f"{text} IS NOT NULL AND ({part} IN ({marks}) OR {text} NOT LIKE '____-__-__%')", wanted


def _candidate_query(journey: Journey, plan: Loaded, now: dt.datetime, after_id: int, limit: int,
                     postgres: bool) -> tuple[str, list[Any]]:
    trigger = plan.spec.trigger
    since, since_values = "COALESCE(c.last_activity_at, c.created_at)", []  # one entry per idle spell
    if trigger.date:
        where, values = _date_filter(trigger.date, now, postgres)
        # One occurrence a day at most: a contact who entered in the last two days is done.
        since, since_values = "?", [now - 2 * DAY]
    elif trigger.inactivity and trigger.inactivity.days:
        where, values = "COALESCE(c.last_activity_at, c.created_at) <= ?", [
            now - dt.timedelta(days=trigger.inactivity.days)]
    else:
        assert trigger.inactivity and trigger.inactivity.unopened
        where, values = "c.consecutive_unopened >= ?", [trigger.inactivity.unopened]
    entry = plan.spec.entry
    if entry.policy == "once_per" and entry.period:  # inside the re-entry window: not yet again
        since, since_values = f"{since} OR e.entered_at > ?", [*since_values, now - parse_duration(entry.period)]
    sql = (f"SELECT c.id FROM contacts c WHERE c.email IS NOT NULL AND c.id > ? AND {where}"
           f" AND NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.contact_id = c.id AND e.journey_id = ?"
           f" AND e.is_test = ? AND (e.entered_at >= {since})) ORDER BY c.id LIMIT ?")
    values = [after_id, *values, journey.id, False, *since_values, limit]
    if postgres:
        for number in range(1, len(values) + 1):
            sql = sql.replace("?", f"${number}", 1)
    return sql, values


async def candidate_ids(journey: Journey, plan: Loaded, now: dt.datetime, *, after_id: int = 0,
                        limit: int = LIMIT) -> list[int]:
    connection = connections.get("default")
    postgres = connection.capabilities.dialect == "postgres"
    sql, values = _candidate_query(journey, plan, now, after_id, limit, postgres)
    _, rows = await connection.execute_query(sql, values)
    return [int(row["id"]) for row in rows]


def _cursor_key(journey: Journey) -> str:
    return f"nurture:time-scan:{journey.id}"


async def _scan_one(services: Services, journey: Journey, version: JourneyVersion, plan: Loaded,
                    now: dt.datetime, limit: int, deadline: float | None) -> int:
    """One page of candidates after the journey's cursor, until the deadline. The cursor stays where
    the work stopped, and wraps to the start once a page comes back short, so candidates the rules
    turn down do not hold back the ones behind them."""
    after_id = int(await services.redis.get(_cursor_key(journey)) or 0)
    ids = await candidate_ids(journey, plan, now, after_id=after_id, limit=limit)
    entered, cursor = 0, ids[-1] if len(ids) == limit else 0
    for contact in await Contact.filter(id__in=ids).order_by("id") if ids else []:
        found = _reason(plan, contact, now)
        if found and await enroll(services, journey, version, contact, reason=found[0],
                                  event={"type": "time", "object_key": found[1], "id": found[1]}):
            entered += 1
        if deadline is not None and time.monotonic() >= deadline and contact.id != ids[-1]:
            cursor = contact.id  # out of time: the next run goes on from the next candidate
            break
    await services.redis.set(_cursor_key(journey), cursor, ex=7 * 86400)
    return entered


async def scan_time_triggers(services: Services, now: dt.datetime, *, limit: int = LIMIT,
                             budget: float | None = None) -> int:
    """Every time-triggered live journey, one page each (the cron runs every minute). With a budget
    (seconds), each journey gets its share of it, so one journey with a large backlog (a win-back
    just published in a large store) cannot keep the others from their turn."""
    plans = [(j, v, p) for j, v, p in await live_plans() if p.spec.trigger.date or p.spec.trigger.inactivity]
    entered = 0
    for journey, version, plan in plans:
        deadline = time.monotonic() + budget / len(plans) if budget is not None else None
        entered += await _scan_one(services, journey, version, plan, now, limit, deadline)
    return entered
