"""Pure rules for the lead score (points per event, cap, decay) and engagement (score and tags)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from core.expressions import evaluate
from core.intelligence_config import DecayConfig, EngagementConfig, ScoringConfig

DAY = dt.timedelta(days=1)


def lead_points(config: ScoringConfig, event: Mapping[str, Any], contact: Mapping[str, Any]) -> int:
    """The points every matching rule gives this event (rules add up)."""
    total = 0
    for rule in config.rules:
        if rule.event != event.get("type"):
            continue
        if rule.where and not evaluate(rule.where, {"event": event, "contact": contact})[0]:
            continue
        total += rule.points
    return total


def add_points(score: int, points: int, cap: int) -> int:
    """Add points up to the cap (a score already above it is not cut back), never below zero."""
    if points > 0:
        return max(score, min(cap, score + points))
    return max(0, score + points)


def decay_once(score: int, config: DecayConfig) -> int:
    return max(0, int(score * (100 - config.percent) / 100) - config.points)


def decay(score: int, idle_since: dt.datetime, now: dt.datetime, config: DecayConfig,
          state: Mapping[str, Any] | None) -> tuple[int, dict[str, Any]]:
    """Decay for each full period of inactivity not yet applied; returns (score, new bookkeeping).

    The bookkeeping (periods already applied since `idle_since`) makes a cron that runs
    twice a day, or is late, apply each period exactly once.
    """
    since = idle_since.isoformat()
    periods = max(0, int((now - idle_since) / (config.every_days * DAY)))
    done = int(state.get("periods", 0)) if state and state.get("since") == since else 0
    for _ in range(max(0, periods - done)):
        if score <= 0:
            break
        score = decay_once(score, config)
    return score, {"since": since, "periods": periods}


def engagement_update(state: Mapping[str, Any] | None, score: int, added: float, now: dt.datetime,
                      config: EngagementConfig) -> tuple[int, dict[str, Any]]:
    """Decay the engagement score by its half-life since the last update, then add `added`.

    The exact value lives in `state`; when the stored score no longer matches it (a journey
    reset or raised it), the stored score wins as the new starting point.
    """
    value, since, kept = float(score), now, False
    if state and round(float(state.get("value", -1))) == score and state.get("at"):
        value, since, kept = float(state["value"]), dt.datetime.fromisoformat(str(state["at"])), True
    if value == 0 and added == 0 and state:
        return 0, dict(state)  # nothing to fade: leave the bookkeeping (and the row) alone
    elapsed = max(0.0, (now - since) / DAY)
    faded_value = max(0.0, min(float(config.max_score), value * 0.5 ** (elapsed / config.half_life_days) + added))
    if kept and added == 0 and round(faded_value) == score:
        # Halving composes: fading later from the old bookkeeping gives the same value, so a
        # refresh that changes no visible score leaves the row as it is (a second run writes nothing).
        return score, dict(state or {})
    return round(faded_value), {"value": faded_value, "at": max(now, since).isoformat()}


def faded(weight: int, at: dt.datetime, now: dt.datetime, config: EngagementConfig) -> float:
    """An event's weight as it counts now: an old event (a late or imported one) counts less."""
    age = max(0.0, (now - at) / DAY)
    return weight * 0.5 ** (age / config.half_life_days)


def seen(state: Mapping[str, Any] | None, kind: str, at: dt.datetime) -> dict[str, str]:
    """Record the latest time of an event type (out-of-order events never move it back)."""
    latest = dict(state or {})
    previous = latest.get(kind)
    if previous is None or dt.datetime.fromisoformat(str(previous)) < at:
        latest[kind] = at.isoformat()
    return latest


def parse_seen(state: Mapping[str, Any] | None) -> dict[str, dt.datetime]:
    return {kind: dt.datetime.fromisoformat(str(at)) for kind, at in (state or {}).items()}


def engagement_tag(latest: Mapping[str, dt.datetime], last_activity: dt.datetime | None, now: dt.datetime,
                   config: EngagementConfig) -> str:
    """The first tag rule that holds, else the fallback tag."""
    for rule in config.tags:
        since = now - rule.within_days * DAY
        if rule.events:
            seen = [latest[kind] for kind in rule.events if kind in latest]
        else:
            seen = [last_activity] if last_activity else []
        if any(at >= since for at in seen):
            return rule.tag
    return config.fallback_tag


def engagement_tags(config: EngagementConfig) -> set[str]:
    return {rule.tag for rule in config.tags} | {config.fallback_tag}


def retag(tags: Sequence[str], chosen: str, family: set[str]) -> list[str]:
    """Exactly one tag of the family: `chosen`; other tags untouched."""
    return sorted((set(tags) - family) | {chosen})


def current_tag(tags: Sequence[str], family: set[str]) -> str:
    found = sorted(set(tags) & family)
    return found[0] if found else ""


def tracked_types(config: EngagementConfig) -> set[str]:
    """The event types whose latest time the tag rules need."""
    return {kind for rule in config.tags for kind in rule.events}
