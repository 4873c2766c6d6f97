"""A dry run reports what `journeys stats` reports: per email opens, clicks and attributed orders
(same rule as stored attribution), per arm conversions and orders."""

from __future__ import annotations

from journeys.program import compile_program
from journeys.simulator import Rates, SimResult, Simulation
from journeys.validation import load_spec

SPLIT = load_spec("""
key: sim-split
name: Sim split
trigger: {manual: true}
goal: {event: order.created}
steps:
  - split:
      arms:
        - {name: A, steps: [{email: test-email}]}
        - {name: B, steps: [{email: test-email}, {wait: 3d}]}
""")


def run(rates: Rates) -> tuple[SimResult, dict[str, str]]:
    program = compile_program(SPLIT)
    email_steps = {node.id: node.kind for node in program.nodes.values() if node.kind == "email"}
    return Simulation(SPLIT, program, 400, 30, seed=3, rates=rates).run(), email_steps


def test_orders_without_an_open_or_click_are_attributed_to_nothing() -> None:
    result, _ = run(Rates(open=0.0, click=0.0, purchase=1.0, purchase_after_click=1.0))
    assert sum(result.orders.values()) == 0 and not result.opened and not result.clicked
    assert result.converted > 0  # B's runs are still in flight when they buy


def test_clicked_emails_earn_their_orders_per_step_and_arm() -> None:
    result, email_steps = run(Rates(open=1.0, click=1.0, purchase=0.0, purchase_after_click=1.0))
    orders = result.orders
    assert set(orders) <= set(email_steps) and sum(orders.values()) > 0
    assert sum(result.sent.values()) == result.emails
    assert result.clicked == result.opened == result.sent  # everyone, each email
    # Every order came after one click, so it is attributed when that click came first (within the window).
    assert sum(orders.values()) == sum(result.arm_orders.values())
    assert result.arm_conversions["A"] == 0  # A's runs end before anyone buys
    assert result.arm_orders["A"] > 0  # yet its email earned orders
