"""Business hours: the hand-off SLA only counts time when the sales team is at work."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def add_business_hours(start: dt.datetime, hours: float, opens: dt.time, closes: dt.time, days: frozenset[int],
                       zone: ZoneInfo) -> dt.datetime:
    """`start` plus `hours` of open time (days: 0 = Monday), in the team's timezone."""
    remaining = dt.timedelta(hours=hours)
    local = start.astimezone(zone)
    for _ in range(370):  # a year of days at most, even with odd settings
        day_open = dt.datetime.combine(local.date(), opens, tzinfo=zone)
        day_close = dt.datetime.combine(local.date(), closes, tzinfo=zone)
        if local.weekday() in days and local < day_close:
            begin = max(local, day_open)
            if begin + remaining <= day_close:
                return (begin + remaining).astimezone(dt.UTC)
            remaining -= day_close - begin
        local = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return (start + dt.timedelta(hours=hours)).astimezone(dt.UTC)
