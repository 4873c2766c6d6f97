"""The engine's decisions, without any I/O."""

from __future__ import annotations

import datetime as dt

from journeys.engine import (
    Facts,
    State,
    decide,
    entry_bucket,
    goal_reached,
    pick_arm,
    resume_on_decision,
    resume_on_event,
    with_cursor,
)
from journeys.program import compile_program
from journeys.validation import load_spec

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
CART = load_spec("""
key: abandoned-cart
name: Cart
trigger: {event: checkout.abandoned, keyed: true}
goal: {event: order.created}
exit_when: ["contact.unsubscribed"]
quiet_hours: {start: "21:00", end: "08:00"}
steps:
  - wait: 1h
  - email: cart-reminder
  - wait_for: {event: email.clicked, timeout: 24h}
    on_timeout: [{email: cart-discount}]
  - branch:
      if: contact.lead_score >= 50
      then: [{slack_task: {kind: hot_lead}}]
  - exit: done
""")
PROGRAM = compile_program(CART)
FACTS = Facts(data={"lead_score": 10, "unsubscribed": False, "email": "a@b.example"}, timezone="Europe/Berlin")


def run(state: State, facts: Facts = FACTS, now: dt.datetime = NOW):  # type: ignore[no-untyped-def]
    return decide(PROGRAM, CART, state, facts, now)


def test_wait_parks_until_the_duration_passes() -> None:
    outcome = run(State(node="0"))
    assert outcome.status == "waiting" and outcome.next_node == "1"
    assert outcome.run_at == NOW + dt.timedelta(hours=1)
    assert outcome.trace == "waited 1h"


def test_email_is_sent_in_daytime() -> None:
    outcome = run(State(node="1"))
    assert [a.kind for a in outcome.actions] == ["send_email"]
    assert outcome.actions[0].params["template"] == "cart-reminder"
    assert outcome.next_node == "2" and outcome.status == "active"


def test_quiet_hours_defer_in_the_contacts_timezone() -> None:
    night = dt.datetime(2026, 3, 10, 22, 30, tzinfo=dt.UTC)  # 23:30 in Berlin
    outcome = run(State(node="1"), now=night)
    assert outcome.deferred and outcome.actions == ()
    assert outcome.next_node == "1"
    assert outcome.run_at == dt.datetime(2026, 3, 11, 7, 0, tzinfo=dt.UTC)  # 08:00 Berlin
    assert outcome.trace == "cart-reminder deferred by quiet hours to 08:00 Europe/Berlin"


def test_quiet_hours_are_the_contacts_night_not_utcs() -> None:
    # 13:30 UTC is afternoon in UTC but 22:30 in Tokyo: deferred; 23:00 UTC is 08:00 in Tokyo: sent.
    tokyo = Facts(data=FACTS.data, timezone="Asia/Tokyo")
    afternoon_utc = dt.datetime(2026, 3, 10, 13, 30, tzinfo=dt.UTC)
    outcome = run(State(node="1"), facts=tokyo, now=afternoon_utc)
    assert outcome.deferred and outcome.run_at == dt.datetime(2026, 3, 10, 23, 0, tzinfo=dt.UTC)
    night_utc = dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC)
    assert [a.kind for a in run(State(node="1"), facts=tokyo, now=night_utc).actions] == ["send_email"]


def test_frequency_cap_defers_never_drops() -> None:
    facts = Facts(data=FACTS.data, recent_marketing_sends=(NOW - dt.timedelta(hours=3),))
    outcome = run(State(node="1"), facts=facts)
    assert outcome.deferred and outcome.run_at == NOW + dt.timedelta(hours=21)
    assert "capped by the 1-per-24h rule" in outcome.trace


def test_suppressed_contact_gets_no_marketing_email() -> None:
    facts = Facts(data=FACTS.data, marketable=False, why_not_marketable="suppressed (hard bounce)")
    outcome = run(State(node="1"), facts=facts)
    assert outcome.actions == () and outcome.next_node == "2"
    assert outcome.trace == "skipped cart-reminder because suppressed (hard bounce)"


