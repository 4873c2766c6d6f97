"""The journey schema: what validates, and the errors people see when it does not."""

from __future__ import annotations

import pytest

from journeys.durations import parse_duration
from journeys.program import compile_program
from journeys.validation import SpecError, load_spec

GOOD = """
key: abandoned-cart
name: Abandoned cart recovery
trigger: {event: checkout.abandoned, where: "event.properties.total_price|float >= 20", keyed: true}
entry: {policy: once_per, period: 30d}
goal: {event: order.created}
exit_when: ["contact.unsubscribed"]
quiet_hours: {start: "21:00", end: "08:00"}
steps:
  - wait: 1h
  - email: cart-reminder
  - wait_for: {event: email.clicked, timeout: 24h}
    on_timeout:
      - coupon: cart10
      - email: cart-discount
  - branch:
      if: contact.lead_score >= 50
      then: [{slack_task: {kind: hot_lead}}]
      else: [{update: {add_tags: [cart-recovered]}}]
  - split: {arms: [{name: A, weight: 1, steps: [{email: cart-reminder}]}, {name: B, weight: 3}]}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as error:
        load_spec(text)
    return error.value.problems


def test_good_journey_compiles_to_linked_nodes() -> None:
    program = compile_program(load_spec(GOOD))
    assert program.start == "0"
    assert program.node("1").kind == "email" and program.node("1").next == "2"
    waiter = program.node("2")
    assert waiter.exits == {"event": "3", "timeout": "2/timeout/0"}
    assert program.node("2/timeout/1").next == "3"
    assert program.node("3").exits == {"then": "3/then/0", "else": "3/else/0"}
    assert program.node("4").exits == {"arm:A": "4/arm:A/0", "arm:B": None}


def test_every_error_has_its_path() -> None:
    found = problems("""
key: Bad Key
name: x
trigger: {event: a, where: "a >="}
entry: {policy: once_per}
steps:
  - wait: 1h
  - email: cart-reminder
  - wait: 3x
  - frobnicate: 1
  - branch: {if: "x.__class__", then: [{wait: 2y}]}
  - wait_for: {event: e}
""")
    assert "key: 'Bad Key' is not a key: use lower-case letters, digits and dashes" in found
    assert any(p.startswith("trigger.where: 'a >=' is not a valid expression") for p in found)
    assert "entry: `period` goes with policy once_per (and only with it)" in found
    assert 'steps[2].wait: "3x" is not a duration, e.g. 3d, 12h' in found
    assert any(p.startswith("steps[3]: a step needs exactly one of: wait, wait_for") for p in found)
    assert "steps[4].branch.if: 'x.__class__': names starting with '_' are not allowed" in found
    assert 'steps[4].branch.then[0].wait: "2y" is not a duration, e.g. 3d, 12h' in found
    assert "steps[5].wait_for.timeout: Field required" in found


def test_trigger_needs_exactly_one_source() -> None:
    found = problems("key: k\nname: n\ntrigger: {}\nsteps: [{wait: 1d}]\n")
    assert found == ["trigger: a trigger needs event, segment, date, inactivity or manual: true"]
    found = problems("key: k\nname: n\ntrigger: {event: a, segment: 'contact.lead_score > 1'}\nsteps: [{wait: 1d}]\n")
    assert "a trigger has one of event, segment, date, inactivity (got event, segment)" in found[0]


def test_not_yaml_and_not_a_mapping() -> None:
    assert problems("key: [unclosed")[0].startswith("(document): not valid YAML")
    assert problems("- just\n- a list\n") == [
        "(document): a journey is a YAML mapping with key, name, trigger and steps"
    ]


def test_duplicate_step_ids_are_refused() -> None:
    spec = load_spec("key: k\nname: n\ntrigger: {manual: true}\nsteps: [{id: a, wait: 1d}, {id: a, wait: 2d}]\n")
    with pytest.raises(ValueError, match="step id 'a' is used twice"):
        compile_program(spec)


@pytest.mark.parametrize(("step", "problem"), [
    ("wait: -3d", "negative"), ("wait: 100000d", "longer than ten years"),
    ("wait: " + "9" * 40 + "w", "longer than ten years"),
    ("wait_for: {event: email.clicked, timeout: -1h}", "negative"),
])
def test_waits_and_timeouts_run_forward_and_stay_within_ten_years(step: str, problem: str) -> None:
    source = f"key: spans\nname: Spans\ntrigger: {{event: order.created}}\nsteps:\n  - {step}\n  - email: welcome-1\n"
    with pytest.raises(SpecError, match=problem):
        load_spec(source)


def test_offsets_may_be_negative() -> None:
    assert parse_duration("-7d").days == -7
