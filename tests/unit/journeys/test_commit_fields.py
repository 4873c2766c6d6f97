"""What a decided step writes onto its enrollment (journeys.commit.fields_after): a pure function,
so every outcome's fields are checked here, without a database."""

from __future__ import annotations

import datetime as dt

from journeys.commit import fields_after
from journeys.effects import StepEffects
from journeys.engine import Outcome
from journeys.models import Enrollment, EnrollmentState

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=2)


def _enrollment() -> Enrollment:
    return Enrollment(seq=4, cursor="3", variant="b", context={"event": {"id": 1}, "_waiting": "old"})


def _fields(**outcome: object) -> dict[str, object]:
    base: dict[str, object] = {"node": "3", "kind": "email", "next_node": "4", "status": "active", "trace": "t"}
    return fields_after(_enrollment(), Outcome(**{**base, **outcome}), NOW, StepEffects())  # type: ignore[arg-type]


def test_a_step_moves_the_sequence_and_the_cursor_on() -> None:
    fields = _fields()
    assert (fields["seq"], fields["cursor"], fields["state"]) == (5, "4", EnrollmentState.ACTIVE)
    assert (fields["next_run_at"], fields["finished_at"], fields["exit_reason"]) == (NOW, None, "")
    assert fields["variant"] == "b" and fields["context"] == {"event": {"id": 1}}


def test_completion_finishes_the_run() -> None:
    fields = _fields(next_node=None, status="completed")
    assert (fields["state"], fields["cursor"], fields["next_run_at"]) == (EnrollmentState.COMPLETED, "", None)
    assert (fields["finished_at"], fields["exit_reason"]) == (NOW, "completed")


def test_an_exit_finishes_the_run_with_its_reason() -> None:
    fields = _fields(next_node=None, status="exited", exit_reason="converted")
    assert (fields["state"], fields["next_run_at"], fields["finished_at"]) == (EnrollmentState.EXITED, None, NOW)
    assert fields["exit_reason"] == "converted"
    assert _fields(next_node=None, status="exited")["exit_reason"] == ""


def test_waiting_for_an_event_is_remembered_until_the_deadline() -> None:
    fields = _fields(status="waiting", waiting="wait_for", wait_event="order.created", run_at=LATER, deadline=LATER)
    assert (fields["state"], fields["wait_event"], fields["wait_deadline"]) == (
        EnrollmentState.WAITING, "order.created", LATER)
    assert fields["next_run_at"] == LATER and fields["context"]["_waiting"] == "wait_for"  # type: ignore[index]
    assert (fields["finished_at"], fields["exit_reason"]) == (None, "")


def test_a_deferred_step_waits_for_its_time_not_for_an_event() -> None:
    # Quiet hours: the step runs again at run_at; no event may wake it early.
    fields = _fields(status="waiting", waiting="wait_for", wait_event="order.created", run_at=LATER, deferred=True)
    assert (fields["wait_event"], fields["next_run_at"]) == (None, LATER)
    assert "_waiting" not in fields["context"]  # type: ignore[operator]


def test_a_plain_wait_names_no_event() -> None:
    fields = _fields(status="waiting", run_at=LATER)
    assert (fields["wait_event"], fields["next_run_at"]) == (None, LATER)
    assert "_waiting" not in fields["context"]  # type: ignore[operator]


def test_a_split_arm_is_kept() -> None:
    assert _fields(variant="a")["variant"] == "a"
