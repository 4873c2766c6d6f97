import datetime as dt
from zoneinfo import ZoneInfo

from bot.business_hours import add_business_hours

WEEKDAYS = frozenset(range(5))
NINE, FIVE = dt.time(9), dt.time(17)
BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_within_one_working_day() -> None:
    # Tuesday 10:00 UTC + 2 h
    assert add_business_hours(at("2026-03-03T10:00"), 2, NINE, FIVE, WEEKDAYS, UTC) == at("2026-03-03T12:00")


def test_carries_over_the_night() -> None:
    # Tuesday 16:00 + 2 h = 1 h today, 1 h from Wednesday 09:00
    assert add_business_hours(at("2026-03-03T16:00"), 2, NINE, FIVE, WEEKDAYS, UTC) == at("2026-03-04T10:00")


def test_skips_the_weekend_and_starts_at_opening() -> None:
    # Saturday 12:00 + 2 h = Monday 11:00
    assert add_business_hours(at("2026-03-07T12:00"), 2, NINE, FIVE, WEEKDAYS, UTC) == at("2026-03-09T11:00")
    # Friday 20:00 (after closing) + 0.5 h = Monday 09:30
    assert add_business_hours(at("2026-03-06T20:00"), 0.5, NINE, FIVE, WEEKDAYS, UTC) == at(
        "2026-03-09T09:30")


def test_in_the_team_timezone() -> None:
    # 07:00 UTC is 08:00 in Berlin (winter): the day opens at 09:00 Berlin = 08:00 UTC
    assert add_business_hours(at("2026-03-03T07:00"), 1, NINE, FIVE, WEEKDAYS, BERLIN) == at("2026-03-03T09:00")
