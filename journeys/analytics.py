"""Per-journey numbers: how many entered, reached each step and arm, converted, exited and why.

Test runs (`/journey test`, simulations) are kept out: only is_test=False enrollments count.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from tortoise.expressions import Subquery
from tortoise.functions import Count

from emails.models import Message
from journeys.models import Enrollment, EnrollmentState, Journey, StepRun


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
    emails: int = 0

    @property
    def goal_rate(self) -> float:
        return self.converted / self.entered if self.entered else 0.0


async def funnel(journey: Journey) -> Funnel:
    """Counted by the database (GROUP BY over indexed columns, the three queries side by side):
    time and memory stay flat with the journey's size, no id list ever leaves the database."""
    result = Funnel(journey.key)
    tests = Subquery(Enrollment.filter(journey_id=journey.id, is_test=True).values("id"))
    groups, steps, result.emails = await asyncio.gather(
        Enrollment.filter(journey_id=journey.id, is_test=False).annotate(n=Count("id")).group_by(
            "state", "exit_reason", "variant").values_list("state", "exit_reason", "variant", "n"),
        StepRun.filter(journey_ref=journey.id).exclude(kind__in=("end", "goal")).exclude(
            # People, not runs: a step deferred (quiet hours, the cap) and run again counts once.
            enrollment_id__in=tests).annotate(n=Count("enrollment_id", distinct=True)).group_by(
            "step_id").values_list("step_id", "n"),
        Message.filter(journey_ref=journey.id, is_test=False).count(),
    )
    for state, reason, variant, n in groups:
        _add_enrollments(result, EnrollmentState(state), reason, variant, int(n))
    result.steps.update({str(step_id): int(n) for step_id, n in steps})
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
