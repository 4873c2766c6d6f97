"""Per-journey numbers: how many entered, reached each step and arm, converted, exited and why.

Test runs (`/journey test`, simulations) are kept out: only is_test=False enrollments count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

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
    result = Funnel(journey.key)
    enrollments = await Enrollment.filter(journey=journey, is_test=False).values_list(
        "id", "state", "exit_reason", "variant"
    )
    ids = [row[0] for row in enrollments]
    for _, state, reason, variant in enrollments:
        result.entered += 1
        if state in (EnrollmentState.ACTIVE, EnrollmentState.WAITING, EnrollmentState.PAUSED):
            result.active += 1
        elif state == EnrollmentState.COMPLETED:
            result.completed += 1
        elif reason == "converted":
            result.converted += 1
            result.arm_conversions[variant] += 1 if variant else 0
        else:
            result.exits[reason or str(state)] += 1
        if variant:
            result.arms[variant] += 1
    for step_id, kind in await StepRun.filter(enrollment_id__in=ids).values_list("step_id", "kind"):
        if kind not in ("end", "goal"):
            result.steps[step_id] += 1
    result.emails = await Message.filter(enrollment_ref__in=ids, is_test=False).count() if ids else 0
    return result
