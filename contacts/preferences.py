"""Pure rules for what a contact prefers: the hour they read email, the products they care about."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.intelligence_config import InterestConfig


def local_hour(at: dt.datetime, timezone: str) -> int:
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    aware = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return aware.astimezone(zone).hour


def add_hour(histogram: Mapping[str, Any] | None, hour: int) -> dict[str, int]:
    """Histogram keys are strings (JSON objects have string keys)."""
    counts = {str(k): int(v) for k, v in (histogram or {}).items()}
    counts[str(hour)] = counts.get(str(hour), 0) + 1
    return counts


def best_hour(histogram: Mapping[str, int], current: int | None, min_points: int) -> int | None:
    """The most frequent hour once there are enough data points; ties keep the current hour, else the earliest."""
    if sum(histogram.values()) < min_points:
        return current
    top = max(histogram.values())
    tied = sorted(int(hour) for hour, count in histogram.items() if count == top)
    return current if current in tied else tied[0]


def interest_tags(rows: Iterable[tuple[str, int, int]], config: InterestConfig) -> set[str]:
    """Tags from (product_key, views, purchases): enough views, or any purchase when on_purchase."""
    tags: set[str] = set()
    for key, views, purchases in rows:
        if views < config.min_views and not (config.on_purchase and purchases > 0):
            continue
        if config.tag_products:
            tags.add(f"{config.tag_prefix}{key}")
        category = config.categories.get(key)
        if category:
            tags.add(f"{config.tag_prefix}{category}")
    return tags
