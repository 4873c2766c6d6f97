"""Every library template validates, its emails exist and render, and it simulates to a sensible funnel."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emails.library import shared_library
from emails.render import render
from emails.samples import sample_context
from journeys.library import TEMPLATES, Template, templates
from journeys.program import compile_program
from journeys.simulator import simulate
from journeys.spec import ApprovalStep, EmailStep, JourneySpec
from journeys.validation import load_spec

KEYS = sorted(path.stem for path in TEMPLATES.glob("*.yml"))
# Journeys meant to keep going past a simulated year (a quarterly touch for a year).
LONG_RUNNING = {"evangelist", "win-back", "quote-no-purchase", "loyalty-program"}


def _walk(steps: list[Any]) -> Iterator[Any]:
    for step in steps:
        yield step
        for name in ("then", "on_timeout", "on_reject"):
            yield from _walk(getattr(step, name, None) or [])
        inner = getattr(step, step.kind, None)
        if hasattr(inner, "else_"):
            yield from _walk(inner.then)
            yield from _walk(inner.else_)
        for arm in getattr(inner, "arms", None) or []:
            yield from _walk(arm.steps)


def _emails(spec: JourneySpec) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for step in _walk(list(spec.steps)):
        if isinstance(step, EmailStep):
            found.append((step.email, step.subject))
        elif isinstance(step, ApprovalStep):
            found.append((step.approval.email, None))
    return found


def _template(key: str) -> Template:
    return next(t for t in templates() if t.key == key)


@pytest.mark.parametrize("key", KEYS)
def test_template_validates_with_a_real_description(key: str) -> None:
    spec = load_spec((TEMPLATES / f"{key}.yml").read_text())
    assert spec.key == key
    assert len(spec.description.split()) >= 15, "say when to use it and what to adjust"
    assert "lorem" not in spec.description.lower()


@pytest.mark.parametrize("key", KEYS)
def test_every_email_exists_and_renders(key: str) -> None:
    library = shared_library()
    for name, subject in _emails(_template(key).spec):
        assert name in library.names(), f"{key}: no emails/templates/{name}.mjml.j2"
        library.validate(name)
        rendered = render(library, name, sample_context(), subject=subject)
        assert rendered.subject.strip() and "lorem" not in rendered.text.lower()
        assert "Léa" in rendered.subject + rendered.text or name.startswith("quote")  # personalised
        assert rendered.text.count("\n") > 5


@pytest.mark.parametrize("key", KEYS)
def test_simulated_funnel_is_sensible(key: str) -> None:
    spec = _template(key).spec
    result = simulate(spec, compile_program(spec), 2000, 365, seed=1)
    assert result.entered == 2000  # the simulator enters every contact, whatever the trigger
    kinds = {step.kind for step in _walk(list(spec.steps))}
    if "email" in kinds or "approval" in kinds:
        assert result.emails > 0
    if kinds & {"slack_task", "approval"}:
        assert result.tasks > 0
    finished = result.completed + result.converted + sum(result.exits.values())
    assert finished + result.in_flight == result.entered
    if key not in LONG_RUNNING:
        assert result.in_flight < result.entered / 2, "most runs should finish within a year"
    assert finished > 0


def test_simulated_nps_answers_take_every_branch() -> None:
    spec = _template("nps-follow-up").spec
    result = simulate(spec, compile_program(spec), 2000, 365, seed=1)
    by_template = result.emails_by_template
    assert by_template["nps-promoter"] > by_template["nps-detractor-apology"] > 0
    assert by_template["nps-passive"] > 0
    assert 0 < result.tasks < 2000  # only detractors make a task


def test_simulated_form_answers_reach_wait_for_paths() -> None:
    spec = _template("post-purchase-feedback").spec
    result = simulate(spec, compile_program(spec), 2000, 365, seed=1)
    thanks, reminders = (result.emails_by_template["post-purchase-feedback-thanks"],
                         result.emails_by_template["post-purchase-feedback-reminder"])
    assert 0 < thanks < reminders


def test_lead_nurture_takes_both_offer_branches() -> None:
    # Synthetic contacts carry plausible tags: some already took a first offer and get the series.
    spec = _template("lead-nurture").spec
    result = simulate(spec, compile_program(spec), 2000, 365, seed=1)
    assert 0 < result.exits["first conversion recorded"] < result.entered
    assert result.emails_by_template["lead-nurture-1"] >= result.emails_by_template["lead-nurture-3"] > 0


def test_recorded_contacts_enter_with_their_own_attributes_and_stay_untouched() -> None:
    from journeys.engine import Facts

    spec = _template("lead-nurture").spec
    people = [Facts(data={"id": i, "email": f"r{i}@example.com", "tags": ["offer-converted"], "lead_score": 80,
                          "unsubscribed": False}) for i in range(3)]
    result = simulate(spec, compile_program(spec), 1000, 60, seed=1, recorded=people)
    assert result.entered == 3 and result.contacts == 3
    assert result.exits["first conversion recorded"] == 0  # their real tags, not synthetic ones
    assert result.emails_by_template["lead-nurture-1"] == 3
    assert all(p.data["tags"] == ["offer-converted"] and p.data["lead_score"] == 80 for p in people)
