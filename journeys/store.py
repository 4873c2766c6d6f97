"""Journeys in the database: import (new immutable version on change), publish, pause, archive."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tortoise.expressions import F
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from core.errors import BadRequest, NotFound
from journeys.models import (
    Enrollment,
    EnrollmentState,
    InFlightPolicy,
    Journey,
    JourneyStatus,
    JourneyVersion,
)
from journeys.program import Program, compile_program
from journeys.spec import JourneySpec
from journeys.validation import parse_spec

IN_FLIGHT = (EnrollmentState.ACTIVE, EnrollmentState.WAITING, EnrollmentState.PAUSED)


def spec_json(spec: JourneySpec) -> dict[str, Any]:
    return spec.model_dump(mode="json", by_alias=True)


def checksum(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Loaded:
    spec: JourneySpec
    program: Program


@lru_cache(maxsize=512)
def _load_cached(version_id: int, digest: str, text: str) -> Loaded:
    spec = parse_spec(json.loads(text))
    return Loaded(spec, compile_program(spec))


def loaded(version: JourneyVersion) -> Loaded:
    """Versions are immutable, so the parsed spec and program are cached per version."""
    return _load_cached(version.id, version.checksum, json.dumps(version.spec))


async def get_journey(key: str) -> Journey:
    journey = await Journey.get_or_none(key=key)
    if journey is None:
        raise NotFound(f"no journey {key!r}: see `nurture journeys list`")
    return journey


async def latest_version(journey: Journey) -> JourneyVersion:
    version = await JourneyVersion.filter(journey=journey).order_by("-number").first()
    if version is None:
        raise NotFound(f"journey {journey.key!r} has no version")
    return version


async def live_version(journey: Journey) -> JourneyVersion | None:
    if not journey.live_version_number:
        return None
    return await JourneyVersion.get_or_none(journey=journey, number=journey.live_version_number)


async def import_spec(spec: JourneySpec, created_by: str = "", template_key: str = "") -> tuple[Journey, bool]:
    """Store a spec; returns (journey, new_version_created). Unchanged specs add nothing."""
    data = spec_json(spec)
    digest = checksum(data)
    async with in_transaction():
        journey = await Journey.get_or_none(key=spec.key)
        if journey is None:
            journey = await Journey.create(key=spec.key, name=spec.name, priority=spec.priority,
                                           exclusive=spec.exclusive, created_by=created_by, template_key=template_key)
            number = 1
        else:
            latest = await latest_version(journey)
            if latest.checksum == digest:
                return journey, False
            number = latest.number + 1
            journey.name, journey.priority, journey.exclusive = spec.name, spec.priority, spec.exclusive
            await journey.save()
        await JourneyVersion.create(journey=journey, number=number, spec=data, checksum=digest, created_by=created_by)
    return journey, True


async def release_paused(finished_ids: list[int]) -> int:
    """Enrollments that finished (or were stopped) let the journeys they paused for the contact go on."""
    if not finished_ids:
        return 0
    # The seq moves on too, so a step decided before the pause cannot commit over the resume.
    return await Enrollment.filter(paused_by__in=finished_ids, state=EnrollmentState.PAUSED).update(
        state=EnrollmentState.WAITING, paused_by=None, seq=F("seq") + 1)


async def exit_in_flight(query: QuerySet[Enrollment], reason: str, at: dt.datetime | None = None) -> int:
    """Exit these enrollments now, moving seq on (a step decided a moment ago cannot commit over
    the exit) and releasing what any of them paused."""
    rows: list[Any] = await query.filter(state__in=IN_FLIGHT).values_list("id", flat=True)
    ids = [int(i) for i in rows]
    if not ids:
        return 0
    async with in_transaction():
        exited = await Enrollment.filter(id__in=ids, state__in=IN_FLIGHT).update(
            state=EnrollmentState.EXITED, exit_reason=reason, finished_at=at or dt.datetime.now(dt.UTC),
            next_run_at=None, seq=F("seq") + 1)
        await release_paused(ids)
    return exited


async def _move_in_flight(journey: Journey, new: JourneyVersion, policy: InFlightPolicy) -> int:
    old = Enrollment.filter(journey=journey, state__in=IN_FLIGHT).exclude(version_id=new.id)
    if policy == InFlightPolicy.STAY:
        return 0
    if policy == InFlightPolicy.EXIT:
        return await exit_in_flight(old, f"version {new.number} published")
    nodes = loaded(new).program.nodes
    movable = [e.id for e in await old if e.cursor in nodes or e.cursor == ""]
    return await Enrollment.filter(id__in=movable).update(version_id=new.id, seq=F("seq") + 1) if movable else 0


async def publish(key: str, policy: InFlightPolicy = InFlightPolicy.STAY) -> tuple[JourneyVersion, int]:
    """Make the newest version live; returns it and how many in-flight enrollments were moved or exited."""
    journey = await get_journey(key)
    if journey.status == JourneyStatus.ARCHIVED:
        raise BadRequest(f"journey {key!r} is archived; import it again under a new key")
    version = await latest_version(journey)
    async with in_transaction():
        version.in_flight_policy = policy
        version.published_at = version.published_at or dt.datetime.now(dt.UTC)
        await version.save()
        journey.live_version_number = version.number
        journey.status = JourneyStatus.LIVE
        await journey.save()
        changed = await _move_in_flight(journey, version, policy)
    return version, changed


async def set_status(key: str, status: JourneyStatus) -> Journey:
    journey = await get_journey(key)
    allowed = {
        JourneyStatus.PAUSED: {JourneyStatus.LIVE},
        JourneyStatus.LIVE: {JourneyStatus.PAUSED},
        JourneyStatus.ARCHIVED: {JourneyStatus.DRAFT, JourneyStatus.LIVE, JourneyStatus.PAUSED},
    }
    if journey.status not in allowed[status]:
        verb = {JourneyStatus.LIVE: "resume", JourneyStatus.PAUSED: "pause", JourneyStatus.ARCHIVED: "archive"}
        raise BadRequest(f"cannot {verb[status]} {key!r}: it is {journey.status.value}")
    journey.status = status
    await journey.save(update_fields=["status", "updated_at"])
    if status == JourneyStatus.ARCHIVED:
        await exit_in_flight(Enrollment.filter(journey=journey), "journey archived")
    return journey


# Loaded plans by (journey id, live version number): versions never change once written.
_plans: dict[tuple[int, int], tuple[JourneyVersion, Loaded]] = {}


async def live_plans() -> list[tuple[Journey, JourneyVersion, Loaded]]:
    """Every live journey with its live version; one query per event once the versions are known."""
    plans = []
    for journey in await Journey.filter(status=JourneyStatus.LIVE):
        cache_key = (journey.id, journey.live_version_number or 0)
        if cache_key not in _plans:
            version = await live_version(journey)
            if version is None:
                continue
            _plans[cache_key] = (version, loaded(version))
        version, plan = _plans[cache_key]
        plans.append((journey, version, plan))
    return plans


def clear_plan_cache() -> None:
    _plans.clear()
