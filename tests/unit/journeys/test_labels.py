"""Step labels and flow order: what reports show instead of document paths."""

from __future__ import annotations

import pytest

from journeys.labels import in_flow_order, span, step_label
from journeys.library import templates
from journeys.program import compile_program
from journeys.validation import load_spec

SPEC = """
key: labels
name: Labels
trigger: {manual: true}
steps:
  - email: cart-reminder
  - wait: 1d
  - branch:
      if: "contact.lead_score >= 50"
      then:
        - slack_task: {kind: hot_lead}
      else:
        - wait_for: {event: email.clicked, timeout: 2d}
          then:
            - email: welcome-1
              name: Second welcome
  - split:
      arms:
        - {name: A, steps: [{wait: 12h}]}
        - {name: B, steps: []}
  - update: {add_tags: [engaged]}
"""


def test_derived_labels_and_a_name_from_the_yaml() -> None:
    program = compile_program(load_spec(SPEC))
    labels = {node.id: step_label(node) for node in program.nodes.values()}
    assert labels["0"] == "Email: cart reminder"
    assert labels["1"] == "Wait 1 day"
    assert labels["2"] == "If contact.lead_score >= 50"
    assert labels["2/then/0"] == "Slack task: hot lead"
    assert labels["2/else/0"] == "Wait for email.clicked (up to 2 days)"
    assert labels["2/else/0/event/0"] == "Second welcome"
    assert labels["3"] == "Split: A / B"
    assert labels["3/arm:A/0"] == "Wait 12 hours"
    assert labels["4"] == "Tag: engaged"


def test_flow_order_follows_each_step_then_its_exits() -> None:
    order = [node.id for node in in_flow_order(compile_program(load_spec(SPEC)))]
    assert order == ["0", "1", "2", "2/then/0", "2/else/0", "2/else/0/event/0", "3", "3/arm:A/0", "4"]


@pytest.mark.parametrize("key", sorted(t.key for t in templates()))
def test_every_template_step_has_a_readable_label_once_in_flow_order(key: str) -> None:
    spec = next(t for t in templates() if t.key == key).spec
    program = compile_program(spec)
    order = list(in_flow_order(program))
    assert sorted(node.id for node in order) == sorted(program.nodes)
    for node in order:
        label = step_label(node)
        assert label and "/" not in label.split(":")[0] and label != node.id, (node.id, label)


def test_spans_read_as_words() -> None:
    assert [span(s) for s in ("1d", "3d", "12h", "2w", "30m", "1s", "90")] == [
        "1 day", "3 days", "12 hours", "2 weeks", "30 minutes", "1 second", "90"]
