"""Per-journey numbers: how many entered, reached each step and arm, converted, exited and why.

Test runs (`/journey test`, simulations) are kept out: only is_test=False enrollments count.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from tortoise.expressions import Subquery
from tortoise.functions import Count

from emails.models import Message
from journeys.models import Enrollment, EnrollmentState, Journey, StepRun
from journeys.store import IN_FLIGHT


@dataclass
class Funnel:
    key: str
    entered: int = 0
    active: int = 0
    completed: int = 0
    converted: int = 0
    exits: Counter[str] = field(default_factory=Counter)
    steps: Counter[str] = field(default_factory=Counter)
    arms: Counter[str] = field(default_factory=Counter)
    arm_conversions: Counter[str] = field(default_factory=Counter)
    waiting: Counter[str] = field(default_factory=Counter)  # people at each step now
    emails: int = 0

    @property
    def goal_rate(self) -> float:
        return self.converted / self.entered if self.entered else 0.0


async def funnel(journey: Journey, since: dt.datetime | None = None) -> Funnel:
    """Counted by the database (GROUP BY over indexed columns, the queries side by side): time and
    memory stay flat with the journey's size, no id list ever leaves the database. `since`: only
    the people who entered from then on (and the steps they ran, the emails they were sent)."""
    result = Funnel(journey.key)
    entered = Enrollment.filter(journey_id=journey.id, is_test=False)
    if since is not None:
        entered = entered.filter(entered_at__gte=since)
    runs = StepRun.filter(journey_ref=journey.id).exclude(kind__in=("end", "goal"))
    messages = Message.filter(journey_ref=journey.id, is_test=False)
    if since is None:  # test runs are few: leaving them out is cheaper than naming everyone else
        runs = runs.exclude(enrollment_id__in=Subquery(
            Enrollment.filter(journey_id=journey.id, is_test=True).values("id")))
    else:
        runs = runs.filter(enrollment_id__in=Subquery(entered.values("id")))
        messages = messages.filter(enrollment_ref__in=Subquery(entered.values("id")))
    groups, steps, waiting, result.emails = await asyncio.gather(
        entered.annotate(n=Count("id")).group_by("state", "exit_reason", "variant").values_list(
            "state", "exit_reason", "variant", "n"),
        # People, not runs: a step deferred (quiet hours, the cap) and run again counts once.
        runs.annotate(n=Count("enrollment_id", distinct=True)).group_by("step_id").values_list("step_id", "n"),
        entered.filter(state__in=IN_FLIGHT).annotate(n=Count("id")).group_by("cursor").values_list("cursor", "n"),
        messages.count(),
    )
    for state, reason, variant, n in groups:
        _add_enrollments(result, EnrollmentState(state), reason, variant, int(n))
    result.steps.update({str(step_id): int(n) for step_id, n in steps})
    result.waiting.update({str(cursor): int(n) for cursor, n in waiting if cursor})
    return result


def _add_enrollments(result: Funnel, state: EnrollmentState, reason: str, variant: str, n: int) -> None:
    result.entered += n
    if state in (EnrollmentState.ACTIVE, EnrollmentState.WAITING, EnrollmentState.PAUSED):
        result.active += n
    elif state == EnrollmentState.COMPLETED:
        result.completed += n
    elif reason == "converted":
        result.converted += n
        if variant:
            result.arm_conversions[variant] += n
    else:
        result.exits[reason or str(state)] += n
    if variant:
        result.arms[variant] += n
