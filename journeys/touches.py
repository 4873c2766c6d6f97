"""The attribution rule itself, pure: shared by stored attribution (journeys/attribution.py) and the
dry run (journeys/simulator.py), so both credit an order to the same email."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.workspace import AttributionConfig

TOUCHES = {"email.clicked": "click", "email.opened": "open"}


@dataclass(frozen=True)
class Touch:
    kind: str  # click | open
    at: dt.datetime
    ref: str  # what was touched: the Message-ID (or provider id) an event named; the step, in a dry run


def chosen_touch(touches: list[Touch], placed_at: dt.datetime, config: AttributionConfig) -> Touch | None:
    """The last click within the click window before the order, else the last open within the open window."""
    for kind, window in (("click", config.click_window), ("open", config.open_window)):
        inside = [t for t in touches if t.kind == kind and placed_at - window <= t.at <= placed_at]
        if inside:
            return max(inside, key=lambda t: t.at)
    return None
