"""The pure parts of outcomes: which touch earns an order, what it still brings in, which arm wins."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from statistics import NormalDist

import pytest

from core.workspace import AttributionConfig, SendingConfig
from journeys.engine import State, exit_on_event
from journeys.outcomes import MIN_PER_ARM, net, probability_better, verdict
from journeys.touches import Touch, chosen_touch
from journeys.validation import load_spec

ORDER = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
DEFAULTS = AttributionConfig()


def before(**span: float) -> dt.datetime:
    return ORDER - dt.timedelta(**span)


def test_the_last_click_within_the_click_window_earns_the_order() -> None:
    touches = [Touch("click", before(days=4), "<old>"), Touch("click", before(days=2), "<last-click>"),
               Touch("open", before(hours=1), "<later-open>"), Touch("click", before(minutes=-5), "<after>")]
    assert chosen_touch(touches, ORDER, DEFAULTS) == touches[1]  # a click beats a later open; after the order: no


def test_without_a_click_the_last_open_within_the_open_window() -> None:
    touches = [Touch("click", before(days=6), "<too-old-click>"), Touch("open", before(hours=30), "<old-open>"),
               Touch("open", before(hours=20), "<open>")]
    assert chosen_touch(touches, ORDER, DEFAULTS) == touches[2]
    assert chosen_touch(touches[:2], ORDER, DEFAULTS) is None  # both outside their windows
    wider = AttributionConfig(click_window="7d")  # type: ignore[arg-type]
    assert chosen_touch(touches, ORDER, wider) == touches[0]


def test_windows_are_read_from_the_workspace_file_with_clear_errors() -> None:
    assert AttributionConfig(click_window="36h").click_window == dt.timedelta(hours=36)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is not a window"):
        AttributionConfig(open_window="1 day")  # type: ignore[arg-type]


def test_refunds_and_cancels_come_off_what_an_order_brings_in() -> None:
    assert net(Decimal("100.00"), Decimal("30.00"), cancelled=False) == Decimal("70.00")
    assert net(Decimal("100.00"), Decimal("130.00"), cancelled=False) == Decimal(0)
    assert net(Decimal("100.00"), Decimal(0), cancelled=True) == Decimal(0)


def test_a_large_difference_names_the_winner_with_high_certainty() -> None:
    result = verdict({"A": (1000, 50), "B": (1000, 100)})
    assert result is not None
    assert (result.leader, result.runner_up, result.difference_pts, result.decided) == ("B", "A", 5.0, True)
    assert result.probability_better > 0.999
    assert result.text.startswith("B converts 5.0 pts better than A") and "B wins" in result.text


def test_no_real_difference_says_so() -> None:
    result = verdict({"A": (1000, 50), "B": (1000, 53)})
    assert result is not None and not result.decided
    assert result.leader == "B" and 0.5 < result.probability_better < 0.95
    assert result.text.startswith("no clear difference")


def test_too_few_people_is_too_early() -> None:
    result = verdict({"A": (MIN_PER_ARM - 1, 0), "B": (500, 400)})
    assert result is not None and not result.decided and result.text.startswith("too early")
    assert verdict({"A": (100, 10)}) is None  # one arm: nothing to compare


def test_the_probability_is_the_normal_approximation_of_the_difference() -> None:
    # p1 = 0.12, p2 = 0.10 over 1000 each: z = 0.02 / sqrt(.12*.88/1000 + .1*.9/1000) = 1.4300
    z = 0.02 / math.sqrt(0.12 * 0.88 / 1000 + 0.1 * 0.9 / 1000)
    assert probability_better((1000, 120), (1000, 100)) == pytest.approx(NormalDist().cdf(z))
    assert probability_better((1000, 100), (1000, 120)) == pytest.approx(1 - NormalDist().cdf(z))


def test_exit_on_events_end_the_run_without_a_conversion() -> None:
    spec = load_spec("""
key: back
name: Back
trigger: {manual: true}
goal: {event: order.created}
exit_on: [email.opened]
steps: [{email: winback-1}]
""")
    outcome = exit_on_event(spec, State(node="1"), {"type": "email.opened"})
    assert outcome is not None and (outcome.status, outcome.exit_reason) == ("exited", "exit_on: email.opened")
    assert exit_on_event(spec, State(node="1"), {"type": "order.created"}) is None


def test_sending_controls_read_dates_ranges_and_windows_with_clear_errors() -> None:
    sending = SendingConfig.model_validate({"cap_count": 2, "cap_window": "3d",
                                            "blackout_dates": ["2026-12-24..2026-12-26", "2027-01-01"]})
    assert sending.cap_window == dt.timedelta(days=3)
    assert sorted(sending.blackout) == [dt.date(2026, 12, 24), dt.date(2026, 12, 25), dt.date(2026, 12, 26),
                                        dt.date(2027, 1, 1)]
    with pytest.raises(ValueError, match="is not a date or range"):
        SendingConfig.model_validate({"blackout_dates": ["Christmas"]})
    with pytest.raises(ValueError, match="must run forwards"):
        SendingConfig.model_validate({"blackout_dates": ["2026-12-26..2026-12-24"]})
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        SendingConfig.model_validate({"cap_count": 0})