def test_wait_for_event_then_timeout() -> None:
    parked = run(State(node="2"))
    assert parked.status == "waiting" and parked.wait_event == "email.clicked"
    assert parked.deadline == NOW + dt.timedelta(hours=24)
    state = with_cursor(State(node="2", object_key="checkout:1"), parked)
    assert state.waiting == "event"
    other_cart = {"type": "email.clicked", "object_key": "checkout:2"}
    assert resume_on_event(PROGRAM, state, other_cart, FACTS) is None
    resumed = resume_on_event(PROGRAM, state, {"type": "email.clicked", "object_key": "checkout:1"}, FACTS)
    assert resumed is not None and resumed.next_node == "3"
    timed_out = run(state, now=NOW + dt.timedelta(hours=24))
    assert timed_out.next_node == "2/timeout/0"
    assert timed_out.trace == "no email.clicked within 24h: took the timeout path"


def test_branch_explains_itself() -> None:
    outcome = run(State(node="3"))
    assert outcome.next_node == "4"
    assert outcome.trace == (
        "branch took `else` because `contact.lead_score >= 50` was false (`contact.lead_score` was 10)"
    )
    hot = run(State(node="3"), facts=Facts(data={**FACTS.data, "lead_score": 70}))
    assert hot.next_node == "3/then/0"


def test_branch_on_missing_value_is_false_not_a_crash() -> None:
    outcome = run(State(node="3"), facts=Facts(data={"unsubscribed": False}))
    assert outcome.next_node == "4" and "UndefinedError" in outcome.trace


def test_exit_conditions_and_goals() -> None:
    gone = run(State(node="1"), facts=Facts(data={**FACTS.data, "unsubscribed": True}))
    assert gone.status == "exited" and gone.exit_reason == "exit_when: contact.unsubscribed"
    state = State(node="2", object_key="checkout:1")
    assert goal_reached(CART, state, {"type": "order.created", "object_key": "checkout:1"}, FACTS)
    assert not goal_reached(CART, state, {"type": "order.created", "object_key": "checkout:9"}, FACTS)


def test_exit_step_and_end() -> None:
    assert run(State(node="4")).exit_reason == "done"
    assert run(State(node=None)).status == "completed"


def test_split_is_weighted_and_reproducible() -> None:
    spec = load_spec("""
key: ab
name: ab
trigger: {manual: true}
steps:
  - split:
      arms:
        - {name: A, weight: 1, steps: [{email: cart-reminder}]}
        - {name: B, weight: 3, steps: [{email: cart-discount}]}
""")
    program = compile_program(spec)
    arms = [decide(program, spec, State(node="0"), FACTS, NOW, rand=i / 100).variant for i in range(100)]
    assert arms.count("A") == 25 and arms.count("B") == 75
    assert pick_arm(spec.steps[0].split.arms, 0.1).name == "A"  # type: ignore[union-attr]


def test_approval_waits_and_resumes() -> None:
    spec = load_spec("""
key: quote
name: quote
trigger: {event: form.submitted}
steps:
  - approval: {email: quote, timeout: 2d}
    on_reject: [{exit: rejected}]
  - email: quote-follow-up
""")
    program = compile_program(spec)
    parked = decide(program, spec, State(node="0"), FACTS, NOW)
    assert parked.actions[0].kind == "request_approval" and parked.waiting == "approval"
    state = with_cursor(State(node="0"), parked)
    approved = resume_on_decision(program, state, "approved", "UREP1")
    assert approved is not None and approved.next_node == "1"
    assert approved.actions[0].params == {"template": "quote", "subject": "", "sender": "approver",
                                          "marketing": False, "approved_by": "UREP1"}
    rejected = resume_on_decision(program, state, "too expensive", "UREP1")
    assert rejected is not None and rejected.next_node == "0/reject/0"


def test_entry_buckets() -> None:
    once = load_spec("key: a\nname: a\ntrigger: {manual: true}\nsteps: [{wait: 1d}]\n")
    assert entry_bucket(once, NOW, "", "e1") == "once"
    every = load_spec("key: a\nname: a\ntrigger: {manual: true}\nentry: {policy: every_time}\nsteps: [{wait: 1d}]\n")
    assert entry_bucket(every, NOW, "", "e1") != entry_bucket(every, NOW, "", "e2")
