"""Clocks: the real one, a fast one for demos (`--clock-speed`), and a settable one for tests.

Every timer in the database is in clock time, so a journey that waits three days
runs in minutes at 3600x, and tests move time by hand instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class Clock(Protocol):
    # Clock seconds per real second: real-time limits (job leases) are scaled by it.
    speed: float

    def now(self) -> dt.datetime: ...


class RealClock:
    speed = 1.0

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FastClock:
    def __init__(self, speed: float, start: dt.datetime | None = None) -> None:
        self.speed = speed
        self.start = start or dt.datetime.now(dt.UTC)
        self._origin = time.monotonic()

    def now(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=(time.monotonic() - self._origin) * self.speed)


class ManualClock:
    speed = 1.0  # tests move it by hand and expect leases in clock time

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.current = start or dt.datetime.now(dt.UTC)

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        self.current += delta
        return self.current

    def set(self, when: dt.datetime) -> None:
        self.current = when
