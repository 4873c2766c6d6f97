"""Durations as marketers write them: 30m, 12h, 3d, 2w, 1d12h (and signed offsets: -7d)."""

from __future__ import annotations

import datetime as dt
import re

_PART = re.compile(r"(\d+)([smhdw])")
_WHOLE = re.compile(r"^-?(\d+[smhdw])+$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Longer is a typo (a journey step, a timeout or an offset ten years out), and past ~2.7 million
# years timedelta itself overflows: refused with a message instead.
MAX_SECONDS = 3653 * 86400


def parse_duration(text: object) -> dt.timedelta:
    """Raises ValueError with the message shown to the person who wrote the journey."""
    value = str(text).strip().replace(" ", "") if isinstance(text, str | int) else ""
    if not _WHOLE.match(value):
        raise ValueError(f"{text!r} is not a duration, e.g. 3d, 12h".replace("'", '"'))
    seconds = sum(int(n) * _UNIT[u] for n, u in _PART.findall(value))
    if seconds > MAX_SECONDS:
        raise ValueError(f"{str(text)[:40]!r} is longer than ten years; e.g. 3d, 12h".replace("'", '"'))
    return dt.timedelta(seconds=-seconds if value.startswith("-") else seconds)


def parse_span(text: object) -> dt.timedelta:
    """A wait, timeout or period: a duration that cannot be negative."""
    span = parse_duration(text)
    if span < dt.timedelta(0):
        raise ValueError(f"{str(text)[:40]!r} is negative: a wait or timeout runs forward, e.g. 3d".replace("'", '"'))
    return span


def format_duration(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    for unit in ("w", "d", "h", "m"):
        if seconds and seconds % _UNIT[unit] == 0:
            return f"{sign}{seconds // _UNIT[unit]}{unit}"
    return f"{sign}{seconds}s"
